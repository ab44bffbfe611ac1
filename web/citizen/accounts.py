"""Citizen accounts: registration with NIK and WhatsApp number, sign-in by one-time code.

Plain rules over the database; handlers in ``routes.py`` only parse input and render.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256

from db.engine import write_transaction
from db.tables import Citizen, SignInCode
from web import audit, limits
from web.citizen.nik import NikError, hash_nik, mask_nik, parse_nik
from web.forms import MAX_LENGTH, FormErrors, text_errors
from web.i18n import _
from web.messaging.messenger import Messenger, MessengerError
from web.messaging.phone import PhoneError, normalize_phone
from web.settings import Settings

PURPOSE_REGISTER = "register"
PURPOSE_SIGN_IN = "sign_in"


@dataclass(frozen=True)
class PendingRegistration:
    """What registration knows before the phone is proven; kept in the session, never the raw NIK."""

    nik_hash: str
    nik_masked: str
    name: str
    phone: str

    def to_session(self) -> dict:
        return asdict(self)

    @classmethod
    def from_session(cls, data: dict | None) -> PendingRegistration | None:
        try:
            return cls(**data) if data else None
        except TypeError:
            return None


def validate_registration(
    *,
    nik: str,
    name: str,
    phone: str,
    settings: Settings,
    required_prefix: str | None,
    city_name: str,
) -> PendingRegistration:
    errors: dict[str, str] = {}
    parsed_nik = parsed_phone = None
    try:
        parsed_nik = parse_nik(nik, required_prefix=required_prefix, city_name=city_name)
    except NikError as exc:
        errors["nik"] = exc.message
    clean_name = " ".join(name.split())
    if len(clean_name) < 2:
        errors["name"] = _("Tulis nama lengkap Anda sesuai KTP.")
    elif len(clean_name) > MAX_LENGTH["name"]:
        errors["name"] = _("Nama terlalu panjang (paling banyak 120 huruf).")
    elif "\x00" in clean_name:
        errors.update(text_errors({"name": clean_name}))
    try:
        parsed_phone = normalize_phone(phone)
    except PhoneError as exc:
        errors["phone"] = exc.message
    if errors:
        raise FormErrors(errors)
    assert parsed_nik and parsed_phone
    return PendingRegistration(
        nik_hash=hash_nik(parsed_nik.value, settings.nik_hash_key),
        nik_masked=mask_nik(parsed_nik.value),
        name=clean_name,
        phone=parsed_phone,
    )


async def check_not_registered(pending: PendingRegistration) -> None:
    if await Citizen.exists().where(Citizen.nik_hash == pending.nik_hash):
        raise FormErrors.single(
            "nik",
            _("NIK ini sudah terdaftar. Silakan masuk dengan nomor WhatsApp yang didaftarkan."),
        )
    if await Citizen.exists().where(Citizen.phone == pending.phone):
        raise FormErrors.single(
            "phone",
            _("Nomor WhatsApp ini sudah dipakai akun lain. Silakan masuk dengan nomor ini."),
        )


def outbox_owner(citizen_id: int) -> str:
    """The account id an outbox item is written under (from GET /akun) and checked against when
    it is sent: an item is filed only for the account that wrote it."""
    return str(citizen_id)


async def citizen_id_for_phone(phone: str) -> int | None:
    row = await Citizen.select(Citizen.id).where(Citizen.phone == phone).first()
    return row["id"] if row else None


def _code_hash(settings: Settings, phone: str, purpose: str, code: str) -> str:
    message = f"{phone}|{purpose}|{code}".encode()
    return hmac.new(settings.secret_key.encode(), message, sha256).hexdigest()


async def count_lookup(*, ip: str, settings: Settings) -> None:
    """Count one "is this NIK / number registered?" answer against the IP's budget.

    The answers stay helpful for real people; the budget stops anyone from walking through
    the list of numbers or NIKs to learn who is registered.
    """
    taken = await limits.take(
        f"lookup-ip:{limits.ip_bucket(ip)}", window_seconds=settings.otp_window_seconds
    )
    if taken.over(settings.account_lookup_per_ip_limit):
        raise FormErrors.single(
            "__all__",
            _(
                "Terlalu banyak percobaan dari jaringan ini. Coba lagi dalam %(minutes)s menit.",
                minutes=taken.minutes_left(),
            ),
        )


async def send_code(
    *, phone: str, purpose: str, ip: str, settings: Settings, messenger: Messenger
) -> None:
    """Send a fresh 6-digit code, within the per-IP and per-number limits (taken atomically)."""
    window = settings.otp_window_seconds
    # The IP first: a refused network must not use up the number's own allowance.
    per_ip = await limits.take(f"otp-ip:{limits.ip_bucket(ip)}", window_seconds=window)
    if per_ip.over(settings.otp_per_ip_limit):
        raise FormErrors.single(
            "__all__",
            _(
                "Terlalu banyak permintaan kode dari jaringan ini. Coba lagi dalam %(minutes)s menit.",
                minutes=per_ip.minutes_left(),
            ),
        )
    per_phone = await limits.take(f"otp-phone:{phone}", window_seconds=window)
    if per_phone.over(settings.otp_per_phone_limit):
        raise FormErrors.single(
            "__all__",
            _(
                "Terlalu banyak permintaan kode untuk nomor ini. Coba lagi dalam %(minutes)s menit.",
                minutes=per_phone.minutes_left(),
            ),
        )
    now = datetime.now(UTC)
    code = f"{secrets.randbelow(1_000_000):06d}"
    async with write_transaction():
        # A new code replaces older ones: only the latest message on the phone works.
        await SignInCode.update({SignInCode.used_at: now}).where(
            (SignInCode.phone == phone)
            & (SignInCode.purpose == purpose)
            & SignInCode.used_at.is_null()
        )
        await SignInCode.insert(
            SignInCode(
                phone=phone,
                ip=ip,
                purpose=purpose,
                code_hash=_code_hash(settings, phone, purpose, code),
                created_at=now,
                expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
            )
        )
    try:
        await messenger.send_code(phone, code)
    except MessengerError as exc:
        raise FormErrors.single(
            "__all__", _("Kode tidak dapat dikirim ke WhatsApp saat ini. Coba lagi sebentar lagi.")
        ) from exc


async def forget_old_codes(*, now: datetime, keep: timedelta, settings: Settings) -> int:
    """Delete codes used or expired longer than ``keep`` ago (phone numbers and addresses).

    Never sooner than the code limits' window, so a code is kept at least as long as anyone can
    be refused for having asked for it (the counts themselves live in rate_limit).
    """
    cutoff = now - max(keep, timedelta(seconds=settings.otp_window_seconds))
    gone = (
        await SignInCode.delete()
        .where(
            (SignInCode.created_at < cutoff)
            & ((SignInCode.used_at < cutoff) | (SignInCode.expires_at < cutoff))
        )
        .returning(SignInCode.id)
    )
    return len(gone)


async def verify_code(*, phone: str, purpose: str, code: str, settings: Settings) -> None:
    """Accept the latest unexpired code once; wrong guesses burn it after ``otp_max_attempts``.

    Each guess takes an attempt with a conditional update BEFORE the code is compared, so however
    many guesses arrive at once, at most ``otp_max_attempts`` are ever compared.
    """
    code = "".join(ch for ch in code if ch.isdigit())
    now = datetime.now(UTC)
    gone = _("Kode sudah kedaluwarsa atau sudah dipakai. Minta kode baru.")
    burnt = _("Kode salah terlalu sering. Minta kode baru.")
    latest = (
        await SignInCode.select(SignInCode.id, SignInCode.expires_at)
        .where(
            (SignInCode.phone == phone)
            & (SignInCode.purpose == purpose)
            & SignInCode.used_at.is_null()
        )
        .order_by(SignInCode.id, ascending=False)
        .first()
    )
    if latest is None or latest["expires_at"] <= now:
        raise FormErrors.single("code", gone)
    this_code = (SignInCode.id == latest["id"]) & SignInCode.used_at.is_null()
    taken = (
        await SignInCode.update({SignInCode.attempts: SignInCode.attempts + 1})
        .where(
            this_code
            & (SignInCode.attempts < settings.otp_max_attempts)
            & (SignInCode.expires_at > now)
        )
        .returning(SignInCode.attempts, SignInCode.code_hash)
    )
    if not taken:
        raise FormErrors.single("code", burnt)
    attempts = taken[0]["attempts"]
    if len(code) == 6 and hmac.compare_digest(
        taken[0]["code_hash"], _code_hash(settings, phone, purpose, code)
    ):
        # Conditional too: of two right answers sent at once, only one signs in.
        if (
            await SignInCode.update({SignInCode.used_at: now})
            .where(this_code)
            .returning(SignInCode.id)
        ):
            return
        raise FormErrors.single("code", gone)
    if attempts >= settings.otp_max_attempts:
        await SignInCode.update({SignInCode.used_at: now}).where(this_code)
        raise FormErrors.single("code", burnt)
    raise FormErrors.single(
        "code",
        _("Kode salah. Sisa percobaan: %(left)s.", left=settings.otp_max_attempts - attempts),
    )


async def create_citizen(pending: PendingRegistration, *, ip: str) -> int:
    try:
        return await _insert_citizen(pending, ip=ip)
    except FormErrors:
        raise
    except Exception:
        # The same NIK or number registering twice at once: the loser's unique violation gets the
        # same answer as the check inside, not a server error.
        await check_not_registered(pending)
        raise


async def _insert_citizen(pending: PendingRegistration, *, ip: str) -> int:
    async with write_transaction():
        await check_not_registered(pending)
        created = await Citizen.insert(
            Citizen(
                nik_hash=pending.nik_hash,
                nik_masked=pending.nik_masked,
                phone=pending.phone,
                name=pending.name,
                last_sign_in_at=datetime.now(UTC),
            )
        ).returning(Citizen.id)
        citizen_id = created[0]["id"]
        await audit.record(
            "citizen.registered",
            actor_kind="citizen",
            actor_id=citizen_id,
            subject=f"citizen:{citizen_id}",
            ip=ip,
        )
    return citizen_id


async def record_sign_in(citizen_id: int, *, ip: str) -> None:
    async with write_transaction():
        await Citizen.update({Citizen.last_sign_in_at: datetime.now(UTC)}).where(
            Citizen.id == citizen_id
        )
        await audit.record(
            "citizen.signed_in",
            actor_kind="citizen",
            actor_id=citizen_id,
            subject=f"citizen:{citizen_id}",
            ip=ip,
        )


async def get_citizen(citizen_id: int) -> dict | None:
    return (
        await Citizen.select(Citizen.id, Citizen.name, Citizen.phone, Citizen.nik_masked)
        .where(Citizen.id == citizen_id)
        .first()
    )
