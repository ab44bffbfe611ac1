"""Imports flow one way (README, "Architecture"): no two packages import each other, and no module
imports another package's routes. Read from the source with ``ast``, function-level imports too,
so a new package is checked the day it is added."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = ("web", "db")


def unit(module: str) -> str | None:
    """The package a module belongs to: ``db``, ``web.<package>``, or ``web.<module>`` for the
    shared modules at web/'s top (settings, forms, i18n...). None: not ours."""
    parts = module.split(".")
    if parts[0] == "db":
        return "db"
    if parts[0] == "web":
        return ".".join(parts[:2]) if len(parts) > 1 else "web"
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """Full names an import statement brings in (``from a import b`` gives ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolve against this module's package
            package = module.split(".")
            package = package if is_package else package[:-1]
            base = ".".join([*package[: len(package) - node.level + 1], node.module or ""])
        else:
            base = node.module or ""
        base = base.rstrip(".")
        return [base] + [f"{base}.{alias.name}" for alias in node.names]
    return []


def all_imports() -> list[tuple[str, str, str]]:
    """(importing module, imported name, "file:line  source") for every import under web/ and db/."""
    found = []
    for top in TOP_LEVEL:
        for path in sorted((ROOT / top).rglob("*.py")):
            source = path.read_text()
            module = module_name(path)
            lines = source.splitlines()
            for node in ast.walk(ast.parse(source, filename=str(path))):
                for name in imported(node, module, path.name == "__init__.py"):
                    where = (
                        f"{path.relative_to(ROOT)}:{node.lineno}  {lines[node.lineno - 1].strip()}"
                    )
                    found.append((module, name, where))
    return found


def package_edges() -> dict[tuple[str, str], set[str]]:
    """(importer, imported) -> the import lines, between packages and between db/ and web/ whole."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for module, name, where in all_imports():
        source, target = unit(module), unit(name)
        if source is None or target is None or source == target:
            continue
        edges[(source, target)].add(where)
        if source.split(".")[0] != target.split(".")[0]:  # db/ and web/ as a whole, too
            edges[(source.split(".")[0], target.split(".")[0])].add(where)
    return edges


def test_the_checker_sees_every_package():
    units = {unit(module) for module, _name, _where in all_imports()}
    assert {"db", "web.app", "web.complaints", "web.workflow", "web.notifications"} <= units


def describe(a: str, b: str, edges: dict[tuple[str, str], set[str]]) -> str:
    """Both directions' import lines; the shorter one (most likely the wrong way) in full."""
    text = f"{a} <-> {b}\n"
    for source, target in sorted([(a, b), (b, a)], key=lambda pair: len(edges[pair])):
        lines = sorted(edges[(source, target)])
        shown = lines if len(lines) <= 5 or text.count("\n") == 1 else lines[:3]
        text += f"  {source} -> {target}:\n" + "".join(f"    {line}\n" for line in shown)
        if len(shown) < len(lines):
            text += f"    ... and {len(lines) - len(shown)} more\n"
    return text


def test_no_two_packages_import_each_other():
    edges = package_edges()
    cycles = [describe(a, b, edges) for (a, b) in sorted(edges) if a < b and (b, a) in edges]
    assert not cycles, "packages that import each other (choose one direction):\n" + "".join(cycles)


def test_no_module_imports_the_routes_of_another_package():
    wrong = [
        where
        for module, name, where in all_imports()
        if name.split(".")[-1] == "routes"
        and unit(name) != unit(module)
        and module != "web.app"  # the app factory lists every route: its job
    ]
    assert not wrong, "routes are the top of their package; move what you need out of them:\n" + (
        "\n".join(sorted(wrong))
    )
