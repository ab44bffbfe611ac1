"""Piccolo table definitions. Changing one means a new migration in ``db/migrations``."""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    Boolean,
    Bytea,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

# Each table's `id: Serial` only names Piccolo's implicit primary key for the type checker (an
# annotation, not a column: the schema is unchanged).

# --- City reference data (seeded from db/cities/<city>.toml) ----------------------------------


class CityInfo(Table, tablename="city_info"):
    """The single city this deployment serves; guards against seeding a second city on top."""

    id: Serial

    slug = Varchar(length=60, unique=True)
    name = Varchar(length=120)
    code = Varchar(length=10)


class Kecamatan(Table):
    id: Serial
    code = Varchar(length=16, unique=True)
    name = Varchar(length=100)


class Kelurahan(Table):
    id: Serial
    code = Varchar(length=20, unique=True)
    name = Varchar(length=100)
    kecamatan = ForeignKey(references=Kecamatan, null=False, index=True)
    latitude = DoublePrecision(null=True, default=None)
    longitude = DoublePrecision(null=True, default=None)


class Opd(Table):
    id: Serial
    slug = Varchar(length=60, unique=True)
    name = Varchar(length=200)
    short_name = Varchar(length=60)
    kind = Varchar(length=20)
    active = Boolean(default=True)


class Category(Table):
    id: Serial
    slug = Varchar(length=60, unique=True)
    name = Varchar(length=120)
    name_en = Varchar(length=120)
    default_opd = ForeignKey(references=Opd, null=False)
    sla_hours = Integer(default=72)
    position = Integer(default=0)
    active = Boolean(default=True)
    # The category's own questions (db.city_data.Question.as_dict), as JSON: a short list read
    # with its category, never searched inside.
    questions = Text(default="[]")


# --- People ------------------------------------------------------------------------------------


class Citizen(Table):
    id: Serial
    # The NIK itself is never stored: a keyed hash makes it unique, the mask is for display.
    nik_hash = Varchar(length=64, unique=True)
    nik_masked = Varchar(length=24)
    phone = Varchar(length=20, unique=True)
    name = Varchar(length=120)
    created_at = Timestamptz()
    last_sign_in_at = Timestamptz(null=True, default=None)


class StaffUser(Table, tablename="staff_user"):
    id: Serial
    username = Varchar(length=60, unique=True)
    name = Varchar(length=120)
    role = Varchar(length=20)
    opd = ForeignKey(references=Opd, null=True, default=None)
    password_hash = Varchar(length=200)
    active = Boolean(default=True)
    created_at = Timestamptz()


class SignInCode(Table, tablename="sign_in_code"):
    id: Serial
    phone = Varchar(length=20, index=True)
    ip = Varchar(length=45, index=True)
    purpose = Varchar(length=12)
    code_hash = Varchar(length=64)
    attempts = Integer(default=0)
    created_at = Timestamptz(index=True)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class RateLimit(Table, tablename="rate_limit"):
    """One counter per limited thing (``otp-phone:+62...``, ``staff-ip:1.2.3.4``) in its current
    window; taken and checked in one statement (web/limits.py) so it holds across processes."""

    id: Serial

    key = Varchar(length=200, unique=True)
    hits = Integer(default=0)
    reset_at = Timestamptz(index=True)


# --- Complaints --------------------------------------------------------------------------------


class TicketSequence(Table, tablename="ticket_sequence"):
    """Last number handed out per prefix and year (``CLG-2026``); bumped inside the create transaction."""

    id: Serial

    scope = Varchar(length=20, unique=True)
    last_value = Integer(default=0)


class ApiKey(Table, tablename="api_key"):
    """A key another system files or reads with (web/open311/keys.py); only its sha256 is kept."""

    id: Serial

    name = Varchar(length=80)
    key_hash = Varchar(length=64, unique=True)
    scopes = Varchar(length=20)  # "read" or "read file"
    default_privacy = Varchar(length=12, default="public")
    client_name = Varchar(length=80, default="")
    rate_per_minute = Integer(default=60)
    created_by = ForeignKey(references=StaffUser, null=True, default=None)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)


