"""Masking a sensitive value for a role without the `unmask` right.

A field's `mask` pattern `N*M` keeps the first N and the last M characters of text and
replaces the rest with `*`, one per character: `6*4` shows `110105199001011234` as
`110105********1234`, `3*4` shows `13812345678` as `138****5678`. A value too short for its
pattern (N + M ≥ its length) shows at most half of its characters, shared between the two
ends as N and M are. Text without a pattern, numbers and dates show as `****`.
"""

from __future__ import annotations

from typing import Any

HIDDEN = "****"


def mask_value(value: Any, pattern: str | None) -> str | None:
    """`value` as a role without `unmask` sees it; None stays None.

    >>> mask_value("13812345678", "3*4")
    '138****5678'
    """
    if value is None:
        return None
    if not isinstance(value, str) or pattern is None:
        return HIDDEN
    first, last = parse_pattern(pattern)
    length = len(value)
    if first + last >= length:
        first, last = _shortened(first, last, length // 2)
    hidden = length - first - last
    return value[:first] + "*" * hidden + (value[length - last :] if last else "")


def parse_pattern(pattern: str) -> tuple[int, int]:
    """`"6*4"` → (6, 4)."""
    first, _, last = pattern.partition("*")
    return int(first), int(last)


def _shortened(first: int, last: int, budget: int) -> tuple[int, int]:
    """Share `budget` shown characters between the two ends in the pattern's proportion."""
    if first + last == 0:
        return 0, 0
    total = first + last
    kept_first = (budget * first + total // 2) // total  # rounded to the nearer end
    return kept_first, budget - kept_first if last else 0
