"""The VAPID key pair that signs every push request (RFC 8292).

Browsers subscribe with the public key (``applicationServerKey``) and push services refuse requests
signed with any other key, so the key must outlive restarts and be the same in every process. It
comes from ``ADUAN_VAPID_PRIVATE_KEY`` or, in development, from a key file made on first run.

``python -m web.notifications.vapid`` prints a new key for production.
"""

from __future__ import annotations

import base64
import contextlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from web.settings import Settings, SettingsError

KEY_FILE = "vapid_private.pem"
DEV_SUBJECT = "mailto:aduan@localhost"


@dataclass(frozen=True)
class VapidKeys:
    signer: Vapid02
    public_key: str  # base64url of the raw uncompressed point: the browser's applicationServerKey
    subject: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_key_of(signer: Vapid02) -> str:
    raw = signer.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw)


def _from_setting(value: str) -> Vapid02:
    value = value.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.encode(), password=None)
            return Vapid02(key)
        return Vapid02.from_string(value)  # base64url: 32 raw bytes, or DER
    except Exception as exc:
        raise SettingsError(
            "ADUAN_VAPID_PRIVATE_KEY is not a P-256 private key (PEM, or base64url raw/DER)"
        ) from exc


def _from_file(path: Path) -> Vapid02:
    """Load the key file, making it first if there is none.

    Two processes starting together must end up with the same key: the new key is written to a
    private temporary file and linked into place, which fails if another process got there first.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        signer = Vapid02()
        signer.generate_keys()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(signer.private_pem())
                fh.flush()
                os.fsync(fh.fileno())
            # FileExistsError: another process made it a moment ago, and theirs is used.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return Vapid02(key)


@lru_cache(maxsize=4)
def _load(setting_value: str, key_path: str, subject: str) -> VapidKeys:
    signer = _from_setting(setting_value) if setting_value else _from_file(Path(key_path))
    return VapidKeys(signer=signer, public_key=_public_key_of(signer), subject=subject)


def vapid_keys(settings: Settings) -> VapidKeys:
    return _load(
        settings.vapid_private_key,
        str(settings.var_dir / KEY_FILE),
        settings.vapid_subject or DEV_SUBJECT,
    )


def main() -> None:
    signer = Vapid02()
    signer.generate_keys()
    raw = signer.private_key.private_numbers().private_value.to_bytes(32, "big")
    print(f"ADUAN_VAPID_PRIVATE_KEY={b64url(raw)}")
    print(f"# public key (applicationServerKey): {_public_key_of(signer)}")


if __name__ == "__main__":
    main()
