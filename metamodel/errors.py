"""Definition errors that name the file, the line and the path inside the definition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DefinitionError:
    """One problem in a definition: `entities/contract.yaml:12: fields.rent.min: expected …`."""

    file: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None  # within an expression, with `excerpt` showing it
    excerpt: str | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text}\n{self.excerpt}" if self.excerpt else text

    def as_json(self) -> dict[str, object]:
        found: dict[str, object] = {
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
        }
        if self.column is not None:
            found |= {"column": self.column, "excerpt": self.excerpt}
        return found


class DefinitionsInvalid(Exception):
    """Raised with every error found, so a configurator can fix them all in one pass."""

    def __init__(self, errors: list[DefinitionError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.line or 0, e.path))
        super().__init__("\n".join(str(e) for e in self.errors))


def join_path(parts: tuple[object, ...] | list[object]) -> str:
    """Render a path like `fields.rent.options[2].value`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
