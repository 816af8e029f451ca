from __future__ import annotations

from pathlib import Path

from metamodel.schema_export import render_schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schema"


def test_published_json_schemas_match_the_models() -> None:
    """docs/schema is what editors validate against; it must not drift from the models."""
    for name, text in render_schemas().items():
        assert (DOCS / name).read_text(encoding="utf-8") == text, (
            f"docs/schema/{name} is stale: run python -m metamodel.schema_export docs/schema"
        )
