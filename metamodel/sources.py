"""Parsing YAML and JSON text while remembering the line of every key, for error messages."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import yaml

from metamodel.errors import DefinitionError, DefinitionsInvalid, join_path

Path = tuple[Any, ...]


class SourceText:
    """Parsed definition text: the data, plus the line on which each path starts."""

    def __init__(self, data: Any, lines: dict[Path, int]) -> None:
        self.data = data
        self.lines = lines

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def parse_text(text: str, file: str) -> SourceText:
    """Parse YAML (JSON is YAML too, but gets its own clearer errors); raise with file and line."""
    if file.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _invalid(file, exc.lineno, f"malformed JSON: {exc.msg}") from None
        return SourceText(data, _json_lines(text, file))
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise _invalid(file, line, f"malformed YAML: {exc.problem}") from None
    if node is None:
        return SourceText({}, {})
    lines: dict[Path, int] = {}
    errors: list[DefinitionError] = []
    data = _construct(node, (), lines, errors, file)
    if errors:
        raise DefinitionsInvalid(errors)
    return SourceText(data, lines)


def _json_lines(text: str, file: str) -> dict[Path, int]:
    """Lines of JSON keys, and duplicate keys that `json` would silently overwrite, read
    through the YAML parser (JSON is YAML's flow style)."""
    lines: dict[Path, int] = {}
    errors: list[DefinitionError] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if node is not None:
        _construct(node, (), lines, errors, file)
    if errors:
        raise DefinitionsInvalid(errors)
    return lines


def _construct(
    node: yaml.Node, path: Path, lines: dict[Path, int], errors: list[DefinitionError], file: str
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if not isinstance(key, str):
                errors.append(
                    DefinitionError(
                        file,
                        join_path(path + (str(key_node.value),)),
                        f"the key {key_node.value} reads as {key!r}, not as text; quote it"
                        f" ('{key_node.value}')",
                        key_node.start_mark.line + 1,
                    )
                )
                key = str(key_node.value)
            if key in out:
                errors.append(
                    DefinitionError(
                        file,
                        join_path(path + (key,)),
                        "duplicate key",
                        key_node.start_mark.line + 1,
                    )
                )
            out[key] = _construct(value_node, path + (key,), lines, errors, file)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, path + (i,), lines, errors, file) for i, item in enumerate(node.value)
        ]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    """A plain value; dates become ISO strings so definitions stay JSON data."""
    value = _SCALARS.construct_object(node, deep=True)
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _invalid(file: str, line: int | None, message: str) -> DefinitionsInvalid:
    return DefinitionsInvalid([DefinitionError(file, "", message, line)])


_SCALARS = yaml.SafeLoader("")
