"""Staff passwords (Argon2id) and sign-in with per-username and per-IP limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from db.engine import write_transaction
from db.tables import AuditLog, StaffUser
from web import audit
from web.forms import FormErrors
from web.i18n import _
from web.settings import Settings

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id (RFC 9106 low-memory profile)
# Verifying against this when the username is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def _recent_failures(*, username: str, ip: str, since: datetime) -> tuple[int, int]:
    failed = AuditLog.action == "staff.sign_in_failed"
    recent = AuditLog.created_at > since
    per_user = await AuditLog.count().where(
        failed & recent & (AuditLog.subject == f"staff:{username}")
    )
    per_ip = await AuditLog.count().where(failed & recent & (AuditLog.ip == ip))
    return per_user, per_ip


async def authenticate(*, username: str, password: str, ip: str, settings: Settings) -> int:
    """The staff id for a correct username and password; FormErrors otherwise (same message for both)."""
    username = username.strip().lower()
    since = datetime.now(UTC) - timedelta(seconds=settings.staff_login_window_seconds)
    per_user, per_ip = await _recent_failures(username=username, ip=ip, since=since)
    if (
        per_user >= settings.staff_login_max_failures
        or per_ip >= settings.staff_login_max_failures * 3
    ):
        minutes = max(1, settings.staff_login_window_seconds // 60)
        raise FormErrors.single(
            "__all__",
            _(
                "Terlalu banyak percobaan masuk. Coba lagi dalam %(minutes)s menit.",
                minutes=minutes,
            ),
        )
    row = (
        await StaffUser.select(StaffUser.id, StaffUser.password_hash)
        .where((StaffUser.username == username) & (StaffUser.active == True))
        .first()
    )
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
        ok = row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    async with write_transaction():
        if not ok:
            await audit.record(
                "staff.sign_in_failed", actor_kind="staff", subject=f"staff:{username}", ip=ip
            )
        else:
            await audit.record(
                "staff.signed_in",
                actor_kind="staff",
                actor_id=row["id"],
                subject=f"staff:{username}",
                ip=ip,
            )
            if _hasher.check_needs_rehash(row["password_hash"]):
                await StaffUser.update({StaffUser.password_hash: hash_password(password)}).where(
                    StaffUser.id == row["id"]
                )
    if not ok:
        raise FormErrors.single("__all__", _("Nama pengguna atau kata sandi salah."))
    return row["id"]
