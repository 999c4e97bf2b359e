"""Fresh example targets and ledgers for bench.run: SQLite files, or PostgreSQL databases made here."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.edms import build_example_target

PG_SERVER = os.environ.get("RESTORE_LEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


class Targets:
    """Targets of one backend and size, all in one folder (SQLite) or named after it (PostgreSQL)."""

    def __init__(self, backend: str, work: Path) -> None:
        self.backend = backend
        self.work = work
        self.made: list[str] = []

    def _database(self, name: str) -> str:
        database = f"bench_{name}_{os.getpid()}"
        pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {database}")
        self.made.append(database)
        return f"{PG_SERVER}/{database}"

    def fresh(self, name: str, reinitialised: bool = False) -> str:
        """An example target built by examples/edms/build_target.py: empty, or re-initialised."""
        if self.backend == "sqlite":
            self.work.mkdir(parents=True, exist_ok=True)
            path = self.work / f"{name}.sqlite3"
            path.unlink(missing_ok=True)
            build_example_target(str(path), reinitialised)
            return str(path)
        url = self._database(name)
        build_example_target(url, reinitialised)
        return url

    def ledger(self, name: str) -> str:
        """A new ledger on the target's backend."""
        if self.backend == "sqlite":
            self.work.mkdir(parents=True, exist_ok=True)
            path = self.work / f"ledger-{name}.sqlite3"
            path.unlink(missing_ok=True)
            return str(path)
        return self._database(f"ledger_{name}")

    def drop(self) -> None:
        if self.backend == "sqlite":
            shutil.rmtree(self.work, ignore_errors=True)
        for database in self.made:
            pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        self.made.clear()
