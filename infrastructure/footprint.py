"""What an apply wrote to a table, as pk ranges with a row count and a digest.

An apply records per table the sorted ranges of the pks it wrote (holding nothing else), the
number of rows and the sha256 of those rows: read back in its own transaction (form "read":
PostgreSQL, and every apply before RowsDigested version 2), or made as the rows were written
(form "written", SQLite: infrastructure/row_hashes.py). A rollback deletes the same ranges page
by page and digests the deleted rows in the same pass, in the same way: equal count and digest
prove the rows were as the apply left them, without reading the restore's row events. Both
sides work page by page: memory stays bounded by a page.
A table whose pk is several columns (a composite pk) has no ranges: its footprint is the key
tuples written, read back, then read and removed a page of keys at a time.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from infrastructure import row_hashes, table_keys
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


class KeyTuples:
    """The keys written to a table whose pk is several columns (a composite pk), in the order written."""

    def __init__(self, positions: list[int]) -> None:
        self.positions = positions  # of the key columns in the rows written
        self.keys: list[list[Any]] = []
        self.columns: list[str] = []

    def add(self, row: Sequence[Any]) -> bool:
        """Keep the row's key; False for a key that is not plain JSON (bytes, an interval), kept by no event."""
        key = [row[i] for i in self.positions]
        self.keys.append(key)
        return all(type(value) in _PLAIN for value in key)


_PLAIN = frozenset({int, str, float})


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


# The settings that shape PostgreSQL's text of a row, pinned while it hashes rows (then put back).
PINNED = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "bytea_output": "hex",
    "extra_float_digits": "1",
}


def digest(
    conn: Connection, mark: str, table: str, columns: list[str], ranges: Sequence[Sequence[int]]
) -> tuple[int, str]:
    """(rows, sha256) of ``columns`` of the rows of ``table`` whose pk (the first column) is in ``ranges``.

    A page at a time, in the connection's transaction: the apply and its rollback read the same
    pages in the same way, so equal rows give equal digests. PostgreSQL hashes each page itself
    (the text of its rows, settings pinned); on SQLite the driver's rows are hashed here."""
    if conn.dialect.name == "postgresql":
        return _digest_in_postgres(conn, table, columns, ranges)
    sha = hashlib.sha256()
    count = 0
    selected = ", ".join(quote(conn, c) for c in columns)
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


def _digest_in_postgres(
    conn: Connection, table: str, columns: list[str], ranges: Sequence[Sequence[int]]
) -> tuple[int, str]:
    return _hashed_pages(conn, table, columns, ranges, delete=False)


def _hashed_pages(
    conn: Connection, table: str, columns: list[str], ranges: Sequence[Sequence[int]], delete: bool
) -> tuple[int, str]:
    """(rows, sha256) of the rows in ``ranges``, hashed on the server page by page; with ``delete``,
    each page is deleted and hashed in one statement."""
    sha = hashlib.sha256()
    count = 0
    pk = quote(conn, columns[0])
    selected = ", ".join(quote(conn, c) for c in columns)
    aggregate = (
        f"count(*), encode(sha256(convert_to(string_agg(ROW({selected})::text, E'\\n' ORDER BY {pk}), 'UTF8')), 'hex')"
    )
    cursor: Any = conn.connection.cursor()
    try:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in PINNED))
        previous = dict(zip(PINNED, cursor.fetchone(), strict=True))
        _settings(cursor, PINNED)
        for group in pieces(ranges):
            where, params = _where(conn, columns[0], group, "%s")
            if delete:
                sql = (
                    f"WITH gone AS (DELETE FROM {quote(conn, table)} WHERE {where} RETURNING {selected}) "
                    f"SELECT {aggregate} FROM gone"
                )
            else:
                sql = f"SELECT {aggregate} FROM {quote(conn, table)} WHERE {where}"
            cursor.execute(sql, tuple(params))
            rows, page = cursor.fetchone()
            count += rows
            sha.update(f"{rows}:{page or ''}\n".encode())
        _settings(cursor, previous)
    finally:
        cursor.close()
    return count, sha.hexdigest()


def _settings(cursor: Any, settings: dict[str, str]) -> None:
    """Set these for the rest of the transaction (as SET LOCAL)."""
    cursor.execute(
        "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in settings),
        tuple(value for pair in settings.items() for value in pair),
    )


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


def references_by_key(
    conn: Connection, mark: str, referencing: str, column: str, key: list[str], ranges: Sequence[Sequence[int]]
) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """(value, key tuple) of rows of ``referencing`` (a composite-pk table) whose ``column`` is in ``ranges``."""
    selected = ", ".join(quote(conn, c) for c in [column, *key])
    for group in pieces(ranges):
        where, params = _where(conn, column, group, mark)
        for value, *parts in conn.exec_driver_sql(
            f"SELECT {selected} FROM {quote(conn, referencing)} WHERE {where}", tuple(params)
        ):
            yield value, tuple(parts)


def _within(starts: list[int], ranges: Sequence[Sequence[int]], pk: Any) -> bool:
    at = bisect.bisect_right(starts, pk) - 1
    return at >= 0 and ranges[at][0] <= pk <= ranges[at][1]


