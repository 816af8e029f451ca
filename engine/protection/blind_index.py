"""A keyed blind index: an HMAC of a normalised value, so encrypted fields keep exact-match search.

Equal values (after normalising) give equal digests, which is what lets the database find
`id_number = '110105199001011234'` and enforce `unique` without seeing the value. It reveals
which rows share a value, and nothing more: without the key a digest cannot be recomputed
from a guessed value. The place (`app.entity.field`) is hashed in, so one person's ID number
gives unrelated digests in two fields.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

SPACES = re.compile(r"\s+")
DIGEST_LENGTH = 64  # hex characters of a SHA-256 digest


def normalise(text: str) -> str:
    """The form values are compared in: full-width folded (NFKC), spaces removed, upper-case.

    >>> normalise(" 11010519900101123x ")
    '11010519900101123X'
    """
    return SPACES.sub("", unicodedata.normalize("NFKC", text)).upper()


class BlindIndex:
    """HMAC-SHA256 with the blind index key over place and normalised value, as hex."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def digest(self, place: str, text: str) -> str:
        message = f"{place}\x00{normalise(text)}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
