"""An S3 server on loopback (moto), so storage tests speak the real protocol without MinIO.

moto ignores signatures and expiry: these tests prove the protocol path, not signing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anyio
import pytest
from moto.server import ThreadedMotoServer

from web.photos.storage import MinioStorage

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Endpoint "127.0.0.1:PORT" of a moto S3 server shared by the whole run."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def minio_storage(s3_server: str) -> MinioStorage:
    """A MinioStorage on its own fresh bucket, so tests never see each other's objects."""
    storage = MinioStorage(
        endpoint=s3_server,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        bucket=f"aduan-test-{uuid.uuid4().hex[:12]}",
        secure=False,
        region=REGION,
    )
    anyio.run(storage.ensure_ready)
    return storage
