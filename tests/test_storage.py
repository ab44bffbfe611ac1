"""One contract, two backends: a local folder and S3 (moto on loopback, via the minio client)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import anyio
import pytest

from tests.browser import free_port
from web.photos.storage import (
    LocalFolderStorage,
    MinioStorage,
    PhotoStorage,
    StorageError,
    storage_from_settings,
    validate_key,
)
from web.settings import Settings

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../secret.jpg",
    "complaints/../../secret.jpg",
    "complaints/./a.jpg",
    "complaints//a.jpg",
    "complaints/a.jpg/",
    "complaints\\a.jpg",
    "complaints/.hidden.jpg",
    "complaints/a b.jpg",
]


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path: Path) -> PhotoStorage:
    if request.param == "local":
        local = LocalFolderStorage(tmp_path / "media")
        anyio.run(local.ensure_ready)
        return local
    return request.getfixturevalue("minio_storage")


def photo_key() -> str:
    return f"complaints/{uuid.uuid4()}/{uuid.uuid4()}.jpg"


def test_put_get_exists_delete_roundtrip(storage: PhotoStorage):
    key = photo_key()

    async def scenario() -> None:
        assert not await storage.exists(key)
        await storage.put(key, b"\xff\xd8first", "image/jpeg")
        await storage.put(key, b"\xff\xd8second", "image/jpeg")  # overwrite
        assert await storage.exists(key)
        assert await storage.get(key) == b"\xff\xd8second"
        await storage.delete(key)
        assert not await storage.exists(key)

    anyio.run(scenario)


def test_missing_key(storage: PhotoStorage):
    key = photo_key()
    with pytest.raises(KeyError):
        anyio.run(storage.get, key)
    anyio.run(storage.delete, key)  # deleting nothing is fine


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused(storage: PhotoStorage, key: str):
    with pytest.raises(ValueError):
        validate_key(key)
    with pytest.raises(ValueError):
        anyio.run(storage.put, key, b"x", "image/jpeg")
    with pytest.raises(ValueError):
        anyio.run(storage.get, key)


def test_check_passes_when_ready(storage: PhotoStorage):
    anyio.run(storage.check)
    anyio.run(storage.ensure_ready)  # twice is harmless


def test_local_writes_leave_no_temp_files(tmp_path: Path):
    storage = LocalFolderStorage(tmp_path)
    key = photo_key()
    anyio.run(storage.put, key, b"data", "image/jpeg")
    folder = tmp_path.joinpath(*key.split("/")[:-1])
    assert [p.name for p in folder.iterdir()] == [key.rsplit("/", 1)[1]]


def test_local_check_fails_without_folder(tmp_path: Path):
    with pytest.raises(StorageError):
        anyio.run(LocalFolderStorage(tmp_path / "missing").check)


def test_s3_check_fails_without_bucket(minio_storage: MinioStorage):
    missing = MinioStorage(
        endpoint=minio_storage.endpoint,
        access_key="test-access-key",
        secret_key="test-secret-key",
        bucket="aduan-test-never-created",
        secure=False,
    )
    with pytest.raises(StorageError, match="does not exist"):
        anyio.run(missing.check)


def test_s3_check_fails_fast_when_nothing_listens():
    storage = MinioStorage(
        endpoint=f"127.0.0.1:{free_port()}",
        access_key="test-access-key",
        secret_key="test-secret-key",
        bucket="aduan-photos",
        secure=False,
    )
    started = time.monotonic()
    with pytest.raises(StorageError):
        anyio.run(storage.check)
    assert time.monotonic() - started < 3
    with pytest.raises(StorageError):
        anyio.run(storage.put, photo_key(), b"x", "image/jpeg")


def test_storage_from_settings(tmp_path: Path):
    local = storage_from_settings(Settings(media_dir=tmp_path))
    assert isinstance(local, LocalFolderStorage) and local.name == "local"
    assert local.root == tmp_path
    s3 = storage_from_settings(Settings(s3_endpoint="127.0.0.1:9000", s3_bucket="photos"))
    assert isinstance(s3, MinioStorage) and s3.name == "s3"
    assert s3.bucket == "photos"
