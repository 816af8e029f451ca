"""What the benchmarks share about their demo database."""

from __future__ import annotations

import sqlalchemy as sa


def units_loaded() -> int:
    """How many housing units the database of the settings holds already (0 when it is new)."""
    from engine.database import create_database_engine
    from engine.settings import Settings

    engine = create_database_engine(Settings())
    try:
        with engine.connect() as conn:
            table = sa.table("housing_stock__housing_unit")
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
    except sa.exc.DBAPIError:
        return 0
    finally:
        engine.dispose()
