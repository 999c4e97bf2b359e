"""A SQLite rollback's proof that the tables it empties at once hold exactly the restored rows, read by
two processes at once, on both cores.

A rollback of a SQLite restore reads and hashes every restored row, to compare with the digests its apply
recorded, before it removes any (infrastructure/footprint.py): at 1,000,000 objects most of the rollback.
Where the tables are emptied at once that reading writes nothing, so it is split: a forked child hashes
about half of the rows on a read-only connection of its own while this process hashes the rest. It reads
what this process would: this process holds the database's write lock (no other connection writes) and
has written nothing yet (checked: its connection's ``total_changes`` is 0, else everything is read here).
"""

from __future__ import annotations

import pickle
import signal
import sqlite3
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.errors import ApplyError
from infrastructure import footprint
from infrastructure.forked import forked

MIN_ROWS = 20_000  # rows to hash, below which a fork costs about what it saves
Result = tuple[int, str]  # (rows, sha256)


def digest_parts(conn: Connection, parts: Sequence[Any], key_columns: Callable[[str], list[str]]) -> list[Result]:
    """The digest of each of ``parts`` (RowsDigested parts of the tables a rollback empties at once), in their
    order; two processes read them when there are enough rows and ``conn`` has written nothing."""
    keys = {d.table: key_columns(d.table) for d in parts}
    path = _database_file(conn)
    # rows this connection changed since it opened (SQLite counts them per connection); unknown: assume some
    written: int = getattr(conn.connection.dbapi_connection, "total_changes", 1)
    if sum(d.count for d in parts) < MIN_ROWS or path is None or written:
        return [_digest(conn, d, keys) for d in parts]
    mine, theirs = _halves(parts)
    with forked(_digest_in_child, (path, [parts[i] for i in theirs], keys), "restore-ledger-digests") as (child, pipe):
        results: dict[int, Result] = {i: _digest(conn, parts[i], keys) for i in mine}
        results.update(zip(theirs, _received(pipe, child), strict=True))
    return [results[i] for i in range(len(parts))]


def _digest(conn: Connection, d: Any, keys: dict[str, list[str]]) -> Result:
    """A part's digest as the rollback reads it, nothing deleted."""
    return footprint.digest_part(conn, "?", d, keys[d.table], delete=False)


def _database_file(conn: Connection) -> str | None:
    """The main database's file, or None (an in-memory or temporary database)."""
    for _seq, name, file in conn.exec_driver_sql("PRAGMA database_list").fetchall():
        if name == "main":
            return str(file) or None
    return None


def _halves(parts: Sequence[Any]) -> tuple[list[int], list[int]]:
    """The parts' positions in two sets of about as many rows, the largest parts placed first."""
    halves: tuple[list[int], list[int]] = ([], [])
    rows = [0, 0]
    for i in sorted(range(len(parts)), key=lambda i: -parts[i].count):
        side = 0 if rows[0] <= rows[1] else 1
        halves[side].append(i)
        rows[side] += parts[i].count
    return halves[0], halves[1]


def _received(receiving: Pipe, child: Any) -> list[Result]:
    try:
        kind, body = pickle.loads(receiving.recv_bytes())
    except EOFError:
        child.join()
        raise ApplyError(
            f"the process reading the restored rows stopped (exit code {child.exitcode}); nothing was rolled back"
        ) from None
    if kind == "failed":
        raise ApplyError(f"the restored rows could not be read: {body}; nothing was rolled back")
    results: list[Result] = body
    return results


def _digest_in_child(path: str, parts: list[Any], keys: dict[str, list[str]], sending: Pipe) -> None:
    """In the child: the parts' digests on a read-only connection of its own, in one read transaction."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops this child
    uri = Path(path).as_uri() + "?mode=ro"
    engine = sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            driver = conn.connection.dbapi_connection
            assert driver is not None
            driver.isolation_level = None
            driver.execute("PRAGMA busy_timeout = 30000")
            driver.execute("BEGIN")
            results = [_digest(conn, d, keys) for d in parts]
            driver.execute("ROLLBACK")
        message: tuple[str, Any] = ("digests", results)
    except sqlite3.Error as error:
        message = ("failed", str(error))
    try:
        sending.send_bytes(pickle.dumps(message))
    except BrokenPipeError:
        return  # the rollback stopped (killed, or interrupted): nobody waits for these digests
    sending.close()
