"""Where the ledger lives: a ledger URL turned into eventsourcing persistence settings."""

from __future__ import annotations

import os
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from domain.errors import RestoreError
from infrastructure.urls import parse_url

DEFAULT_LEDGER = "restore-ledger.sqlite3"
COMPRESSOR = "infrastructure.ledger_codec:ZstdCompressor"
TRANSCODER = "infrastructure.ledger_codec:RowsTranscoder"
CIPHER = "eventsourcing.cryptography:AESCipher"
SQLITE_RECORDER = "infrastructure.ledger_chain:ChainedSQLiteRecorder"
POSTGRES_RECORDER = "infrastructure.ledger_chain:ChainedPostgresRecorder"
MEMORY_FACTORY = "infrastructure.ledger_memory:MemoryFactory"
KEY_VARIABLE = "RESTORE_LEDGER_CIPHER_KEY"
KEY_FILE_VARIABLE = "RESTORE_LEDGER_CIPHER_KEY_FILE"


class LedgerSettingsError(RestoreError):
    stage = "ledger"


class LedgerUsageError(RestoreError):
    """The ledger named cannot be used as named: a usage error (exit 2); nothing was written."""

    stage = "configuration"


class LedgerMissingError(LedgerUsageError):
    """No ledger where one is named; nothing was created."""


def ledger_exists(url: str) -> bool:
    try:
        ledger_env(url, create=False)
    except LedgerMissingError:
        return False
    return True


def ledger_location(url: str) -> str:
    """The ledger's URL as recorded: a SQLite path made absolute, a password hidden."""
    if url == "memory:":
        return url
    parsed = make_url(url if "://" in url else f"sqlite:///{url}")
    if parsed.drivername == "sqlite":
        return str(Path(parsed.database or "").resolve())
    return parsed.render_as_string(hide_password=True)


@contextmanager
def ledger_settings(url: str, create: bool = False) -> Iterator[dict[str, str]]:
    """``ledger_env``, held while the application is made: a PostgreSQL ledger that may be created is
    created under an advisory lock, and its tables only when missing, so that commands opening one
    ledger at the same moment queue instead of failing on each other's DDL ("tuple concurrently updated")."""
    env = ledger_env(url, create)
    if not create or env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        yield env
        return
    where = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
    key = _creation_lock(env)
    table = f"{env['POSTGRES_SCHEMA']}.restoreledger_events"
    try:
        conn = _postgres(env)
    except psycopg.Error as error:
        raise LedgerSettingsError(f"the PostgreSQL ledger at {where} cannot be opened: {error}") from None
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        found = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    except psycopg.Error as error:
        conn.close()
        raise LedgerSettingsError(f"the PostgreSQL ledger at {where} cannot be opened: {error}") from None
    try:
        yield env | {"CREATE_TABLE": "n" if found and found[0] else "y"}
    finally:
        conn.close()  # releases the lock


def ledger_env(url: str, create: bool = False) -> dict[str, str]:
    """Settings for ``eventsourcing``: a SQLite file (path or sqlite:///), PostgreSQL, or memory.

    A PostgreSQL ledger gets its own schema (``?schema=``, default ``restore_ledger``), created
    when missing. Unless ``create``, the ledger must exist: reading never creates or migrates one.
    """
    if url == "memory:":
        return {"PERSISTENCE_MODULE": MEMORY_FACTORY}
    if "://" not in url:
        url = f"sqlite:///{url}"
    parsed = parse_url(url, "ledger")
    if parsed.drivername == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise LedgerSettingsError("a SQLite ledger needs a file path: sqlite:///path/to/ledger.sqlite3")
        if create:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            _write_ahead_log(parsed.database)
        else:
            _check_sqlite_ledger(Path(parsed.database))
        return {
            "CREATE_TABLE": "y" if create else "n",
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER,
            "SQLITE_DBNAME": parsed.database,
            "SQLITE_LOCK_TIMEOUT": "30",
            "COMPRESSOR_TOPIC": COMPRESSOR,
            "TRANSCODER_TOPIC": TRANSCODER,
        } | _cipher()
    if parsed.drivername.startswith("postgres"):
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": POSTGRES_RECORDER,
            "POSTGRES_DBNAME": parsed.database or "",
            "POSTGRES_HOST": parsed.host or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": parsed.username or "",
            "POSTGRES_PASSWORD": parsed.password or "",
            "POSTGRES_SCHEMA": str(parsed.query.get("schema", "restore_ledger")),
            "CREATE_TABLE": "y" if create else "n",
            "COMPRESSOR_TOPIC": COMPRESSOR,
            "TRANSCODER_TOPIC": TRANSCODER,
        }
        if create:
            _create_schema(env)
        else:
            _check_postgres_ledger(env)
        return env | _cipher()
    raise LedgerSettingsError(f"ledger URL scheme {parsed.drivername!r} is not supported (sqlite, postgresql)")


