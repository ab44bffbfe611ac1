"""Content-hashed URLs for files under ``static/``.

``/static/css/app.3f2a9c1d.css`` names one exact version of ``static/css/app.css``: it can be cached
forever and precached by the service worker. A URL whose hash is not the current one is a 404, so
an old page can never pick up new JS (or the reverse) under a name it did not ask for.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from web.settings import PROJECT_ROOT

STATIC_ROOT = PROJECT_ROOT / "static"
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<suffix>\.[A-Za-z0-9]+)$")


class AssetManifest:
    def __init__(self, root: Path = STATIC_ROOT) -> None:
        self.root = root
        self._cache: dict[str, tuple[int, str]] = {}

    def _digest(self, rel_path: str) -> str:
        path = self.root / rel_path
        mtime = path.stat().st_mtime_ns
        cached = self._cache.get(rel_path)
        if cached and cached[0] == mtime:
            return cached[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        self._cache[rel_path] = (mtime, digest)
        return digest

    def url(self, rel_path: str) -> str:
        stem, dot, suffix = rel_path.rpartition(".")
        return f"/static/{stem}.{self._digest(rel_path)}{dot}{suffix}"

    def resolve(self, requested: str) -> Path | None:
        """The file a hashed URL names, or None if the name or the hash is not current."""
        match = _HASHED.match(requested)
        if not match:
            return None
        rel_path = match["stem"] + match["suffix"]
        path = (self.root / rel_path).resolve()
        if not path.is_file() or self.root.resolve() not in path.parents:
            return None
        if self._digest(rel_path) != match["hash"]:
            return None
        return path
