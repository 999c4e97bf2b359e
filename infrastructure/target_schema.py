"""What a target's schema holds, for checking a backup's profile against it: tables with
their columns, and the migrations Django recorded as applied."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def table_columns(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        return {table: {c["name"] for c in inspector.get_columns(table)} for table in inspector.get_table_names()}


def applied_migrations(engine: Engine) -> dict[str, set[str]]:
    """``django_migrations`` by app; empty when the target has no such table or no rows in it."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("django_migrations"):
            return {}
        applied: dict[str, set[str]] = {}
        for app, name in conn.execute(sa.text("SELECT app, name FROM django_migrations")):
            applied.setdefault(str(app), set()).add(str(name))
        return applied


def table_rows(engine: Engine, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """Every row of one table, the given columns in order (one table at a time: compare's unit)."""
    with engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote
        select = ", ".join(quote(c) for c in columns)
        return [tuple(row) for row in conn.exec_driver_sql(f"SELECT {select} FROM {quote(table)}")]
