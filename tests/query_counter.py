"""Count the SQL statements a request runs (like warehouse's query_recorder), to catch N+1 queries."""

from __future__ import annotations

from contextlib import contextmanager

from db.engine import current_engine


@contextmanager
def count_queries():
    """Yields a list that collects every statement run through the engine while the block runs.

    Wraps the engine class's method (Piccolo engines use __slots__, so not the instance's).
    """
    engine_class = type(current_engine())
    original = engine_class.run_querystring
    seen: list[str] = []

    async def recording(self, querystring, *args, **kwargs):
        seen.append(str(querystring))
        return await original(self, querystring, *args, **kwargs)

    engine_class.run_querystring = recording
    try:
        yield seen
    finally:
        engine_class.run_querystring = original