def _check_sqlite_ledger(path: Path) -> None:
    if not path.is_file():
        raise LedgerMissingError(f"there is no ledger at {str(path.resolve())!r}: check --ledger")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            found = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'stored_events'").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise LedgerSettingsError(f"the SQLite ledger {str(path)!r} cannot be opened: {error}") from None
    if found is None:
        raise LedgerMissingError(f"{str(path.resolve())!r} is not a restore-ledger ledger: check --ledger")


def _check_postgres_ledger(env: dict[str, str]) -> None:
    where = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
    table = f"{env['POSTGRES_SCHEMA']}.restoreledger_events"
    try:
        with _postgres(env) as conn:
            found = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    except psycopg.Error as error:
        raise LedgerSettingsError(f"the PostgreSQL ledger at {where} cannot be opened: {error}") from None
    if found is None or found[0] is None:
        raise LedgerMissingError(f"there is no ledger at {where} (schema {env['POSTGRES_SCHEMA']}): check --ledger")


def _postgres(env: dict[str, str]) -> psycopg.Connection[Any]:
    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"] or None,
        autocommit=True,
        connect_timeout=10,
    )


def _cipher() -> dict[str, str]:
    """Event state encrypted at rest (AES-GCM, the library's cipher) when a key is given: base64 of
    16, 24 or 32 bytes in ``RESTORE_LEDGER_CIPHER_KEY``, or in the file ``RESTORE_LEDGER_CIPHER_KEY_FILE``."""
    key = os.environ.get(KEY_VARIABLE)
    key_file = os.environ.get(KEY_FILE_VARIABLE)
    if key and key_file:
        raise LedgerSettingsError(f"give the ledger key once: {KEY_VARIABLE} or {KEY_FILE_VARIABLE}, not both")
    if key_file:
        try:
            key = Path(key_file).read_text().strip()
        except OSError as error:
            raise LedgerSettingsError(f"the ledger key file {key_file!r} cannot be read: {error.strerror}") from None
    if not key:
        return {}
    return {"CIPHER_TOPIC": CIPHER, "CIPHER_KEY": key}


def _create_schema(env: dict[str, str]) -> None:
    """The ledger's own schema in PostgreSQL, created when missing (eventsourcing creates its tables)."""
    from psycopg import sql

    try:
        with _postgres(env) as conn, conn.transaction():  # under the lock: IF NOT EXISTS races another creator
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_creation_lock(env),))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(env["POSTGRES_SCHEMA"])))
    except psycopg.Error as error:
        where = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
        raise LedgerSettingsError(f"the PostgreSQL ledger at {where} cannot be opened: {error}") from None


def _creation_lock(env: dict[str, str]) -> int:
    """The advisory lock key under which a PostgreSQL ledger's schema and tables are created."""
    return zlib.crc32(f"restore-ledger:{env['POSTGRES_SCHEMA']}".encode())


def _write_ahead_log(path: str) -> None:
    """Put a SQLite ledger in WAL mode once, waiting for other processes: two commands opening a new
    ledger at the same moment must not fail on eventsourcing's own, unwaiting, switch to WAL."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as error:  # locked, or a file that is no SQLite database
        raise LedgerSettingsError(f"the SQLite ledger {path!r} cannot be opened: {error}") from None
    finally:
        connection.close()
