"""Sensitive fields in expressions: only Python closures can read them, never SQL.

Sensitive values are ciphertext in the database, so contexts that run as SQL (virtual fields,
filters, permission scopes, the organisation expression, and aggregates everywhere) refuse
them with the column of the mistake; rules, computed fields, defaults and forms read them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalog import compile_catalog
from engine.expressions import (
    ExpressionContext,
    ExpressionError,
    NotExpressible,
    Scope,
    SqlContext,
    compile_expression,
)
from engine.expressions.definitions import load_definitions
from engine.expressions.scope import COMPUTED, DEFAULT, FILTER, FORM, ORG, RULE, SCOPE, VIRTUAL
from metamodel.definitions import Definitions
from metamodel.errors import DefinitionsInvalid
from metamodel.loader import read_folder
from tests.definitions import APP, Folder, entity, estate, write_folder
from tests.engine.expressions.support import FUNCTIONS, environment


def sensitive_folder() -> Folder:
    """The estate folder with `unit.id_number`, `building.code` and `inspection.score`
    sensitive."""
    folder = estate()
    entity(folder, "unit")["fields"]["id_number"] = {
        "type": "string",
        "sensitive": True,
        "mask": "6*4",
    }
    building = entity(folder, "building")
    building["fields"]["code"]["sensitive"] = True
    building["search_fields"] = ["name"]
    entity(folder, "inspection")["fields"]["score"] = {"type": "integer", "sensitive": True}
    return folder


@pytest.fixture(scope="module")
def definitions(tmp_path_factory: pytest.TempPathFactory) -> Definitions:
    root = write_folder(tmp_path_factory.mktemp("sensitive"), sensitive_folder())
    return load_definitions(read_folder(root))


def scope(definitions: Definitions, context: ExpressionContext) -> Scope:
    return Scope(definitions, APP, definitions.apps[APP].entities["unit"], context)


def message(name: str) -> str:
    return (
        f"`{name}` is sensitive (encrypted at rest); only expressions run in Python, "
        "such as rules and computed fields, can read it"
    )


@pytest.mark.parametrize(
    ("source", "context", "name", "column"),
    [
        ("id_number == '110105199001011234'", FILTER, "id_number", 1),
        ("id_number != null", SCOPE, "id_number", 1),
        ("len(id_number) > 3", VIRTUAL, "id_number", 5),
        ("id_number", ORG, "id_number", 1),
        ("building.code == 'B-1'", SCOPE, "code", 10),
        ("floor > 1 and building.code == 'B-1'", FILTER, "code", 24),
        # aggregates run in SQL whatever the context: their field and their `where`
        ("count(inspection where score > 3) > 0", RULE, "score", 24),
        ("sum(inspection.score)", COMPUTED, "score", 16),
        ("max(inspection.score)", RULE, "score", 16),
    ],
)
def test_expressions_run_as_sql_cannot_read_a_sensitive_field(
    definitions: Definitions, source: str, context: ExpressionContext, name: str, column: int
) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, scope(definitions, context), FUNCTIONS)

    assert (caught.value.message, caught.value.column) == (message(name), column)


@pytest.mark.parametrize(
    ("source", "context"),
    [
        ("id_number == '110105199001011234'", RULE),
        ("substr(id_number, 7, 8)", COMPUTED),
        ("building.code == 'B-1'", RULE),
        ("id_number != null", FORM),
        ("concat(building.code, '-', code)", DEFAULT),
        ("count(inspection where remark == 'ok') > 0", RULE),
    ],
)
def test_expressions_run_in_python_read_sensitive_fields(
    definitions: Definitions, source: str, context: ExpressionContext
) -> None:
    compile_expression(source, scope(definitions, context), FUNCTIONS)


def test_definitions_with_a_virtual_field_reading_a_sensitive_one_do_not_load(
    tmp_path: Path,
) -> None:
    folder = sensitive_folder()
    entity(folder, "unit")["fields"]["id_length"] = {
        "type": "integer",
        "computed": "len(id_number)",
        "virtual": True,
    }

    with pytest.raises(DefinitionsInvalid) as invalid:
        load_definitions(read_folder(write_folder(tmp_path, folder)))

    [error] = invalid.value.errors
    assert error.path == "fields.id_length.computed"
    assert error.message == f"{message('id_number')} (column 5)"


@pytest.mark.parametrize("source", ["id_number == 'x'", "building.code == 'B-1'"])
def test_sql_of_a_rule_reading_a_sensitive_field_is_refused(
    definitions: Definitions, source: str
) -> None:
    """The dry run checks new rules in SQL; over ciphertext it must say it cannot."""
    catalog = compile_catalog(1, definitions)
    expression = compile_expression(source, scope(definitions, RULE), FUNCTIONS)
    context = SqlContext("sqlite", catalog.table_of, environment())

    with pytest.raises(NotExpressible, match="is sensitive"):
        expression.sql_condition(catalog.table_of("estate.unit"), context)