def delete_digested(conn: Connection, mark: str, digested: Any, delete: bool = True) -> tuple[int, str]:
    """Delete the rows of a RowsDigested event's ranges, digesting them in the same pass as its
    apply did: (rows, sha256), to compare with the event's. Page by page, each page read and deleted
    together (on PostgreSQL in one statement, hashed on the server), where a check of every table
    then a delete read each row twice; the caller undoes the deletes (a savepoint) when they differ.
    Without ``delete`` the rows are only digested (a table the caller empties at once)."""
    table, columns, ranges = digested.table, digested.columns, digested.ranges
    if conn.dialect.name == "postgresql":
        if digested.form != "read":
            return -1, ""  # not a form an apply on PostgreSQL makes: compared row by row
        return _hashed_pages(conn, table, columns, ranges, delete=delete)
    written = digested.form == "written"
    fixed = row_hashes.fixes(digested.kinds) if written else []
    sha = hashlib.sha256()
    count = 0
    for group in pieces(ranges):
        rows = _take(conn, mark, table, columns, group, delete)
        rows.sort(key=_first)
        count += len(rows)
        if written:
            sha.update(row_hashes.hashes(rows, fixed))
        else:
            sha.update(_text(rows).encode())
    return count, sha.hexdigest()


def digest_part(conn: Connection, mark: str, d: Any, keys: list[str], delete: bool) -> tuple[int, str]:
    """Digest what a RowsDigested event ``d`` names, deleting it in the same pass with ``delete``: (rows,
    sha256). A composite pk's rows (``keys``: the pk's columns) are digested by their key tuples, then
    deleted by them."""
    if len(keys) > 1:
        found = digest_keys(conn, mark, d.table, d.columns, keys, d.ranges)
        if delete:
            table_keys.delete_by_keys(conn, mark, d.table, keys, d.ranges)
        return found
    return delete_digested(conn, mark, d, delete)


def read(conn: Connection, mark: str, table: str, columns: list[str], pks: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``table`` whose pk is in ``pks`` (``columns``, the pk first), page by page by ranges."""
    ranges = PkRanges()
    for pk in sorted(pks):
        ranges.add(pk)
    selected = ", ".join(quote(conn, c) for c in columns)
    cursor = conn.connection.cursor()
    try:
        for group in pieces(ranges.merged()):
            where, params = _where(conn, columns[0], group, mark)
            cursor.execute(f"SELECT {selected} FROM {quote(conn, table)} WHERE {where}", tuple(params))
            yield from cursor.fetchall()
    finally:
        cursor.close()


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]


def _take(
    conn: Connection, mark: str, table: str, columns: list[str], group: list[tuple[int, int]], delete: bool
) -> list[tuple[Any, ...]]:
    """Read then delete a page of rows of a SQLite table; the rows, in no particular order.

    Not ``DELETE ... RETURNING``: SQLite keeps the rows it returns aside until the delete is done,
    which costs more than reading the page just before deleting it, while it is in the cache
    (100,000 objects: 2.0 s of CPU against 1.75 s, the delete alone 1.1 s)."""
    where, params = _where(conn, columns[0], group, mark)
    selected = ", ".join(quote(conn, c) for c in columns)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"SELECT {selected} FROM {quote(conn, table)} WHERE {where}", tuple(params))
        rows = [tuple(row) for row in cursor.fetchall()]
        if delete:
            cursor.execute(f"DELETE FROM {quote(conn, table)} WHERE {where}", tuple(params))
        return rows
    finally:
        cursor.close()


def delete(conn: Connection, mark: str, table: str, pk: str, ranges: Sequence[Sequence[int]]) -> int:
    """Delete the rows of ``table`` in ``ranges``; the number deleted."""
    deleted = 0
    for group in pieces(ranges):
        where, params = _where(conn, pk, group, mark)
        deleted += conn.exec_driver_sql(f"DELETE FROM {quote(conn, table)} WHERE {where}", tuple(params)).rowcount
    return deleted


def digest_keys(
    conn: Connection, mark: str, table: str, columns: list[str], key: list[str], keys: Sequence[Sequence[Any]]
) -> tuple[int, str]:
    """(rows, sha256) of ``columns`` of the rows of ``table`` whose ``key`` columns hold one of ``keys``: the
    footprint of a composite-pk table, read as ``digest`` reads pk ranges (a page of keys at a time, in order)."""
    sha = hashlib.sha256()
    count = 0
    order = ", ".join(quote(conn, c) for c in key)
    pg = conn.dialect.name == "postgresql"
    selected = ", ".join(quote(conn, c) for c in columns)
    if pg:
        text = f"string_agg(ROW({selected})::text, E'\\n' ORDER BY {order})"
        selected = f"count(*), encode(sha256(convert_to({text}, 'UTF8')), 'hex')"
    cursor: Any = conn.connection.cursor()
    try:
        if pg:
            cursor.execute("SELECT " + ", ".join(f"current_setting('{name}')" for name in PINNED))
            previous = dict(zip(PINNED, cursor.fetchone(), strict=True))
            _settings(cursor, PINNED)
        for start in range(0, len(keys), table_keys.CHUNK):
            chunk = keys[start : start + table_keys.CHUNK]
            where = table_keys.where_keys(conn, key, len(chunk), mark)
            params = tuple(value for one in chunk for value in one)
            if pg:
                cursor.execute(f"SELECT {selected} FROM {quote(conn, table)} WHERE {where}", params)
                rows, page = cursor.fetchone()
                count += rows
                sha.update(f"{rows}:{page or ''}\n".encode())
            else:
                cursor.execute(f"SELECT {selected} FROM {quote(conn, table)} WHERE {where} ORDER BY {order}", params)
                found = [tuple(row) for row in cursor.fetchall()]
                count += len(found)
                sha.update(_text(found).encode())
        if pg:
            _settings(cursor, previous)
    finally:
        cursor.close()
    return count, sha.hexdigest()
