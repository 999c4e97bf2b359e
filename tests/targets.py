"""Example targets on SQLite files and on throwaway PostgreSQL databases, behind one interface."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psycopg

from tests.edms import EDMS, build_example_target, build_target

PG_SERVER = os.environ.get("RESTORE_LEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PG_SCHEMA = EDMS / "schema" / "postgresql.sql"
OWN_TABLES = ("restore_ledger_target", "restore_ledger_tracking", "restore_ledger_applied")
SKIP = {*OWN_TABLES, "sqlite_sequence"}


class Target(Protocol):
    url: str
    dialect: str
    django: str

    def data(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every application table (not restore-ledger's own), sorted."""

    def snapshot(self) -> Any:
        """Everything the target holds: equal snapshots mean an untouched target."""

    def foreign_key_problems(self) -> list[Any]: ...

    def count(self, table: str) -> int: ...

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a query, every value as text (UUIDs without dashes), whatever the backend."""


@dataclass
class SqliteTarget:
    path: Path
    dialect: str = "sqlite"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    @property
    def django(self) -> str:
        return str(self.path)

    def snapshot(self) -> Any:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def foreign_key_problems(self) -> list[Any]:
        with sqlite3.connect(self.path) as db:
            return db.execute("PRAGMA foreign_key_check").fetchall()

    def count(self, table: str) -> int:
        with sqlite3.connect(self.path) as db:
            return int(db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])

    def data(self) -> dict[str, list[tuple[Any, ...]]]:
        tables = [t for (t,) in self.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
        return {t: sorted(self.query(f'SELECT * FROM "{t}"'), key=repr) for t in tables if t not in SKIP}

    def copy(self, path: Path) -> SqliteTarget:
        shutil.copyfile(self.path, path)
        return SqliteTarget(path)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path) as db:
            return [tuple(_text(v) for v in row) for row in db.execute(sql).fetchall()]

    def execute(self, sql: str) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute(sql)
        db.close()


def pg_available() -> bool:
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def pg_admin(sql: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def create_pg_template() -> str:
    name = f"rl_template_{os.getpid()}"
    pg_admin(f"DROP DATABASE IF EXISTS {name}")
    pg_admin(f"CREATE DATABASE {name}")
    with psycopg.connect(f"{PG_SERVER}/{name}") as conn:
        conn.execute(PG_SCHEMA.read_text())  # type: ignore[arg-type]
    return name


@dataclass
class PostgresTarget:
    name: str
    dialect: str = "postgresql"

    def copy(self) -> PostgresTarget:
        return PostgresTarget.create(self.name)

    @classmethod
    def create(cls, template: str) -> PostgresTarget:
        name = f"rl_{uuid.uuid4().hex[:12]}"
        pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        return cls(name)

    def drop(self) -> None:
        pg_admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    @property
    def url(self) -> str:
        return f"{PG_SERVER}/{self.name}"

    @property
    def django(self) -> str:
        return self.url

    def snapshot(self) -> Any:
        """Every row of every table, and every sequence's position."""
        with psycopg.connect(self.url) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
                )
            ]
            rows = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}  # type: ignore[arg-type]
            sequences = conn.execute("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1").fetchall()
        return rows, sequences

    def foreign_key_problems(self) -> list[Any]:
        """PostgreSQL enforces FKs; a deferred one left broken could not have committed."""
        return []

    def sequences_behind(self) -> list[str]:
        """Tables whose next generated pk would collide with a row: none may be, ever."""
        behind = []
        with psycopg.connect(self.url) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND column_name = 'id' AND is_identity = 'YES'"
            ).fetchall()
            for (table,) in tables:
                quoted = f'"{table}"'
                [(sequence,)] = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (quoted,)).fetchall()
                [(maximum,)] = conn.execute(f"SELECT MAX(id) FROM {quoted}").fetchall()  # type: ignore[arg-type]
                [(position, called)] = conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchall()  # type: ignore[arg-type]
                next_id = position + 1 if called else position
                if maximum is not None and next_id <= maximum:
                    behind.append(f"{table}: next id {next_id}, max id {maximum}")
        return behind

    def count(self, table: str) -> int:
        with psycopg.connect(self.url) as conn:
            found = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()  # type: ignore[arg-type]
            return int(found[0]) if found else 0

    def data(self) -> dict[str, list[tuple[Any, ...]]]:
        tables = [
            t
            for (t,) in self.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
            )
        ]
        return {t: sorted(self.query(f'SELECT * FROM "{t}"'), key=repr) for t in tables if t not in SKIP}

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return [tuple(_text(v) for v in row) for row in conn.execute(sql).fetchall()]  # type: ignore[arg-type]

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.url) as conn:
            conn.execute(sql)  # type: ignore[arg-type]


def _text(value: Any) -> Any:
    """One text form for a value read from either backend."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        return value.replace("-", "")
    if value is None or isinstance(value, int | str):
        return value
    return str(value)


def sqlite_target(path: Path, reinitialised: bool = False) -> SqliteTarget:
    if reinitialised:
        build_example_target(str(path), reinitialised=True)
        return SqliteTarget(path)
    return SqliteTarget(build_target(path))


def create_pg_reinitialised_template() -> str:
    name = f"rl_reinit_{os.getpid()}"
    pg_admin(f"DROP DATABASE IF EXISTS {name}")
    pg_admin(f"CREATE DATABASE {name}")
    build_example_target(f"{PG_SERVER}/{name}", reinitialised=True)
    return name
