"""Schema migration on publish, under the project's rule that warnings are errors."""

from __future__ import annotations

from engine.runtime import Runtime
from engine.schema_migration import kept_column_name
from tests.definitions import entity, estate, write_folder


def test_kept_columns_are_named_by_reason_field_and_version() -> None:
    assert kept_column_name("notes", 2, "removed") == "_removed_notes__v2"
    assert kept_column_name("code", 5, "old") == "_old_code__v5"


def test_publishing_an_added_field_raises_no_deprecation_warning(runtime: Runtime) -> None:
    # pyproject turns warnings into errors; SQLAlchemy deprecates Column.copy().
    folder = estate()
    entity(folder, "unit")["fields"]["deposit"] = {"type": "decimal"}
    write_folder(runtime.settings.apps_config, folder)

    result = runtime.publish_folder(author="ada", message="deposit")

    assert "estate__unit: added column deposit" in result.log.steps
