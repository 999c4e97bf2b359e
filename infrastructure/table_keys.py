"""Rows by their primary key when that key is several columns (Django 5.2 ``CompositePrimaryKey``).

A row of such a table is named by the tuple of its key columns' values; statements find rows by
``(a = ? AND b = ?) OR ...``, which SQLite and PostgreSQL both plan as lookups of the key's index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

CHUNK = 200  # keys per statement


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def pk_columns(conn: Connection) -> dict[str, list[str]]:
    """Every table's primary key columns, in key order (one query on PostgreSQL)."""
    found = sa.inspect(conn).get_multi_pk_constraint()
    return {table: list(pk["constrained_columns"]) for (_schema, table), pk in found.items()}


def where_keys(conn: Connection, columns: Sequence[str], count: int, mark: str) -> str:
    """The condition that finds ``count`` rows by their key ``columns`` (one mark per column per row)."""
    one = "(" + " AND ".join(f"{_quote(conn, c)} = {mark}" for c in columns) + ")"
    return " OR ".join(one for _ in range(count))


def select_by_keys(
    conn: Connection, mark: str, table: str, columns: Sequence[str], keys: Sequence[Sequence[Any]], extra: str = ""
) -> list[Any]:
    """The key columns (then ``extra``, a SQL list starting with a comma) of the rows whose key is in ``keys``."""
    found: list[Any] = []
    selected = ", ".join(_quote(conn, c) for c in columns)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        sql = f"SELECT {selected}{extra} FROM {_quote(conn, table)} WHERE {where_keys(conn, columns, len(chunk), mark)}"
        found += conn.exec_driver_sql(sql, tuple(value for key in chunk for value in key)).fetchall()
    return found


def delete_by_keys(
    conn: Connection, mark: str, table: str, columns: Sequence[str], keys: Sequence[Sequence[Any]]
) -> int:
    """Delete the rows whose key is in ``keys``; the number deleted."""
    deleted = 0
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        sql = f"DELETE FROM {_quote(conn, table)} WHERE {where_keys(conn, columns, len(chunk), mark)}"
        deleted += conn.exec_driver_sql(sql, tuple(value for key in chunk for value in key)).rowcount
    return deleted
