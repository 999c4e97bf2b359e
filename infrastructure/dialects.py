"""What the projection does differently on each backend: lock, bulk write, checks, sequences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.errors import ApplyError
from infrastructure import pg_constraints
from infrastructure.pg_constraints import Relaxed

PROJECTION_LOCK = 0x5052_4A54  # held by a projection's transaction: two never write at once


def quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


class SqliteWriter:
    """SQLite: ``BEGIN IMMEDIATE`` (set on the engine) is the lock; executemany writes."""

    mark = "?"
    checks_references_per_row = False  # under the restore's lock: foreign_key_check per table before the commit

    def lock_projection(self, conn: Connection) -> None:
        """The write lock is the database's own, taken by BEGIN IMMEDIATE."""

    def insert(self, conn: Connection, table: str, columns: list[str], rows: Sequence[Sequence[Any]]) -> None:
        names = ", ".join(quote(conn, c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        execute_many(conn, f"INSERT INTO {quote(conn, table)} ({names}) VALUES ({marks})", rows)

    def relax_references(self, conn: Connection, rows: dict[str, int], deleted: bool = False) -> list[Relaxed]:
        """Foreign keys are not enforced row by row under the restore's lock: nothing to relax."""
        return []

    def check_references(self, conn: Connection, tables: dict[str, str], relaxed: list[Relaxed]) -> None:
        for table in sorted(tables):
            problems = conn.exec_driver_sql(f"PRAGMA foreign_key_check({quote(conn, table)})").fetchall()
            if problems:
                table_, rowid, parent, _ = problems[0]
                raise ApplyError(
                    f"row {rowid} of {table_!r} references a missing row of {parent!r} "
                    f"({len(problems)} such references); the target transaction was rolled back"
                )

    def advance_sequences(self, conn: Connection, tables: dict[str, str]) -> None:
        """SQLite's AUTOINCREMENT follows MAX(rowid) on its own."""


class PostgresWriter:
    """PostgreSQL: an advisory lock, COPY, deferred constraints checked before commit, sequences."""

    mark = "%s"
    checks_references_per_row = True  # Django's deferred foreign keys: a trigger per row, unless relaxed

    def lock_projection(self, conn: Connection) -> None:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PROJECTION_LOCK})")

    def insert(self, conn: Connection, table: str, columns: list[str], rows: Sequence[Sequence[Any]]) -> None:
        names = ", ".join(quote(conn, c) for c in columns)
        cursor = _cursor(conn)
        try:
            with cursor.copy(f"COPY {quote(conn, table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except conn.dialect.loaded_dbapi.Error as error:
            raise ApplyError(f"the target refused rows of {table!r}: {_detail(error)}") from None
        finally:
            cursor.close()

    def relax_references(self, conn: Connection, rows: dict[str, int], deleted: bool = False) -> list[Relaxed]:
        """The foreign keys checked for tables that take (``deleted``: lose) many rows, dropped until
        ``check_references``."""
        return pg_constraints.relax(conn, rows, pg_constraints.INCOMING if deleted else pg_constraints.OUTGOING)

    def check_references(self, conn: Connection, tables: dict[str, str], relaxed: list[Relaxed]) -> None:
        """Django's FKs are DEFERRABLE INITIALLY DEFERRED: check them now, to name the offending row; then
        add back the ones ``relax_references`` dropped, each checked over its table in one query."""
        try:
            conn.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
            pg_constraints.restore(conn, relaxed)
        except sa.exc.DBAPIError as error:
            raise ApplyError(f"a reference of the restore does not hold: {_detail(error)}") from None

    def advance_sequences(self, conn: Connection, tables: dict[str, str]) -> None:
        """Leave every written table's sequence at or past MAX(pk), never behind it."""
        for table, pk in sorted(tables.items()):
            sequence = conn.exec_driver_sql("SELECT pg_get_serial_sequence(%s, %s)", (quote(conn, table), pk)).scalar()
            if sequence is None:
                continue
            conn.exec_driver_sql(
                f"SELECT setval(%s, GREATEST(m, s.last_value), true) FROM "
                f"(SELECT MAX({quote(conn, pk)}) AS m FROM {quote(conn, table)}) AS t, {sequence} AS s "
                "WHERE m IS NOT NULL",
                (sequence,),
            )


def _cursor(conn: Connection) -> Any:
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    return dbapi.cursor()


def _detail(error: BaseException) -> str:
    orig = getattr(error, "orig", error)
    diag = getattr(orig, "diag", None)
    detail = getattr(diag, "message_detail", None)
    primary = getattr(diag, "message_primary", None) or str(orig).splitlines()[0]
    return f"{primary} ({detail})" if detail else primary


def execute_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One executemany on the driver's cursor, inside the connection's transaction: no per-row work."""
    cursor = _cursor(conn)
    try:
        cursor.executemany(sql, rows)
    except conn.dialect.loaded_dbapi.Error as error:
        raise ApplyError(f"the target refused {sql.split('(')[0].strip()}: {_detail(error)}") from None
    finally:
        cursor.close()


def writer_for(dialect: str) -> SqliteWriter | PostgresWriter:
    return SqliteWriter() if dialect == "sqlite" else PostgresWriter()
