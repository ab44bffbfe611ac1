"""Admin rules: who may work in Aduan, and how categories route and time tickets. Every change is audited."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from piccolo.engine.postgres import PostgresEngine

from db.city_data import Question, questions_from_json
from db.engine import current_engine, write_transaction
from db.tables import AuditLog, Category, Opd, StaffUser
from web import audit, sessions
from web.forms import FormErrors, check_text, parse_int, text_errors
from web.http import row_id
from web.i18n import _, per_locale
from web.staff.auth import ATTACK_ACTION, hash_password
from web.staff.policy import OPD_STAFF, ROLES, Role

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,59}")
MIN_PASSWORD = 10
MAX_SLA_HOURS = 24 * 30


@per_locale
def role_label(role: str) -> str:
    labels: dict[str, str] = {
        Role.OPERATOR: _("Operator"),
        Role.OPD_STAFF: _("Staf OPD"),
        Role.SUPERVISOR: _("Pimpinan (baca saja)"),
        Role.ADMIN: _("Administrator"),
    }
    return labels.get(role, role)


async def sign_in_warnings(*, days: int = 7) -> list[dict]:
    """Usernames guessed from many addresses lately (web/sign_in/alerts.py warns once per window)."""
    since = datetime.now(UTC) - timedelta(days=days)
    rows = (
        await AuditLog.select(AuditLog.subject, AuditLog.ip, AuditLog.created_at)
        .where((AuditLog.action == ATTACK_ACTION) & (AuditLog.created_at > since))
        .order_by(AuditLog.created_at, ascending=False)
        .limit(20)
    )
    return [{**row, "username": row["subject"].removeprefix("staff:")} for row in rows]


async def list_staff() -> list[dict]:
    return await StaffUser.select(
        StaffUser.id,
        StaffUser.username,
        StaffUser.name,
        StaffUser.role,
        StaffUser.active,
        StaffUser.opd,
        StaffUser.opd.short_name.as_alias("opd_name"),
    ).order_by(StaffUser.username)


async def create_staff(values: dict[str, str], *, admin_id: int) -> int:
    username = values.get("username", "").strip().lower()
    name = " ".join(values.get("name", "").split())
    role = values.get("role", "")
    opd = values.get("opd", "")
    password = values.get("password", "")
    errors = text_errors({"name": name, "password": password})
    if not USERNAME.fullmatch(username):
        errors["username"] = _(
            "Nama pengguna 3-60 huruf kecil, angka, titik, garis bawah, atau tanda hubung."
        )
    elif await StaffUser.exists().where(StaffUser.username == username):
        errors["username"] = _("Nama pengguna ini sudah dipakai.")
    if len(name) < 2:
        errors["name"] = _("Tulis nama lengkap petugas.")
    if role not in ROLES:
        errors["role"] = _("Pilih peran.")
    opd_id = row_id(opd)
    if role in OPD_STAFF and (opd_id is None or not await Opd.exists().where(Opd.id == opd_id)):
        errors["opd"] = _("Staf OPD harus terikat pada satu OPD.")
    if len(password) < MIN_PASSWORD:
        errors["password"] = _("Kata sandi minimal %(n)s karakter.", n=MIN_PASSWORD)
    if errors:
        raise FormErrors(errors)
    try:
        rows = await _insert_staff(username, name, role, opd_id, password, admin_id=admin_id)
    except Exception:
        # Two admins creating the same username at once: the loser's unique violation is the
        # same answer as the check above, not a server error.
        if await StaffUser.exists().where(StaffUser.username == username):
            raise FormErrors.single("username", _("Nama pengguna ini sudah dipakai.")) from None
        raise
    return rows[0]["id"]


async def _insert_staff(
    username: str, name: str, role: str, opd_id: int | None, password: str, *, admin_id: int
) -> list[dict]:
    async with write_transaction():
        rows = await StaffUser.insert(
            StaffUser(
                username=username,
                name=name,
                role=role,
                opd=opd_id if role in OPD_STAFF else None,
                password_hash=hash_password(password),
            )
        ).returning(StaffUser.id)
        await audit.record(
            "staff.created",
            actor_kind="staff",
            actor_id=admin_id,
            subject=f"staff:{username}",
            role=role,
        )
    return rows


async def set_active(staff_id: int, active: bool, *, admin_id: int) -> None:
    if staff_id == admin_id and not active:
        raise FormErrors.single("__all__", _("Anda tidak dapat menonaktifkan akun Anda sendiri."))
    async with write_transaction():
        await StaffUser.update({StaffUser.active: active}).where(StaffUser.id == staff_id)
        if not active:
            await sessions.end_sessions_of(staff_id=staff_id)
        await audit.record(
            "staff.activated" if active else "staff.deactivated",
            actor_kind="staff",
            actor_id=admin_id,
            subject=f"staff:{staff_id}",
        )


async def reset_password(staff_id: int, password: str, *, admin_id: int) -> None:
    if len(password) < MIN_PASSWORD:
        raise FormErrors.single("password", _("Kata sandi minimal %(n)s karakter.", n=MIN_PASSWORD))
    check_text({"password": password})
    async with write_transaction():
        await StaffUser.update({StaffUser.password_hash: hash_password(password)}).where(
            StaffUser.id == staff_id
        )
        # Whoever knew the old password may be signed in somewhere: every session ends.
        await sessions.end_sessions_of(staff_id=staff_id)
        await audit.record(
            "staff.password_reset",
            actor_kind="staff",
            actor_id=admin_id,
            subject=f"staff:{staff_id}",
        )


async def change_role(staff_id: int, values: dict[str, str], *, admin_id: int) -> None:
    """A new role or OPD; the account's sessions end, so no page opened under the old rights
    stays open (the next request signs in again)."""
    role = values.get("role", "")
    opd_id = row_id(values.get("opd", ""))
    errors: dict[str, str] = {}
    if staff_id == admin_id:
        errors["__all__"] = _("Anda tidak dapat mengubah peran akun Anda sendiri.")
    if role not in ROLES:
        errors["role"] = _("Pilih peran.")
    if role in OPD_STAFF and (opd_id is None or not await Opd.exists().where(Opd.id == opd_id)):
        errors["opd"] = _("Staf OPD harus terikat pada satu OPD.")
    if errors:
        raise FormErrors(errors)
    opd_id = opd_id if role in OPD_STAFF else None
    async with write_transaction():
        changed = (
            await StaffUser.update({StaffUser.role: role, StaffUser.opd: opd_id})
            .where((StaffUser.id == staff_id) & ((StaffUser.role != role) | _opd_differs(opd_id)))
            .returning(StaffUser.id)
        )
        if not changed:
            return
        await sessions.end_sessions_of(staff_id=staff_id)
        await audit.record(
            "staff.role_changed",
            actor_kind="staff",
            actor_id=admin_id,
            subject=f"staff:{staff_id}",
            role=role,
            opd=opd_id,
        )


def _opd_differs(opd_id: int | None):
    if opd_id is None:
        return StaffUser.opd.is_not_null()
    return StaffUser.opd.is_null() | (StaffUser.opd != opd_id)


async def list_categories() -> list[dict]:
    rows = await Category.select(
        Category.id,
        Category.slug,
        Category.name,
        Category.name_en,
        Category.sla_hours,
        Category.default_opd,
        Category.active,
        Category.questions,
    ).order_by(Category.position)
    for row in rows:
        row["question_count"] = len(json.loads(row.pop("questions") or "[]"))
    return rows


async def update_category(category_id: int, values: dict[str, str], *, admin_id: int) -> None:
    errors: dict[str, str] = {}
    hours = parse_int(values.get("sla_hours", ""), minimum=1, maximum=MAX_SLA_HOURS)
    if hours is None:
        errors["sla_hours"] = _("SLA dalam jam, 1 sampai 720.")
    opd = values.get("default_opd", "")
    if row_id(opd) is None or not await Opd.exists().where(Opd.id == row_id(opd)):
        errors["default_opd"] = _("Pilih OPD bawaan.")
    if errors:
        raise FormErrors(errors)
    async with write_transaction():
        await Category.update(
            {
                Category.sla_hours: hours,
                Category.default_opd: row_id(opd),
                Category.active: values.get("active") == "1",
            }
        ).where(Category.id == category_id)
        await audit.record(
            "category.updated",
            actor_kind="staff",
            actor_id=admin_id,
            subject=f"category:{category_id}",
            sla_hours=hours,
            default_opd=row_id(opd),
        )


async def category_with_questions(category_id: int) -> dict | None:
    """The category's names and its questions in asking order; None if there is no such category."""
    row = (
        await Category.select(
            Category.id, Category.slug, Category.name, Category.name_en, Category.questions
        )
        .where(Category.id == category_id)
        .first()
    )
    if row is None:
        return None
    return {**row, "questions": questions_from_json(row["questions"])}


