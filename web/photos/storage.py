"""Where photo bytes live: a local folder (development, small installs) or an S3 bucket (MinIO).

Both backends speak the same small async contract, ``PhotoStorage``. Blocking work (file I/O, the
urllib3-based minio client) runs in worker threads.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import anyio.to_thread
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from urllib3.exceptions import HTTPError

if TYPE_CHECKING:
    from web.settings import Settings

T = TypeVar("T")

# One path segment: starts with a letter or digit, so never "..", "." or a hidden temp file.
_KEY_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class StorageError(RuntimeError):
    """The storage is unreachable or failed; the message is meant for logs, not for citizens."""


class PhotoStorage(Protocol):
    name: str

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing any previous object."""

    async def get(self, key: str) -> bytes:
        """Return the bytes under ``key``; ``KeyError`` if there are none."""

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    async def exists(self, key: str) -> bool: ...

    async def check(self) -> None:
        """Raise ``StorageError`` if the storage cannot be used (for /readyz)."""

    async def ensure_ready(self) -> None:
        """Create the folder or bucket if missing (on app start-up)."""


def validate_key(key: str) -> None:
    """Keys look like ``complaints/<uuid>/<uuid>.jpg``; anything path-like is refused."""
    if not key or len(key) > 512:
        raise ValueError(f"bad storage key: {key!r}")
    if not all(_KEY_PART.fullmatch(part) for part in key.split("/")):
        raise ValueError(f"bad storage key: {key!r}")


class LocalFolderStorage:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        validate_key(key)
        return self.root.joinpath(*key.split("/"))

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await _in_thread(_write_atomically, self._path(key), data)

    async def get(self, key: str) -> bytes:
        return await _in_thread(_read, self._path(key), key)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await _in_thread(lambda: path.unlink(missing_ok=True))

    async def exists(self, key: str) -> bool:
        return await _in_thread(self._path(key).is_file)

    async def check(self) -> None:
        if not await _in_thread(_is_writable_dir, self.root):
            raise StorageError(f"photo folder {self.root} is missing or not writable")

    async def ensure_ready(self) -> None:
        await _in_thread(lambda: self.root.mkdir(parents=True, exist_ok=True))


async def _in_thread(func: Callable[..., T], *args: object) -> T:
    try:
        return await anyio.to_thread.run_sync(func, *args)
    except OSError as exc:
        raise StorageError(f"local photo storage: {exc}") from exc


def _read(path: Path, key: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyError(key) from None


def _write_atomically(path: Path, data: bytes) -> None:
    # A crash mid-write must never leave half a photo under the real name.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a front proxy may serve these files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _is_writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


class MinioStorage:
    name = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = True,
        region: str = "us-east-1",
        timeout: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region or None
        # minio's default client waits 5 minutes and retries 5 times: /readyz would hang.
        http_client = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=timeout),
            retries=urllib3.Retry(
                total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
            maxsize=10,
        )
        self._client = Minio(
            endpoint=endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=self.region,  # else the client asks the server for it before requests
            http_client=http_client,
        )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        validate_key(key)
        await self._run(
            lambda: self._client.put_object(
                bucket_name=self.bucket,
                object_name=key,
                data=io.BytesIO(data),
                length=len(data),
                content_type=content_type,
            )
        )

    async def get(self, key: str) -> bytes:
        validate_key(key)
        return await self._run(lambda: self._get(key))

    def _get(self, key: str) -> bytes:
        try:
            response = self._client.get_object(bucket_name=self.bucket, object_name=key)
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                raise KeyError(key) from None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        validate_key(key)
        # S3 deletes are idempotent: a missing object is not an error.
        await self._run(
            lambda: self._client.remove_object(bucket_name=self.bucket, object_name=key)
        )

    async def exists(self, key: str) -> bool:
        validate_key(key)
        return await self._run(lambda: self._exists(key))

    def _exists(self, key: str) -> bool:
        try:
            self._client.stat_object(bucket_name=self.bucket, object_name=key)
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                return False
            raise
        return True

    async def check(self) -> None:
        if not await self._run(lambda: self._client.bucket_exists(bucket_name=self.bucket)):
            raise StorageError(f"S3 bucket {self.bucket!r} does not exist on {self.endpoint}")

    async def ensure_ready(self) -> None:
        await self._run(self._ensure_bucket)

    def _ensure_bucket(self) -> None:
        if self._client.bucket_exists(bucket_name=self.bucket):
            return
        try:
            self._client.make_bucket(bucket_name=self.bucket, location=self.region)
        except S3Error as exc:
            # Another worker starting at the same time may have just created it.
            if exc.code != "BucketAlreadyOwnedByYou":
                raise

    async def _run(self, func: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(func)
        except (MinioException, HTTPError, OSError) as exc:
            raise StorageError(f"S3 {self.endpoint}/{self.bucket}: {exc}") from exc


def storage_from_settings(settings: Settings) -> PhotoStorage:
    """S3 when an endpoint is configured, else the local media folder."""
    if settings.s3_endpoint:
        return MinioStorage(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    return LocalFolderStorage(settings.resolved_media_dir)
