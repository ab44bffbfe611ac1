"""The background worker for production: ``python -m web.worker``.

Sends notifications, runs the SLA clock and makes the daily report (web/jobs). Run it as its own
service next to the web processes, with ADUAN_JOBS_IN_PROCESS=false on those; any number of
workers may run (jobs take database leases). SIGTERM / SIGINT: the running job finishes, then exit.
"""

from __future__ import annotations

import asyncio
import signal
from zoneinfo import ZoneInfo

from db.engine import close_pool, start_pool
from web.city import get_city
from web.jobs.runner import JobRunner, default_jobs
from web.logs import configure_logging
from web.messaging.messenger import messenger_from_settings
from web.settings import get_settings


async def main() -> None:
    settings = get_settings()
    city = get_city(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await start_pool(settings, role="worker")
    try:
        jobs = default_jobs(settings, messenger_from_settings(settings), ZoneInfo(city.timezone))
        await JobRunner(jobs, lease_seconds=settings.job_lease_seconds).run_forever(stop)
    finally:
        await close_pool()


if __name__ == "__main__":
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(main())