class Complaint(Table):
    id: Serial
    number = Varchar(length=24, unique=True)
    client_key = UUID(unique=True)
    citizen = ForeignKey(references=Citizen, null=True, default=None, index=True)
    # Filed by an operator for someone who phoned, walked in or wrote to SP4N-LAPOR!.
    reporter_name = Varchar(length=120, default="")
    reporter_contact = Varchar(length=40, default="")
    filed_by_staff = ForeignKey(references=StaffUser, null=True, default=None)
    classification = Varchar(length=12)
    category = ForeignKey(references=Category, null=False, index=True)
    title = Varchar(length=150)
    description = Text()
    latitude = DoublePrecision(null=True, default=None)
    longitude = DoublePrecision(null=True, default=None)
    location_accuracy_m = DoublePrecision(null=True, default=None)
    address = Varchar(length=255, default="")
    kelurahan = ForeignKey(references=Kelurahan, null=True, default=None, index=True)
    privacy = Varchar(length=12)  # public | anonymous | confidential
    status = Varchar(length=16, index=True)
    channel = Varchar(length=16)
    opd = ForeignKey(references=Opd, null=True, default=None, index=True)
    sla_started_at = Timestamptz(null=True, default=None)
    # When the ticket enters the last 20 % of its SLA window, stored so lists can filter on it.
    sla_warn_at = Timestamptz(null=True, default=None)
    sla_due_at = Timestamptz(null=True, default=None, index=True)
    duplicate_of: ForeignKey[Complaint] = ForeignKey(references="self", null=True, default=None)
    first_response_at = Timestamptz(null=True, default=None)
    # Set by the SLA job when it escalated this ticket; cleared when the SLA clock restarts.
    sla_near_marked_at = Timestamptz(null=True, default=None)
    sla_overdue_marked_at = Timestamptz(null=True, default=None)
    resolved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    rating = Integer(null=True, default=None)
    rating_comment = Text(default="")
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()
    # Bumped on every state change: the second of two concurrent editors is refused, not lost.
    version = Integer(default=1)
    # Answers to the category's questions as sent (Open311 ``attribute[code]``), a JSON object.
    attributes = Text(null=True, default=None)
    # The SP4N-LAPOR! tracking ID (web/lapor/). Unique through the complaint_lapor_id index of
    # its migration (SQLite cannot ADD a UNIQUE column); NULLs do not collide.
    lapor_id = Varchar(length=40, null=True, default=None)
    # The last public timeline event an operator copied into LAPOR! ("Sudah diperbarui").
    lapor_synced_event = Integer(null=True, default=None)
    # The API key a ticket came in through (channel "api"): its client's name is shown as the
    # channel, and that key alone reads the updates of its tickets even when they are confidential.
    # A key is revoked, never deleted; SET NULL all the same, so deleting one never takes tickets.
    api_key = ForeignKey(references=ApiKey, null=True, default=None, on_delete=OnDelete.set_null)


class TimelineEvent(Table, tablename="timeline_event"):
    id: Serial
    complaint = ForeignKey(references=Complaint, null=False, index=True)
    kind = Varchar(length=30)
    from_status = Varchar(length=16, null=True, default=None)
    to_status = Varchar(length=16, null=True, default=None)
    actor_kind = Varchar(length=10)
    actor_citizen = ForeignKey(references=Citizen, null=True, default=None)
    actor_staff = ForeignKey(references=StaffUser, null=True, default=None)
    note = Text(default="")
    reason_code = Varchar(length=30, null=True, default=None)
    opd = ForeignKey(references=Opd, null=True, default=None)
    is_public = Boolean(default=True)
    created_at = Timestamptz()
    # The idempotency key of an action queued on a staff phone (web/workflow/offline.py): a resend
    # finds the event it already made. Two sends of one key cannot both apply (ticket version).
    client_key = UUID(null=True, default=None, index=True)


class ComplaintPhoto(Table, tablename="complaint_photo"):
    id: Serial
    complaint = ForeignKey(references=Complaint, null=False, index=True)
    # Proof photos belong to the OPD's reply they came with; report photos to no event.
    event = ForeignKey(references=TimelineEvent, null=True, default=None)
    kind = Varchar(length=10, default="report")
    position = Integer(default=0)
    storage_key = Varchar(length=200, unique=True)
    thumb_key = Varchar(length=200)
    width = Integer()
    height = Integer()
    size_bytes = Integer()
    created_at = Timestamptz()


class CallLog(Table, tablename="call_log"):
    """A Call Center 112 call as the operator classed it; counted in the daily report."""

    id: Serial

    kind = Varchar(length=12, index=True)  # normal | informative | prank
    note = Text(default="")
    operator = ForeignKey(references=StaffUser, null=True, default=None)
    complaint = ForeignKey(references=Complaint, null=True, default=None)
    created_at = Timestamptz(index=True)


