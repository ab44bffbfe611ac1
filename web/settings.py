"""Typed settings, read once from ``ADUAN_*`` environment variables.

Every field here must be documented in ``.env.example`` (``tests/test_settings.py`` checks it).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, get_type_hints

from web.forwarded import Network, parse_trusted_proxies

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-secret-change-me"


def setting(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    env: str = setting("development", "development | production. Production refuses dev secrets.")
    host: str = setting("127.0.0.1", "Address the web server listens on.")
    port: int = setting(8000, "Port the web server listens on.")
    public_base_url: str = setting(
        "http://127.0.0.1:8000", "Public URL of the site, used in links sent to citizens."
    )
    release: str = setting(
        "",
        "Release name (e.g. the git commit). A new value makes phones install a new service worker.",
    )
    var_dir: Path = setting(PROJECT_ROOT / "var", "Folder for the SQLite file and local media.")
    database_url: str = setting(
        "", "sqlite:///path/file.sqlite3 or postgresql://user@host:port/db. Empty: SQLite in var/."
    )
    db_pool_min: int = setting(
        1, "PostgreSQL connections each process opens at start and keeps when idle."
    )
    db_pool_max: int = setting(
        10,
        "Most PostgreSQL connections one process holds; the pool grows to it under load (0 = no "
        "pool, a connection per query). Replaces ADUAN_DB_POOL_SIZE. Sizing: see the README.",
    )
    db_pool_idle_seconds: int = setting(
        60, "A pooled connection idle this long is closed, down to db_pool_min."
    )
    secret_key: str = setting(
        DEV_SECRET, "Signs sessions and CSRF tokens; long and random in production."
    )
    nik_hash_key: str = setting(
        DEV_SECRET,
        "Key of the HMAC that stores NIKs as hashes. Never change it once citizens have registered.",
    )
    city: str = setting("cilegon", "City data file under db/cities/ (without .toml).")
    nik_prefix_policy: str = setting(
        "",
        "strict (NIK must start with the city code) | lenient (any valid NIK) | empty: city file's choice.",
    )
    default_locale: str = setting("id", "UI language when the user has not chosen one: id | en.")
    # Photo storage
    media_dir: Path = setting(
        Path(""), "Local photo folder when S3 is not configured. Empty: var/media."
    )
    s3_endpoint: str = setting(
        "", "MinIO/S3 host:port. When set, photos are stored there instead of media_dir."
    )
    s3_access_key: str = setting("", "MinIO/S3 access key.")
    s3_secret_key: str = setting("", "MinIO/S3 secret key.")
    s3_bucket: str = setting("aduan-photos", "Bucket for photos; created on start-up if missing.")
    s3_secure: bool = setting(True, "Use HTTPS to reach the S3 endpoint.")
    s3_region: str = setting("us-east-1", "Bucket region (saves the client a lookup per request).")
    # Photos
    photo_max_bytes: int = setting(10 * 1024 * 1024, "Largest accepted photo upload, in bytes.")
    photo_max_pixels: int = setting(
        50_000_000, "Largest accepted photo in pixels (decompression bombs)."
    )
    photos_per_complaint: int = setting(5, "Most photos a citizen can attach to one complaint.")
    # Map
    map_tile_url: str = setting(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "Map tile URL template for the location picker.",
    )
    map_tile_attribution: str = setting(
        "© OpenStreetMap", "Attribution shown on the map (tile licence)."
    )
    # SP4N-LAPOR!
    lapor_report_url: str = setting(
        "https://www.lapor.go.id/laporan/detil/{id}",
        "Public SP4N-LAPOR! page of one report; {id} becomes the ticket's LAPOR! tracking ID.",
    )
    # Citizen sign-in
    messenger: str = setting(
        "dev", "How sign-in codes reach citizens: dev (server log) | whatsapp."
    )
    whatsapp_base_url: str = setting(
        "https://graph.facebook.com/v21.0", "WhatsApp Cloud API base URL."
    )
    whatsapp_token: str = setting("", "WhatsApp Cloud API access token.")
    whatsapp_sender_id: str = setting("", "WhatsApp Cloud API phone-number id that sends messages.")
    whatsapp_otp_template: str = setting("aduan_otp", "Approved authentication template for codes.")
    whatsapp_template_language: str = setting("id", "Language code of the WhatsApp templates.")
    otp_ttl_seconds: int = setting(300, "How long a sign-in code stays valid.")
    otp_max_attempts: int = setting(5, "Wrong guesses allowed per code before it is burnt.")
    otp_per_phone_limit: int = setting(3, "Codes sent to one number per otp_window_seconds.")
    otp_per_ip_limit: int = setting(
        10,
        "Codes requested from one IP address per otp_window_seconds. Every per-IP limit counts an "
        "IPv6 client by its /64 network (one host's share), an IPv4 client by its address.",
    )
    otp_window_seconds: int = setting(
        900, "Window of the per-number and per-IP code limits and of the look-up limit."
    )
    account_lookup_per_ip_limit: int = setting(
        20,
        "Registration and sign-in answers per IP address per otp_window_seconds (each tells "
        "whether a NIK or number is registered).",
    )
    trusted_proxies: str = setting(
        "",
        "Addresses/networks of the reverse proxies you run, comma-separated (e.g. 127.0.0.1,::1 or "
        "10.0.0.0/8). Only requests from these read X-Forwarded-For, right to left, up to the first "
        "untrusted hop. Empty: the connection's address is the client's.",
    )
    request_body_timeout_seconds: int = setting(
        120,
        "Longest time the app waits for one request body; slower senders get 408 and are cut off. "
        "Behind nginx (which buffers bodies) the app gets each body at once.",
    )
    session_max_age_seconds: int = setting(30 * 24 * 3600, "How long a citizen stays signed in.")
    log_format: str = setting(
        "text",
        "Log lines: text (for people) | json (one object per line: ts, level, logger, host, pid, "
        "request_id, msg and fields).",
    )
    log_level: str = setting("INFO", "Lowest level logged: DEBUG | INFO | WARNING | ERROR.")
    # Staff
    staff_idle_minutes: int = setting(
        30,
        "Staff are signed out after this many minutes without a request of their own (the "
        "inbox's automatic refresh does not count).",
    )
    live_heartbeat_seconds: int = setting(
        15,
        "The live inbox stream sends a keep-alive line this often (below any proxy's read "
        "timeout) and checks each time that the staff session is still signed in.",
    )
    live_streams_per_staff: int = setting(
        4,
        "Live inbox streams one staff member may hold open at once, over every web process "
        "(tabs; leased in the database); beyond it a tab is refused and refreshes its inbox every "
        "30 s instead.",
    )
    live_poll_ms: int = setting(
        500,
        "SQLite only: how often (milliseconds) each web process looks for ticket changes made by "
        "the others (PostgreSQL announces them at once with NOTIFY).",
    )
    staff_login_max_failures: int = setting(
        5,
        "Staff sign-in tries per username from one IP address per window (x3 per IP for all "
        "usernames). A stranger elsewhere cannot lock the owner out.",
    )
    staff_login_slow_after: int = setting(
        10,
        "Failed staff sign-ins for one username from all addresses per window after which "
        "further tries are spaced out one after another, each longer, and admins are warned.",
    )
    staff_login_max_delay_seconds: int = setting(
        10, "Longest spacing between two staff sign-in tries for a username under attack."
    )
    staff_login_max_wait_seconds: int = setting(
        30,
        "A staff sign-in try whose turn (for a username under attack) is further away than this "
        "is refused without checking the password; the owner waits at most this long.",
    )
    staff_login_window_seconds: int = setting(900, "Window of the staff sign-in failure limits.")
    shift_starts: str = setting(
        "07:00,15:00,23:00", "Start times of the command centre's shifts (city time)."
    )
    reopen_window_days: int = setting(
        7, "Days after resolution during which a citizen may reopen a ticket."
    )
    # Background jobs
    jobs_in_process: bool = setting(
        True,
        "Run the background jobs (notifications, SLA clock, daily report) inside the web process. "
        "Production: false, and run `python -m web.worker` as its own service.",
    )
    sla_check_seconds: int = setting(
        60, "How often the SLA job looks for near-breach and overdue tickets."
    )
    public_refresh_seconds: int = setting(
        30,
        "How often the worker refreshes the public page's figures after tickets change; each web "
        "process picks them up at most this often (0: at once, computing them itself).",
    )
    job_lease_seconds: int = setting(
        60,
        "How long a worker holds a job's lease; renewed every third of it while the job runs, so "
        "a crashed worker's job is taken over by another process about this long after the crash.",
    )
    report_time: str = setting(
        "07:00", "City time at which the daily report for the previous day is generated."
    )
    # Notifications (Web Push, WhatsApp fallback)
    vapid_private_key: str = setting(
        "",
        "Web Push (VAPID) private key: PEM, or base64url raw/DER. Empty: made once and kept in "
        "var/vapid_private.pem. Required in production (python -m web.notifications.vapid makes one).",
    )
    vapid_subject: str = setting(
        "",
        "Contact that push services see (mailto:... or https://...). Required in production.",
    )
    push_max_attempts: int = setting(
        8, "Tries per notification (429, 5xx, network errors) before it is marked failed."
    )
    push_lease_seconds: int = setting(
        120,
        "How long a worker holds the notifications it is sending before another may take them over.",
    )
    push_allowed_hosts: str = setting(
        "",
        "Push services the server may send to: host names, comma-separated, *.name for "
        "subdomains (e.g. fcm.googleapis.com,*.push.services.mozilla.com,web.push.apple.com,"
        "*.notify.windows.com). Empty: any host whose addresses are all public internet addresses "
        "(never loopback, private or link-local). Plain http only to listed hosts, outside production.",
    )
    push_max_devices: int = setting(
        10,
        "Browsers one citizen or staff user can have notifications on; turning them on in one more "
        "replaces the one turned on longest ago.",
    )
    push_subscribe_per_hour: int = setting(
        20, "Times one citizen or staff user may turn notifications on per hour."
    )
    push_dns_timeout_seconds: int = setting(
        5, "Longest wait for the DNS look-up that checks a new push endpoint."
    )
    notify_whatsapp_fallback: bool = setting(
        False,
        "Tell citizens without push notifications about their ticket on WhatsApp (status template).",
    )
    whatsapp_status_template: str = setting(
        "aduan_status",
        "Approved WhatsApp template for ticket updates; parameters: ticket number, status.",
    )

    @cached_property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_trusted_proxies(self.trusted_proxies)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'aduan.sqlite3'}"

    @property
    def uses_postgres(self) -> bool:
        return self.resolved_database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return Path(self.resolved_database_url.removeprefix("sqlite:///"))

    @property
    def resolved_media_dir(self) -> Path:
        return self.media_dir if str(self.media_dir) not in ("", ".") else self.var_dir / "media"

    def check(self) -> None:
        if self.env not in ("development", "production"):
            raise SettingsError("ADUAN_ENV must be development or production")
        if self.nik_prefix_policy not in ("", "strict", "lenient"):
            raise SettingsError("ADUAN_NIK_PREFIX_POLICY must be strict, lenient or empty")
        if self.messenger not in ("dev", "whatsapp"):
            raise SettingsError("ADUAN_MESSENGER must be dev or whatsapp")
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.report_time):
            raise SettingsError("ADUAN_REPORT_TIME must be HH:MM, e.g. 07:00")
        if self.default_locale not in ("id", "en"):
            raise SettingsError("ADUAN_DEFAULT_LOCALE must be id or en")
        if self.vapid_subject and not self.vapid_subject.startswith(("mailto:", "https://")):
            raise SettingsError("ADUAN_VAPID_SUBJECT must start with mailto: or https://")
        try:
            self.trusted_proxy_networks  # noqa: B018 (parsed once here, so a typo stops start-up)
        except ValueError as exc:
            raise SettingsError(f"ADUAN_TRUSTED_PROXIES: {exc}") from exc
        if self.db_pool_min < 0 or self.db_pool_max < 0:
            raise SettingsError("ADUAN_DB_POOL_MIN and ADUAN_DB_POOL_MAX must not be negative")
        if self.db_pool_max and self.db_pool_min > self.db_pool_max:
            raise SettingsError(
                f"ADUAN_DB_POOL_MIN ({self.db_pool_min}) must not exceed ADUAN_DB_POOL_MAX "
                f"({self.db_pool_max})"
            )
        if self.db_pool_idle_seconds < 1:
            raise SettingsError("ADUAN_DB_POOL_IDLE_SECONDS must be at least 1")
        if self.job_lease_seconds < 3:
            raise SettingsError("ADUAN_JOB_LEASE_SECONDS must be at least 3")
        if self.log_format not in ("text", "json"):
            raise SettingsError("ADUAN_LOG_FORMAT must be text or json")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError("ADUAN_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        if self.request_body_timeout_seconds < 1:
            raise SettingsError("ADUAN_REQUEST_BODY_TIMEOUT_SECONDS must be at least 1")
        if self.is_production:
            # One key for every process: a key file per host would give browsers different keys.
            for name in ("vapid_private_key", "vapid_subject"):
                if not getattr(self, name):
                    raise SettingsError(f"ADUAN_{name.upper()} must be set in production")
            for name in ("secret_key", "nik_hash_key"):
                if getattr(self, name) == DEV_SECRET:
                    raise SettingsError(f"ADUAN_{name.upper()} must be set in production")
            if self.messenger == "dev":
                raise SettingsError(
                    "ADUAN_MESSENGER=dev only logs codes; use whatsapp in production"
                )


def env_name(field_name: str) -> str:
    return f"ADUAN_{field_name.upper()}"


def _convert(raw: str, kind: Any, name: str) -> Any:
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{name} must be true or false, not {raw!r}")
    if kind is int:
        try:
            return int(raw.replace("_", ""))
        except ValueError as exc:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from exc
    if kind is Path:
        return Path(raw).expanduser()
    return raw


# Settings that were removed and would now be silently ignored: refuse them with the way forward.
REMOVED = {
    "ADUAN_TRUST_FORWARDED_FOR": (
        "ADUAN_TRUST_FORWARDED_FOR was removed: it believed the left-most X-Forwarded-For entry, "
        "which clients write themselves. Set ADUAN_TRUSTED_PROXIES to your proxies' addresses "
        "(e.g. 127.0.0.1,::1) instead."
    ),
}


# Old names still read, as the new name, with a warning.
RENAMED = {"ADUAN_DB_POOL_SIZE": "ADUAN_DB_POOL_MAX"}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    for name, message in REMOVED.items():
        # "false" (copied from an old .env.example) changes nothing, so it can stay.
        if environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off"):
            raise SettingsError(message)
    for old, new in RENAMED.items():
        if old_value := environ.get(old, "").strip():
            new_value = environ.get(new, "").strip()
            if new_value and new_value != old_value:
                raise SettingsError(f"{old} is the old name of {new}; set only {new}")
            environ[new] = old_value
            log.warning("%s is deprecated; rename it %s", old, new)
    hints = get_type_hints(Settings)
    values = {}
    for f in dataclasses.fields(Settings):
        name = env_name(f.name)
        raw = environ.get(name, "").strip()
        if raw:  # an empty value (as in .env.example) means "use the default"
            value = _convert(raw, hints[f.name], name)
            if isinstance(value, Path) and not value.is_absolute():
                value = PROJECT_ROOT / value
            values[f.name] = value
    settings = Settings(**values)
    settings.check()
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
