"""Liveness and readiness, for load balancers, uptime monitors and people.

Liveness (/healthz) only says the process answers: restart it if not. Readiness (/readyz) says
whether this node can serve: only the database decides that (without it no page works). Photo
storage down and late background jobs are reported as "warn": the node still serves everything
but filing with photos, and taking every node out of the load balancer at once would help nobody.
The body follows the shape of the IETF "Health Check Response Format for HTTP APIs" draft
(status pass / warn / fail, one entry per check); the status code alone decides for machines.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from db.tables import CityInfo
from web.jobs.health import job_status
from web.photos.storage import PhotoStorage
from web.settings import Settings

STORAGE_CHECK_SECONDS = 3  # a load balancer's probe must not hang on a blackholed S3 endpoint


def _failure(exc: BaseException) -> str:
    return type(exc).__name__  # the type only: messages may carry hosts or credentials


async def readiness(
    settings: Settings, storage: PhotoStorage, *, now: datetime
) -> tuple[bool, dict]:
    """(ready, body): ready when the database answers; storage and jobs can only warn."""
    checks: dict[str, dict] = {}
    try:
        await CityInfo.select(CityInfo.id).limit(1)
        checks["database"] = {"status": "pass"}
    except Exception as exc:  # whatever the driver raises, the node cannot serve
        checks["database"] = {"status": "fail", "error": _failure(exc)}

    storage_check = {"status": "pass", "backend": storage.name}
    try:
        await asyncio.wait_for(storage.check(), timeout=STORAGE_CHECK_SECONDS)
    except Exception as exc:
        storage_check.update(
            status="warn", error=_failure(exc), affects="filing complaints with photos"
        )
    checks["storage"] = storage_check

    if checks["database"]["status"] == "pass":
        try:
            statuses = await job_status(now, settings)
            late = [s.name for s in statuses if s.late]
            checks["jobs"] = {
                "status": "warn" if late else "pass",
                "late": late,
                "jobs": {s.name: s.as_json() for s in statuses},
            }
        except Exception as exc:
            checks["jobs"] = {"status": "warn", "error": _failure(exc)}
    else:
        checks["jobs"] = {"status": "warn", "error": "database unavailable"}

    ready = checks["database"]["status"] == "pass"
    worst = "pass" if all(c["status"] == "pass" for c in checks.values()) else "warn"
    body = {
        "status": worst if ready else "fail",
        "release": settings.release,
        "checks": checks,
    }
    return ready, body