class AuditLog(Table, tablename="audit_log"):
    """Who did what to whom: every state change and every access to personal data."""

    id: Serial

    action = Varchar(length=60, index=True)
    actor_kind = Varchar(length=10)
    actor_id = Integer(null=True, default=None)
    subject = Varchar(length=60, default="")
    ip = Varchar(length=45, default="")
    detail = Text(default="")
    created_at = Timestamptz(index=True)


class HttpSession(Table, tablename="http_session"):
    """Server-side session store shared by all web processes (see web/sessions.py)."""

    id: Serial

    key = Varchar(length=100, unique=True)
    data = Bytea()
    expires_at = Timestamptz(null=True, default=None, index=True)
    # Whose sign-in this is, so "sign this account out everywhere" is one DELETE.
    citizen_id = Integer(null=True, default=None, index=True)
    staff_id = Integer(null=True, default=None, index=True)


# --- Notifications, jobs and reports ------------------------------------------------------------


class PushSubscription(Table, tablename="push_subscription"):
    """One browser on one device that agreed to be notified, for a citizen or a staff user."""

    id: Serial

    endpoint = Varchar(length=1000, unique=True)
    p256dh = Varchar(length=200)
    auth = Varchar(length=64)
    citizen = ForeignKey(references=Citizen, null=True, default=None, index=True)
    staff = ForeignKey(references=StaffUser, null=True, default=None, index=True)
    device = Varchar(length=120, default="")
    created_at = Timestamptz()
    last_sent_at = Timestamptz(null=True, default=None)


class Notification(Table):
    """Outbox: one message to one destination (a push subscription or a WhatsApp number), written
    in the transaction of the event that causes it and sent later by the worker."""

    id: Serial

    channel = Varchar(length=10)  # push | whatsapp
    subscription = ForeignKey(
        references=PushSubscription, null=True, default=None, on_delete=OnDelete.set_null
    )
    citizen = ForeignKey(references=Citizen, null=True, default=None)
    staff = ForeignKey(references=StaffUser, null=True, default=None)
    complaint = ForeignKey(references=Complaint, null=True, default=None, index=True)
    kind = Varchar(length=30)
    title = Varchar(length=120)
    body = Varchar(length=400)
    url = Varchar(length=200)
    urgency = Varchar(length=8, default="normal")  # very-low | low | normal | high
    ttl_seconds = Integer(default=86400)
    status = Varchar(length=10, default="pending")  # pending | sent | failed | gone
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    claimed_until = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    last_error = Varchar(length=300, default="")
    created_at = Timestamptz()


class JobLease(Table, tablename="job_lease"):
    """At most one process runs a periodic job at a time: it holds the job's row until expires_at."""

    id: Serial

    name = Varchar(length=40, unique=True)
    holder = Varchar(length=80, default="")
    expires_at = Timestamptz(null=True, default=None)
    last_started_at = Timestamptz(null=True, default=None)
    last_finished_at = Timestamptz(null=True, default=None)
    last_result = Varchar(length=300, default="")
    last_succeeded_at = Timestamptz(null=True, default=None)
    last_error = Varchar(length=300, default="")  # the last failure's, kept after later successes
    late_alerted_at = Timestamptz(null=True, default=None)  # supervisors told: once per late spell
    created_at = Timestamptz(
        null=True, default=None
    )  # first attempt: "late since" before a success


class DailyReport(Table, tablename="daily_report"):
    """The leaders' report as generated for one day (figures frozen as JSON when it was sent)."""

    id: Serial

    day = Date(unique=True)
    figures = Text()
    generated_at = Timestamptz()


class PublicSnapshot(Table, tablename="public_snapshot"):
    """The public page's city figures as the worker last computed them (JSON), and the state of
    the tickets they were computed from (``source_key``), so web processes never run the
    year-long aggregate on a request while a worker keeps it fresh."""

    id: Serial

    name = Varchar(length=40, unique=True)
    figures = Text()
    source_key = Varchar(length=100)
    computed_at = Timestamptz()


ALL_TABLES: list[type[Table]] = [
    CityInfo,
    Kecamatan,
    Kelurahan,
    Opd,
    Category,
    Citizen,
    StaffUser,
    SignInCode,
    RateLimit,
    TicketSequence,
    Complaint,
    ComplaintPhoto,
    TimelineEvent,
    ApiKey,
    CallLog,
    AuditLog,
    HttpSession,
    PushSubscription,
    Notification,
    JobLease,
    DailyReport,
    PublicSnapshot,
]
