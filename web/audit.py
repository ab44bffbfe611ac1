"""Audit trail: one row per state change or access to personal data, written in the caller's transaction."""

from __future__ import annotations

import json

from db.tables import AuditLog


async def record(
    action: str,
    *,
    actor_kind: str,
    actor_id: int | None = None,
    subject: str = "",
    ip: str = "",
    **detail: object,
) -> None:
    await AuditLog.insert(
        AuditLog(
            action=action,
            actor_kind=actor_kind,
            actor_id=actor_id,
            subject=subject[:60],  # the column's width; a long username must not fail the write
            ip=ip,
            detail=json.dumps(detail, default=str, ensure_ascii=False) if detail else "",
        )
    )
