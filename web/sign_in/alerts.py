"""What happens when a staff username is under attack."""

from __future__ import annotations

from datetime import UTC, datetime

from db.engine import write_transaction
from db.tables import StaffUser
from web import audit
from web.notifications.outbox import notify_sign_in_attack
from web.staff.auth import ATTACK_ACTION


async def warn_admins(*, username: str, ip: str, tries: int) -> None:
    """Once per window and username: the admin page lists the warning, admins' devices ring.

    Only for real accounts: guesses at made-up usernames would otherwise flood the admins.
    """
    if not await StaffUser.exists().where(StaffUser.username == username):
        return
    async with write_transaction():
        await audit.record(
            ATTACK_ACTION,
            actor_kind="system",
            subject=f"staff:{username}",
            ip=ip,
            failures=tries,
        )
        await notify_sign_in_attack(username, now=datetime.now(UTC))
