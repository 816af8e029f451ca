"""Password policies: `mlps3` (the default, for 等保三级) and `asvs` (OWASP ASVS 4, V2.1).

| rule | mlps3 | asvs |
|---|---|---|
| length | 8–128 characters | 12–128 characters |
| composition | an upper-case letter, a lower-case letter, a digit and a symbol | none |
| not the username | yes | yes |
| not a common password (`common_passwords.txt`) | yes | yes |
| not a recent password | not one of the last 5 | not the current one |
| maximum age | 90 days, then it must be changed | none |

Every unmet rule is reported at once, each with a stable `rule` code a client can translate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from engine.auth.passwords import verify_password
from engine.errors import ValidationFailed
from engine.settings import Settings

COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


@dataclass(frozen=True)
class PasswordPolicy:
    """The rules a new password must meet, and how long a password stays valid."""

    name: str
    min_length: int
    max_length: int = 128
    composition: bool = False  # an upper, a lower, a digit and a symbol
    history: int = 1  # how many recent passwords (the current one included) may not return
    max_age_days: int | None = None

    def unmet_rules(self, password: str, username: str | None) -> list[tuple[str, str]]:
        """(rule, message) for every rule `password` breaks, apart from the history rule."""
        unmet = []
        if len(password) < self.min_length:
            unmet.append(("min_length", f"must be at least {self.min_length} characters long"))
        if len(password) > self.max_length:
            unmet.append(("max_length", f"must be at most {self.max_length} characters long"))
        if self.composition:
            unmet.extend((rule, message) for rule, message, test in CLASSES if not test(password))
        if username and password.casefold() == username.casefold():
            unmet.append(("username", "must not be the username"))
        if password.casefold() in common_passwords():
            unmet.append(("common", "is one of the most commonly used passwords"))
        return unmet

    def expires_at(self, changed_at: datetime) -> datetime | None:
        """When a password set at `changed_at` must be changed (None: never)."""
        return None if self.max_age_days is None else changed_at + timedelta(self.max_age_days)


CLASSES = (
    ("uppercase", "must contain an upper-case letter", lambda p: any(c.isupper() for c in p)),
    ("lowercase", "must contain a lower-case letter", lambda p: any(c.islower() for c in p)),
    ("digit", "must contain a digit", lambda p: any(c.isdigit() for c in p)),
    ("symbol", "must contain a symbol such as ! # % or a space", lambda p: _has_symbol(p)),
)
POLICIES = {
    "mlps3": PasswordPolicy("mlps3", min_length=8, composition=True, history=5, max_age_days=90),
    "asvs": PasswordPolicy("asvs", min_length=12),
}


def _has_symbol(password: str) -> bool:
    return any(not c.isalnum() for c in password)


def policy_for(settings: Settings) -> PasswordPolicy:
    try:
        return POLICIES[settings.password_policy]
    except KeyError:
        known = ", ".join(POLICIES)
        raise ValueError(
            f"ANJU_PASSWORD_POLICY is {settings.password_policy!r}; expected one of {known}"
        ) from None


@cache
def common_passwords() -> frozenset[str]:
    """The vendored list, case-folded; read once per process (it never changes)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line and line[0] != "#")


def check_new_password(
    policy: PasswordPolicy,
    hasher: PasswordHasher,
    password: str,
    username: str | None,
    recent_hashes: Iterable[str] = (),
    path: str = "password",
) -> None:
    """Refuse `password` with a 422 listing every rule it breaks (`recent_hashes`: newest
    first, the current password's hash included)."""
    details: list[dict[str, Any]] = [
        {"path": path, "rule": rule, "message": message}
        for rule, message in policy.unmet_rules(password, username)
    ]
    recent = list(recent_hashes)[: policy.history]
    if recent and any(verify_password(hasher, h, password) for h in recent):
        message = (
            f"must not be one of the last {policy.history} passwords"
            if policy.history > 1
            else "must differ from the current password"
        )
        details.append({"path": path, "rule": "history", "message": message})
    if details:
        raise ValidationFailed("the password does not meet the password policy", details)
