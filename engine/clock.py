"""The platform's clock: timers, job schedules and flow expressions ask it for the time, so
tests and demos can move time forward instead of waiting for a publicity period to pass."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


class Clock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock(Clock):
    """A clock that stands still until moved: `advance(days=8)` ends a 7-day publicity."""

    moment: datetime
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self) -> datetime:
        with self._lock:
            return self.moment

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self.moment += timedelta(**delta)
            return self.moment

    def set(self, moment: datetime) -> None:
        with self._lock:
            self.moment = moment
