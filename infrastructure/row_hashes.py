"""Row hashes of SQLite's stored form, made as an apply writes the rows (RowsDigested form "written").

An apply hashes each row as it sends it to SQLite, instead of reading the table back; a rollback
hashes each row it deletes, read just before, in the same way. Both hash one canonical
form: the values SQLite stores, as marshal writes them. SQLite keeps what the driver sends, except by a column's type
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
import functools
import hashlib
import itertools
import marshal
import operator
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.profile import Kind

SIZE = 16  # bytes of one row's hash
Fix = tuple[int, Callable[[Any], Any]]


def _boolean(value: Any) -> Any:
    return int(value) if type(value) is bool else value


_PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


_DIGITS = 28  # Decimal's default context precision, which normalize() rounds to
_PRECISE = 10**_DIGITS


def _decimal(value: Any) -> Any:
    """A decimal's text or number as its normalized text: 12.50, 12.5 and 12.500 are one value.
    The common forms (an integer, a float without exponent, plain text) without Decimal."""
    kind = type(value)
    if kind is int and -_PRECISE < value < _PRECISE:
        return str(value)
    if kind is float:
        text = repr(value)
        if "e" not in text and "n" not in text:  # not 1e+16, inf, nan
            return text[:-2] if text.endswith(".0") else text
    elif kind is str and len(value) <= _DIGITS and _PLAIN_DECIMAL.fullmatch(value):
        return value.rstrip("0").rstrip(".") if "." in value else value
    return _normalized(value)  # more digits than Decimal's context keeps: rounded as it rounds them


def _normalized(value: Any) -> Any:
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


_hasher = functools.partial(hashlib.blake2b, digest_size=SIZE)
_digest = operator.methodcaller("digest")
_values = operator.itemgetter(slice(1, None))  # a row's marshal without its type code: a list's and a tuple's alike


def hashes(rows: Sequence[Sequence[Any]], fixed: list[Fix]) -> bytes:
    """The rows' hashes, one after the other: of each row's values (fixed) as marshal's version 2
    writes them, which tells 1, 1.0, '1', b'1' and True apart, and never refers back to an earlier
    object. A list of lists has its fixed columns changed in place (the caller is done with them).
    All in C but the fixes, which touch only their own columns."""
    if fixed:
        if rows and type(rows[0]) is not list:
            rows = list(map(list, rows))
        for i, fix in fixed:
            for row in rows:
                row[i] = fix(row[i])  # type: ignore[index]
    dumped = map(marshal.dumps, rows, itertools.repeat(2))  # type: ignore[arg-type]
    return b"".join(map(_digest, map(_hasher, map(_values, dumped))))


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
        """Hash a batch of rows as written (lists: their fixed columns are changed in place)."""
        pks = self.pks
        if self.ordered and rows and pks and rows[0][0] <= pks[-1]:
            self.ordered = False
        start = len(pks)
        pks.extend(row[0] for row in rows)
        if self.ordered and any(pks[i] >= pks[i + 1] for i in range(start, len(pks) - 1)):
            self.ordered = False
        self.hashes += hashes(rows, self.fixed)

    def replace(self, rows: Sequence[Sequence[Any]]) -> None:
        """Hash these rows again as they are now (read back after a later UPDATE of the apply)."""
        wanted = {row[0] for row in rows}
        pks = self.pks
        if self.ordered:
            found = ((pk, bisect.bisect_left(pks, pk)) for pk in wanted)
            at = {pk: i for pk, i in found if i < len(pks) and pks[i] == pk}
        else:
            at = {pk: i for i, pk in enumerate(pks) if pk in wanted}
        pks_read = [row[0] for row in rows]
        digests = hashes(rows, self.fixed)
        for n, pk in enumerate(pks_read):
            i = at.get(pk, -1)
            if i >= 0:  # a row this apply wrote
                self.hashes[i * SIZE : (i + 1) * SIZE] = digests[n * SIZE : (n + 1) * SIZE]

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
