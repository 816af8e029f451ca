"""Protection of sensitive fields at rest: encryption, a blind index for exact match, masks.

One `Protector` per app instance, built from its settings, does everything the records and
the schema migration need; a value's *place* is "app.entity.field". See docs/protection.md.

>>> protector = Protector.from_settings(settings)
>>> stored = protector.seal("housing.applicant.id_number", "11010519900101123X")
>>> protector.unseal("housing.applicant.id_number", "string", stored.ciphertext)
'11010519900101123X'
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.protection.blind_index import BlindIndex
from engine.protection.cipher import (
    ALGORITHM_TAGS,
    KEY_LENGTHS,
    DecryptionFailed,
    FieldCipher,
    header_of,
)
from engine.protection.keys import KeyProblem, KeyRing, load_keys
from engine.protection.masks import mask_value
from engine.protection.plaintext import Plain, from_text, to_text
from engine.settings import Settings

__all__ = [
    "DecryptionFailed",
    "KeyProblem",
    "Plain",
    "Protector",
    "Sealed",
    "field_place",
    "mask_value",
]


def field_place(entity_path: str, field: str) -> str:
    """The place of a field, "app.entity.field", that its ciphertexts and digests are bound to."""
    return f"{entity_path}.{field}"


@dataclass(frozen=True)
class Sealed:
    """What a sensitive value is stored as: its ciphertext and its blind index digest."""

    ciphertext: str | None
    blind_index: str | None


class Protector:
    """Encrypts, decrypts and blind-indexes sensitive values with one app instance's keys."""

    def __init__(self, keys: KeyRing, algorithm: str = "aes-gcm") -> None:
        if algorithm not in ALGORITHM_TAGS:
            known = ", ".join(ALGORITHM_TAGS)
            raise KeyProblem(f"ANJU_ENCRYPTION_ALGORITHM: {algorithm!r} is not one of {known}")
        self.algorithm = algorithm
        self.keys = keys
        self.key_id = keys.current.key_id
        self._ciphers = {
            (name, key.key_id): FieldCipher(name, key.key_id, key.derive(name, length))
            for key in keys.all
            for name, length in KEY_LENGTHS.items()
        }
        self._index = BlindIndex(keys.current.derive("blind index", 32))

    @classmethod
    def from_settings(cls, settings: Settings) -> Protector:
        """The protector of an app instance: its key (or key file) and its algorithm."""
        return cls(load_keys(settings), settings.encryption_algorithm)

    def encrypt(self, place: str, value: str) -> str:
        """`value` encrypted with the current key and algorithm, bound to `place`."""
        return self._ciphers[(self.algorithm, self.key_id)].encrypt(place, value)

    def decrypt(self, place: str, text: str) -> str:
        """The text `encrypt` gave `text` for; raises `DecryptionFailed` if it cannot."""
        algorithm, key_id = header_of(text)
        cipher = self._ciphers.get((algorithm, key_id))
        if cipher is None:
            raise DecryptionFailed(
                f"key {key_id!r} is not loaded; give it in ANJU_ENCRYPTION_OLD_KEYS"
            )
        return cipher.decrypt(place, text)

    def blind_index(self, place: str, value: Plain) -> str:
        """The digest exact-match search and `unique` compare: 64 hex characters."""
        return self._index.digest(place, to_text(value))

    def seal(self, place: str, value: Plain | None) -> Sealed:
        """A typed value (str, int, Decimal, date) as stored: ciphertext and blind index."""
        if value is None:
            return Sealed(None, None)
        text = to_text(value)
        return Sealed(self.encrypt(place, text), self._index.digest(place, text))

    def unseal(self, place: str, kind: str, text: str | None) -> Plain | None:
        """The typed value of a field of type `kind` from its stored ciphertext."""
        if text is None:
            return None
        return from_text(kind, self.decrypt(place, text))

    def is_current(self, text: str) -> bool:
        """Whether a ciphertext uses the current key and algorithm (else re-encrypt it)."""
        return header_of(text) == (self.algorithm, self.key_id)
