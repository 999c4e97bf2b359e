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


# PostgreSQL's foreign keys checked as each row is written: all but DEFERRABLE INITIALLY DEFERRED (Django's)
_IMMEDIATE = (
    "SELECT r.relname, a.attname FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid "
    "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) "
    "WHERE k.contype = 'f' AND NOT (k.condeferrable AND k.condeferred) AND pg_table_is_visible(r.oid)"
)


def immediate_references(engine: Engine) -> frozenset[str]:
    """The foreign keys ("table.column") the target checks as each row is written rather than at the
    commit. None on SQLite: the projection writes under the restore's lock, with no check per row, and
    runs foreign_key_check on every table it wrote before it commits."""
    if engine.dialect.name == "sqlite":
        return frozenset()
    with engine.connect() as conn:
        return frozenset(f"{table}.{column}" for table, column in conn.exec_driver_sql(_IMMEDIATE))
