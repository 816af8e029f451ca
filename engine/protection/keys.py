"""Encryption keys: the master key from settings or the data folder, and the keys derived from it.

A master key is 32 random bytes with a short id (`1` unless given as `id:base64`). It is never
used directly: HKDF-SHA256 derives one key per purpose and algorithm from it, so the blind index
key differs from the encryption key and knowing one reveals nothing of the other.

Rotation: give the new key a new id (`ANJU_ENCRYPTION_KEY=2:<base64>`) and keep the old ones in
`ANJU_ENCRYPTION_OLD_KEYS=1:<base64>`. New values are encrypted with the current key; every
ciphertext names its key id, so old values still decrypt. A re-encryption pass (decrypt with
the old key, encrypt with the current one, recompute the blind index) then brings every row to
the new key, after which the old key can be retired. See docs/protection.md.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from engine.settings import Settings

KEY_BYTES = 32
DEFAULT_KEY_ID = "1"
KEY_ID = re.compile(r"^[0-9A-Za-z]{1,8}$")
KEY_FILE = Path("keys") / "encryption.key"


class KeyProblem(ValueError):
    """A key setting or key file that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class MasterKey:
    """A secret and the id its ciphertexts are marked with."""

    key_id: str
    secret: bytes = field(repr=False)

    def derive(self, purpose: str, length: int) -> bytes:
        """The key for one purpose ("aes-gcm", "blind index", …), `length` bytes long."""
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=length,
            salt=None,
            info=f"anju {purpose} v1".encode(),
        )
        return hkdf.derive(self.secret)


@dataclass(frozen=True)
class KeyRing:
    """The current key, which encrypts, and the old keys kept only to decrypt."""

    current: MasterKey
    old: tuple[MasterKey, ...] = ()

    def __post_init__(self) -> None:
        ids = [self.current.key_id, *(k.key_id for k in self.old)]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise KeyProblem(f"key id {repeated[0]!r} is given more than once; ids must differ")

    @property
    def all(self) -> tuple[MasterKey, ...]:
        return (self.current, *self.old)


def parse_key(text: str, source: str) -> MasterKey:
    """`id:base64` or plain `base64` (id 1) of 32 bytes, as settings and key files hold it."""
    key_id, _, encoded = text.strip().rpartition(":")
    key_id = key_id or DEFAULT_KEY_ID
    if not KEY_ID.fullmatch(key_id):
        raise KeyProblem(f"{source}: key id {key_id!r} must be 1 to 8 letters or digits")
    try:
        secret = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem(f"{source}: expected base64 of {KEY_BYTES} bytes") from None
    if len(secret) != KEY_BYTES:
        raise KeyProblem(f"{source}: expected {KEY_BYTES} bytes, got {len(secret)}")
    return MasterKey(key_id, secret)


def load_keys(settings: Settings) -> KeyRing:
    """The key ring of `settings`: its key, or the data folder's key file (created once)."""
    if settings.encryption_key:
        current = parse_key(settings.encryption_key, "ANJU_ENCRYPTION_KEY")
    else:
        path = settings.data_dir / KEY_FILE
        current = parse_key(read_or_create_key_file(path), str(path))
    old = tuple(
        parse_key(item, "ANJU_ENCRYPTION_OLD_KEYS")
        for item in (settings.encryption_old_keys or "").split(",")
        if item.strip()
    )
    return KeyRing(current, old)


def new_key_text(key_id: str = DEFAULT_KEY_ID) -> str:
    """A fresh random key as `id:base64`, the form settings and key files take."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def read_or_create_key_file(path: Path) -> str:
    """The key in `path`; written first (mode 0600) if missing, so every process agrees.

    The key goes to a private temporary file that is then hard-linked into place: linking
    fails if another process got there first, and then its key is read instead. A reader
    therefore never sees a half-written file.
    """
    if path.exists():
        return path.read_text(encoding="ascii")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(new_key_text() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: its key is the one
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text(encoding="ascii")
