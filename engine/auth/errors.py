"""Authentication errors with codes of their own, so clients can tell the user what to do."""

from __future__ import annotations

from engine.errors import Forbidden, Unauthorized

BAD_CREDENTIALS = "wrong username or password"


class BadCredentials(Unauthorized):
    """One message for an unknown user, a wrong password and a disabled account."""

    def __init__(self) -> None:
        super().__init__(BAD_CREDENTIALS)


class AccountLocked(Forbidden):
    """Too many failed logins: wait until the lock ends, or ask an administrator to unlock."""

    code = "account_locked"


class PasswordExpired(Forbidden):
    """The password is right but must be changed (`POST /api/auth/password`) before use."""

    code = "password_expired"


class CsrfFailed(Forbidden):
    """A cookie-authenticated change without the session's CSRF token."""

    code = "csrf_failed"
