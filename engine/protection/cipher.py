"""Authenticated encryption of one value: AES-256-GCM or SM4-GCM, as a compact ASCII string.

A ciphertext reads `<algorithm tag><key id>:<base64url(nonce + ciphertext + tag)>`, e.g.
`a1:3q2-7w…` (AES-256-GCM, key 1) or `s1:…` (SM4-GCM). The header says how to decrypt, so
changing the algorithm or the key leaves older values readable. The associated data binds
the header and the field's place (`app.entity.field`): a ciphertext copied into another
column, or with its header altered, fails authentication instead of decrypting.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ALGORITHM_TAGS = {"aes-gcm": "a", "sm4-gcm": "s"}
KEY_LENGTHS = {"aes-gcm": 32, "sm4-gcm": 16}
NONCE_BYTES = 12  # 96 bits, random per value
TAG_BYTES = 16
HEADER = re.compile(r"^([a-z])([0-9A-Za-z]{1,8}):")


class DecryptionFailed(ValueError):
    """A stored value that is not a ciphertext of ours, or fails authentication."""


def header_of(text: str) -> tuple[str, str]:
    """(algorithm, key id) named by a ciphertext's header."""
    found = HEADER.match(text)
    algorithm = next((a for a, t in ALGORITHM_TAGS.items() if found and t == found[1]), None)
    if found is None or algorithm is None:
        raise DecryptionFailed("not an encrypted value (expected a1:… or s1:…)")
    return algorithm, found[2]


class FieldCipher:
    """One algorithm with one derived key: encrypts for a place and decrypts what it wrote."""

    def __init__(self, algorithm: str, key_id: str, key: bytes) -> None:
        if algorithm not in ALGORITHM_TAGS:
            known = ", ".join(ALGORITHM_TAGS)
            raise ValueError(f"unknown encryption algorithm {algorithm!r}; expected {known}")
        if len(key) != KEY_LENGTHS[algorithm]:
            raise ValueError(f"{algorithm} needs a {KEY_LENGTHS[algorithm]}-byte key")
        self.algorithm = algorithm
        self.header = f"{ALGORITHM_TAGS[algorithm]}{key_id}:"
        self._key = key
        self._aes = AESGCM(key) if algorithm == "aes-gcm" else None

    def encrypt(self, place: str, plaintext: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._seal(nonce, plaintext.encode("utf-8"), self._associated(place))
        return self.header + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()

    def decrypt(self, place: str, text: str) -> str:
        if not text.startswith(self.header):
            raise DecryptionFailed(f"written with another key or algorithm ({text[:4]}…)")
        encoded = text[len(self.header) :]
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise DecryptionFailed("the encrypted value is not valid base64") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionFailed("the encrypted value is too short")
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        try:
            plain = self._open(nonce, sealed, self._associated(place))
        except InvalidTag:
            raise DecryptionFailed(
                f"the value does not authenticate for {place} (altered, or moved from "
                "another field)"
            ) from None
        return plain.decode("utf-8")

    def _associated(self, place: str) -> bytes:
        return f"{self.header}{place}".encode()

    def _seal(self, nonce: bytes, plain: bytes, associated: bytes) -> bytes:
        if self._aes is not None:
            return self._aes.encrypt(nonce, plain, associated)
        encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated)
        body = encryptor.update(plain) + encryptor.finalize()
        return body + encryptor.tag

    def _open(self, nonce: bytes, sealed: bytes, associated: bytes) -> bytes:
        if self._aes is not None:
            return self._aes.decrypt(nonce, sealed, associated)
        body, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(associated)
        return decryptor.update(body) + decryptor.finalize()