QuestionChange = Callable[[tuple[Question, ...]], tuple[Question, ...] | None]


async def change_questions(
    category_id: int, change: QuestionChange, *, admin_id: int, action: str, code: str
) -> bool:
    """Apply ``change`` (web/admin/questions.py) to the questions as stored now, in one transaction
    with its audit row. False when the category does not exist or there was nothing to change.

    Read, change and write happen while this transaction holds the category: a row lock on
    PostgreSQL, the database's one write lock on SQLite (write_transaction starts IMMEDIATE). So
    a second admin's change waits, then runs on the first one's result, and neither is lost.
    """
    async with write_transaction():
        query = Category.select(Category.questions).where(Category.id == category_id)
        if isinstance(current_engine(), PostgresEngine):
            query = query.lock_rows()
        row = await query.first()
        if row is None:
            return False
        changed = change(questions_from_json(row["questions"]))
        if changed is None:
            return False
        await Category.update(
            {Category.questions: json.dumps([q.as_dict() for q in changed], ensure_ascii=False)}
        ).where(Category.id == category_id)
        await audit.record(
            f"category.question_{action}",
            actor_kind="staff",
            actor_id=admin_id,
            subject=f"category:{category_id}",
            code=code,
            questions=[q.code for q in changed],
        )
    return True
