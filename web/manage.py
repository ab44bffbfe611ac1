"""Command line: ``python -m web.manage setup|migrate|seed [--overwrite-categories [SLUG ...]]``.

``setup`` is what the README's run command calls: migrations, city data, demo accounts. Every
command holds the database's setup lock (db/engine.py), so any number of processes may run them at
once, e.g. every node at start.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable

from web.city import get_city
from web.seed import DemoAccounts, SeedError, seed_city, seed_demo_accounts
from web.settings import get_settings


async def migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from db.engine import prepare_sqlite

    result = await run_forwards(app_name="aduan")
    if not result.success:
        raise SystemExit(f"migrations failed: {result.message}")
    await prepare_sqlite()


def print_demo_accounts(accounts: DemoAccounts, base_url: str) -> None:
    print("\n=== Akun demo / demo accounts ===")
    print(f"Staf (masuk di {base_url}/staf/masuk):")
    for role, username, password, description in accounts.staff:
        print(f"  {role:<11} {username:<22} sandi: {password:<18} {description}")
    print(
        f"Warga: {accounts.citizen_name}, NIK {accounts.citizen_nik}, WhatsApp {accounts.citizen_phone}"
    )
    print(f"  masuk di {base_url}/masuk dengan nomor itu; kode masuk tampil di log server")
    print("  (ADUAN_MESSENGER=dev: 'DEV MESSENGER code for ...').\n")


async def setup(demo: bool) -> None:
    settings = get_settings()
    await migrate()
    city = get_city(settings)
    await seed_city(city)
    print(
        f"Data {city.name} dimuat: {len(city.kecamatan)} kecamatan, "
        f"{len(city.all_kelurahan())} kelurahan, {len(city.opds)} OPD, {len(city.categories)} kategori."
    )
    if demo:
        accounts = await seed_demo_accounts(city, nik_hash_key=settings.nik_hash_key)
        print_demo_accounts(accounts, settings.public_base_url)


async def seed(overwrite: list[str] | None) -> None:
    """Without ``overwrite`` a seed never undoes an admin's category settings (web/seed.py); with
    it the file wins for the named categories, or for all of them when none is named."""
    city = get_city()
    if overwrite == []:
        overwrite = [category.slug for category in city.categories]
    overwritten = await seed_city(city, overwrite=overwrite or ())
    if overwrite:
        print(
            f"Pengaturan {len(overwritten)} kategori diganti dengan berkas kota"
            + (f": {', '.join(overwritten)}." if overwritten else ".")
        )


async def locked(command: Awaitable[None]) -> None:
    from db.engine import setup_lock

    async with setup_lock(get_settings()):
        await command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.manage")
    sub = parser.add_subparsers(dest="command", required=True)
    setup_cmd = sub.add_parser("setup", help="migrate, load city data, create demo accounts")
    setup_cmd.add_argument("--no-demo", action="store_true", help="skip demo accounts (production)")
    sub.add_parser("migrate", help="apply database migrations")
    seed_cmd = sub.add_parser("seed", help="load or refresh the city data file")
    seed_cmd.add_argument(
        "--overwrite-categories",
        nargs="*",
        metavar="SLUG",
        help="let the file's SLA hours, default OPD and questions replace what admins set, "
        "for these categories (all of the file's when no slug is given)",
    )
    args = parser.parse_args(argv)
    if args.command == "setup":
        asyncio.run(locked(setup(demo=not args.no_demo)))
    elif args.command == "migrate":
        asyncio.run(locked(migrate()))
    elif args.command == "seed":
        try:
            asyncio.run(locked(seed(args.overwrite_categories)))
        except SeedError as error:  # a mistyped slug: say which, not a traceback
            print(f"seed: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
