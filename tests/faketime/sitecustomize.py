"""Imported at start-up by every Python process of scripts/test's moved-clock runs (PYTHONPATH).

libfaketime 0.9.10 (Debian's) mishandles clock_nanosleep on the real monotonic clock
(wolfcw/libfaketime#426): Python 3.11+'s time.sleep, and so Popen.wait(timeout), fail with EINVAL.
select() sleeps just as well and is not intercepted.
"""

import os
import select
import time

if "faketime" in os.environ.get("LD_PRELOAD", ""):

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
