"""What an apply wrote to a table, as pk ranges with a row count and a digest.

An apply reads its rows back, in its own transaction, and records per table the sorted
ranges of the pks it wrote (holding nothing else), the number of rows and the sha256 of
those rows. A rollback reads the same ranges with the same code: equal count and digest
prove the rows are as the apply left them, without reading the restore's row events, and
the rows are removed by range. Both sides read page by page: memory stays bounded by a page.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from infrastructure.target import quote

SPAN = 5000  # pk values per read: a page of rows when the pks are contiguous
PIECES = 50  # ranges per statement
RANGES_PER_EVENT = 2000  # keeps one ledger event (and a save) small
EXCLUDED_IN_SQL = 50  # up to this many own ranges are left out in SQL, beyond by bisection

_SPECIAL = frozenset({datetime, memoryview})


class PkRanges:
    """The pks written to one table, kept as ranges while they arrive (mostly in order)."""

    def __init__(self) -> None:
        self._ranges: list[list[int]] = []
        self.columns: list[str] = []

    def add(self, pk: int) -> None:
        ranges = self._ranges
        if ranges and pk == ranges[-1][1] + 1:
            ranges[-1][1] = pk
        else:
            ranges.append([pk, pk])

    def merged(self) -> list[list[int]]:
        """Sorted ranges, adjacent ones joined."""
        merged: list[list[int]] = []
        for lo, hi in sorted(self._ranges):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return merged


def pieces(ranges: Sequence[Sequence[int]]) -> Iterator[list[tuple[int, int]]]:
    """The ranges cut into groups of at most PIECES ranges spanning at most SPAN pk values each."""
    group: list[tuple[int, int]] = []
    width = 0
    for lo, hi in ranges:
        start = lo
        while start <= hi:
            end = min(hi, start + SPAN - 1 - width)
            group.append((start, end))
            width += end - start + 1
            start = end + 1
            if width >= SPAN or len(group) >= PIECES:
                yield group
                group, width = [], 0
    if group:
        yield group


def _where(conn: Connection, column: str, group: list[tuple[int, int]], mark: str) -> tuple[str, list[int]]:
    quoted = quote(conn, column)
    condition = " OR ".join(f"{quoted} BETWEEN {mark} AND {mark}" for _ in group)
    return f"({condition})", [value for piece in group for value in piece]


def _plain(value: Any) -> Any:
    """The value in a form that does not depend on the session: an instant in UTC, bytes as bytes."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo is not None else value.isoformat()
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _text(rows: list[Any]) -> str:
    """The rows as text: their repr, unless it shows an instant's time zone (the session's on
    PostgreSQL) or a buffer's address; those rows are written value by value in a plain form."""
    text = repr(rows)
    if "tzinfo=" in text or "<memory at" in text:
        text = repr([[_plain(v) if type(v) in _SPECIAL else v for v in row] for row in rows])
    return text


def _selected(conn: Connection, table: str, columns: list[str]) -> str:
    """The columns to read; on PostgreSQL an instant is read in UTC, not in the session's time zone,
    so that a page of rows is written as its repr (see ``_text``)."""
    instants: set[str] = set()
    if conn.dialect.name == "postgresql":
        for column in sa.inspect(conn).get_columns(table):
            kind = column["type"]
            if isinstance(kind, sa.DateTime) and kind.timezone:
                instants.add(column["name"])
    return ", ".join(f"({quote(conn, c)} AT TIME ZONE 'UTC')" if c in instants else quote(conn, c) for c in columns)


def digest(
    conn: Connection, mark: str, table: str, columns: list[str], ranges: Sequence[Sequence[int]]
) -> tuple[int, str]:
    """(rows, sha256) of ``columns`` of the rows of ``table`` whose pk (the first column) is in ``ranges``.

    Read a page at a time with the driver's own cursor, in the connection's transaction: the
    apply and its rollback read the same pages in the same way, so equal rows give equal text."""
    sha = hashlib.sha256()
    count = 0
    selected = _selected(conn, table, columns)
    cursor = conn.connection.cursor()
    try:
        for group in pieces(ranges):
            where, params = _where(conn, columns[0], group, mark)
            cursor.execute(
                f"SELECT {selected} FROM {quote(conn, table)} WHERE {where} ORDER BY {quote(conn, columns[0])}",
                tuple(params),
            )
            rows = [tuple(row) for row in cursor.fetchall()]
            count += len(rows)
            sha.update(_text(rows).encode())
    finally:
        cursor.close()
    return count, sha.hexdigest()


def references_into(
    conn: Connection,
    mark: str,
    referencing: str,
    column: str,
    referencing_pk: str,
    ranges: Sequence[Sequence[int]],
    own: Sequence[Sequence[int]],
) -> Iterator[tuple[Any, Any]]:
    """(value, pk) of rows of ``referencing`` whose ``column`` is in ``ranges`` and whose pk is not in ``own``."""
    exclude, params_out = "", list[int]()
    if own and len(own) <= EXCLUDED_IN_SQL:
        where, params_out = _where(conn, referencing_pk, [(lo, hi) for lo, hi in own], mark)
        exclude = f" AND NOT {where}"
    starts = [lo for lo, _ in own]
    for group in pieces(ranges):
        where, params = _where(conn, column, group, mark)
        sql = (
            f"SELECT {quote(conn, column)}, {quote(conn, referencing_pk)} FROM {quote(conn, referencing)} "
            f"WHERE {where}{exclude}"
        )
        for value, pk in conn.exec_driver_sql(sql, tuple(params + params_out)):
            if not exclude and own and _within(starts, own, pk):
                continue
            yield value, pk


def _within(starts: list[int], ranges: Sequence[Sequence[int]], pk: Any) -> bool:
    at = bisect.bisect_right(starts, pk) - 1
    return at >= 0 and ranges[at][0] <= pk <= ranges[at][1]


def delete(conn: Connection, mark: str, table: str, pk: str, ranges: Sequence[Sequence[int]]) -> int:
    """Delete the rows of ``table`` in ``ranges``; the number deleted."""
    deleted = 0
    for group in pieces(ranges):
        where, params = _where(conn, pk, group, mark)
        deleted += conn.exec_driver_sql(f"DELETE FROM {quote(conn, table)} WHERE {where}", tuple(params)).rowcount
    return deleted
