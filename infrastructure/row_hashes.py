"""Row hashes of SQLite's stored form, made as an apply writes the rows (RowsDigested form "written").

An apply hashes each row as it sends it to SQLite, instead of reading the table back; a rollback
hashes each row it deletes (``DELETE ... RETURNING``) in the same way. Both hash one canonical
form: the values SQLite stores. SQLite keeps what the driver sends, except by a column's type
affinity: a boolean is stored as 0 or 1, a decimal's text as a number (``12.50`` as ``12.5``), an
integer in a REAL column as a float. Those kinds are put in one form on both sides (``fixes``):
two values with the same form are equal as the row-by-row comparison (``same_value``) sees
them, so a digest that matches never hides a change that comparison would name. A value stored
otherwise than foreseen only makes the digests differ: the rollback then compares row by row.

A table's digest is the sha256 of its rows' hashes in pk order, whatever order they were written
or deleted in. The apply keeps 24 bytes a row (pk and hash) until it records the digests.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.profile import Kind

SIZE = 16  # bytes of one row's hash
Fix = tuple[int, Callable[[Any], Any]]


def _boolean(value: Any) -> Any:
    return int(value) if type(value) is bool else value


def _decimal(value: Any) -> Any:
    """A decimal's text or number as its normalized text: 12.50, 12.5 and 12.500 are one value."""
    if value is None or type(value) is bool:
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value
    return format(number.normalize(), "f") if number.is_finite() else value


def _float(value: Any) -> Any:
    return float(value) if type(value) is int and -(2**53) <= value <= 2**53 else value


FIXES: dict[str, Callable[[Any], Any]] = {
    Kind.BOOLEAN.value: _boolean,
    Kind.DECIMAL.value: _decimal,
    Kind.FLOAT.value: _float,
}


def fixes(kinds: Sequence[str]) -> list[Fix]:
    """The columns whose stored form may differ from the value sent, with what puts both in one form."""
    return [(i, FIXES[kind]) for i, kind in enumerate(kinds) if kind in FIXES]


def hashes(rows: Iterable[Sequence[Any]], fixed: list[Fix]) -> Iterator[bytes]:
    """One hash per row: of the repr of its values (fixed), which tells 1, 1.0, '1' and b'1' apart."""
    blake2b = hashlib.blake2b
    for row in rows:
        values = list(row)
        for i, fix in fixed:
            values[i] = fix(values[i])
        yield blake2b(repr(values).encode("utf-8", "surrogatepass"), digest_size=SIZE).digest()


class RowHashes:
    """The pks written to one table and their rows' hashes, in the order written."""

    def __init__(self, columns: list[str], kinds: list[str]) -> None:
        self.columns = columns
        self.kinds = kinds
        self.fixed = fixes(kinds)
        self.pks = array("q")
        self.hashes = bytearray()
        self.ordered = True

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        pks = self.pks
        if self.ordered and rows and pks and rows[0][0] <= pks[-1]:
            self.ordered = False
        pks.extend(row[0] for row in rows)
        if self.ordered and any(rows[i][0] >= rows[i + 1][0] for i in range(len(rows) - 1)):
            self.ordered = False
        for digest in hashes(rows, self.fixed):
            self.hashes += digest

    def replace(self, rows: Sequence[Sequence[Any]]) -> None:
        """Hash these rows again as they are now (read back after a later UPDATE of the apply)."""
        wanted = {row[0] for row in rows}
        pks = self.pks
        if self.ordered:
            found = ((pk, bisect.bisect_left(pks, pk)) for pk in wanted)
            at = {pk: i for pk, i in found if i < len(pks) and pks[i] == pk}
        else:
            at = {pk: i for i, pk in enumerate(pks) if pk in wanted}
        for row, digest in zip(rows, hashes(rows, self.fixed), strict=True):
            i = at.get(row[0], -1)
            if i >= 0:  # a row this apply wrote
                self.hashes[i * SIZE : (i + 1) * SIZE] = digest

    def digests(self, parts: Sequence[Sequence[Sequence[int]]]) -> Iterator[tuple[int, str]]:
        """(rows, sha256) of each part, a list of sorted ranges that together hold exactly the pks written."""
        order = None if self.ordered else sorted(range(len(self.pks)), key=self.pks.__getitem__)
        view = memoryview(self.hashes)
        start = 0
        for part in parts:
            count = sum(hi - lo + 1 for lo, hi in part)
            sha = hashlib.sha256()
            if order is None:
                sha.update(view[start * SIZE : (start + count) * SIZE])
            else:
                for i in order[start : start + count]:
                    sha.update(view[i * SIZE : (i + 1) * SIZE])
            start += count
            yield count, sha.hexdigest()
