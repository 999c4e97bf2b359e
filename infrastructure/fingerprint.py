"""What makes a database itself, found after connecting, never from the URL's text.

SQLite: the file's resolved path, device and inode (``cp`` makes a new inode, so a copy differs
even where it carries the same rows and the same target id). PostgreSQL: the cluster's system
identifier, the database's OID and its name (``CREATE DATABASE ... TEMPLATE`` and
``pg_restore`` make a new OID; ``localhost`` and ``127.0.0.1`` reach the same cluster).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import Connection

from domain.errors import RestoreError
from infrastructure.urls import parse_url


class FingerprintError(RestoreError):
    stage = "target"


def of_file(path: str | Path) -> dict[str, Any]:
    resolved = Path(path).resolve()
    found = os.stat(resolved)
    return {"kind": "sqlite", "path": str(resolved), "device": found.st_dev, "inode": found.st_ino}


def _of_postgres(execute: Any) -> dict[str, Any]:
    system = execute("SELECT system_identifier FROM pg_control_system()")
    oid, name = execute("SELECT oid, datname FROM pg_database WHERE datname = current_database()", many=True)
    return {"kind": "postgresql", "system_identifier": str(system), "oid": int(oid), "database": str(name)}


def fingerprint(conn: Connection) -> dict[str, Any]:
    """The fingerprint of the database ``conn`` is connected to."""
    if conn.dialect.name == "sqlite":
        return of_file(conn.engine.url.database or "")

    def execute(sql: str, many: bool = False) -> Any:
        row = conn.exec_driver_sql(sql).one()
        return tuple(row) if many else row[0]

    return _of_postgres(execute)


def of_url(url: str) -> dict[str, Any] | None:
    """The fingerprint of the database at a ledger URL or path; None where there is none yet."""
    if url == "memory:":
        return None
    parsed = parse_url(url if "://" in url else f"sqlite:///{url}", "ledger")
    if parsed.drivername == "sqlite":
        path = Path(parsed.database or "")
        return of_file(path) if path.is_file() else None
    if not parsed.drivername.startswith("postgres"):
        return None
    try:
        with psycopg.connect(
            dbname=parsed.database or "",
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "",
            password=parsed.password or None,
            connect_timeout=10,
        ) as conn:

            def execute(sql: str, many: bool = False) -> Any:
                row = conn.execute(sql).fetchone()
                assert row is not None
                return tuple(row) if many else row[0]

            return _of_postgres(execute)
    except psycopg.Error as error:
        where = f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"
        raise FingerprintError(f"the PostgreSQL database at {where} cannot be opened: {error}") from None
