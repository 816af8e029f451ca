"""Writing the JSON Schema of every kind of definition to `docs/schema/<kind>.schema.json`.

python -m metamodel.schema_export docs/schema
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from metamodel.kinds import KIND_MODELS
from metamodel.loader import json_schema


def render_schemas() -> dict[str, str]:
    """File name → JSON text, for every kind."""
    return {
        f"{kind}.schema.json": json.dumps(json_schema(kind), ensure_ascii=False, indent=2) + "\n"
        for kind in KIND_MODELS
    }


def export_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in export_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schema")):
        print(path)
