"""An S3 server on loopback (moto), so storage tests speak the real protocol without MinIO.

moto ignores signatures and expiry: these tests prove the protocol path, not signing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
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


class SwitchableRelay:
    """A loopback TCP relay in front of a real server that can be switched off and on again on the
    same port. Off, the port refuses connections and open ones are cut: the S3 server is "down"."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.up()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)  # so the accept loop notices when it is switched off
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            cut, self._open = self._open, set()
        for sock in cut:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(src, dst), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def s3_relay(s3_server: str) -> Iterator[SwitchableRelay]:
    """The shared S3 server behind a relay a test can switch off (an outage) and on (recovery)."""
    relay = SwitchableRelay(s3_server)
    try:
        yield relay
    finally:
        relay.down()
