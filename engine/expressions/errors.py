"""Expression errors that point at the column of the mistake with a caret line."""

from __future__ import annotations


class ExpressionError(Exception):
    """A mistake in an expression: a message, and where in the source it is (0-based offsets).

    >>> str(ExpressionError("unknown field 'sise'", "household.sise >= 3", 10, 14))
    "column 11: unknown field 'sise'\\n    household.sise >= 3\\n              ^^^^"
    """

    def __init__(self, message: str, source: str, start: int, end: int | None = None) -> None:
        self.message = message
        self.source = source
        self.start = max(0, min(start, len(source)))
        self.end = max(self.start + 1, end if end is not None else self.start + 1)
        super().__init__(str(self))

    @property
    def line(self) -> int:
        """1-based line within the expression."""
        return self.source.count("\n", 0, self.start) + 1

    @property
    def column(self) -> int:
        """1-based column within the expression's line."""
        return self.start - (self.source.rfind("\n", 0, self.start) + 1) + 1

    @property
    def excerpt(self) -> str:
        """The line of the mistake and a caret line under it."""
        line_start = self.source.rfind("\n", 0, self.start) + 1
        line_end = self.source.find("\n", self.start)
        text = self.source[line_start : line_end if line_end != -1 else len(self.source)]
        width = max(1, min(self.end, line_start + len(text)) - self.start)
        return f"    {text}\n    {' ' * (self.column - 1)}{'^' * width}"

    def __str__(self) -> str:
        where = (
            f"column {self.column}" if self.line == 1 else f"line {self.line} column {self.column}"
        )
        return f"{where}: {self.message}\n{self.excerpt}"
