"""Reading fixture bytes within limits: linear time, memory bounded by the limits, never by the input.

Every fixture pass goes through a ``Scanner`` before the JSON parser sees a byte: it tracks, at
C speed per block (``bytes.replace``/``split``/``translate``), whether the bytes are inside a
string, the nesting depth and the length of the open string, and finds lone UTF-16 surrogate
escapes (which the parser would silently store as ``?``). Only a block that breaks a rule is
walked byte by byte, to find where, so that the refusal names the record and the field.

JSON arrays are parsed by ijson's push interface, in blocks that grow with the record being read:
yajl re-scans an unfinished token for each block it is given, so fixed blocks make one long string
quadratic; growing blocks keep it linear.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from itertools import accumulate
from typing import Any

import ijson

from domain.errors import BackupError

MIB = 1 << 20
BLOCK = MIB
PARSE_BLOCK = 64 * 1024  # what ijson parses at once: its C backend builds a whole block's items before
# yielding the first, so a large block costs time and memory (1 MiB blocks: 20 % slower per pass)
RATIO_FLOOR = 16 * MIB  # a backup may expand to this much whatever its ratio: small files compress well


@dataclass(frozen=True)
class Limits:
    """What one backup may hold; each has a CLI option and an environment variable to raise it."""

    max_depth: int = 64
    max_record_bytes: int = 128 * MIB
    max_string_bytes: int = 64 * MIB
    max_total_bytes: int = 16 << 30
    max_ratio: int = 200
    max_records: int = 10_000_000
    max_files: int = 1_000_000

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Limits:
        known = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in (data or {}).items() if k in known})


def option_of(limit: str) -> str:
    """``max_depth`` -> ``--max-depth (or RESTORE_LEDGER_MAX_DEPTH)``: how the user raises it."""
    return f"--{limit.replace('_', '-')} (or RESTORE_LEDGER_{limit.upper()})"


def exceeded(limit: str, what: str, value: int, record: str | None = None) -> BackupError:
    return BackupError(f"{what} exceeds the limit of {value:,} ({option_of(limit)} raises it)", record)


class Budget:
    """Bytes one pass decompressed, against the total and the ratio to the backup's size on disk."""

    def __init__(self, limits: Limits, size_on_disk: int) -> None:
        self.limits = limits
        self.total = 0
        self.ratio_cap = max(limits.max_ratio * size_on_disk, RATIO_FLOOR)

    def add(self, count: int, record: str) -> None:
        self.total += count
        if self.total > self.limits.max_total_bytes:
            raise exceeded("max_total_bytes", "the decompressed backup", self.limits.max_total_bytes, record)
        if self.total > self.ratio_cap:
            raise exceeded(
                "max_ratio", "the ratio of decompressed bytes to the backup's size", self.limits.max_ratio, record
            )


class Digesting(io.RawIOBase):
    """A raw stream that hashes what is read through it; ``finish`` reads the rest and gives the sha256."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.sha256.update(data)
        return len(data)

    def finish(self) -> str:
        while chunk := self.raw.read(BLOCK):
            self.sha256.update(chunk)
        return self.sha256.hexdigest()

    def close(self) -> None:
        self.raw.close()
        super().close()


_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_STRING = re.compile(rb'"[^"]*"')
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_LOW = re.compile(rb"[dD][c-fC-F][0-9a-fA-F]{2}")
_HIGH = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}")
_OUTSIDE = re.compile(rb'[\[\]{}":]')
_INSIDE = re.compile(rb'["\\]')


@dataclass
class Problem:
    offset: int  # where in the block; bytes before it are fine
    message: str
    key: str | None


class Scanner:
    """Tracks strings, depth and string length across blocks; ``feed`` returns the first problem."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.in_string = False
        self.depth = 0
        self.open_length = 0

    def feed(self, block: bytes) -> Problem | None:
        limits = self.limits
        cleaned = block.replace(b"\\\\", b"").replace(b'\\"', b"")  # escapes gone: every quote delimits
        quotes = cleaned.count(b'"')
        ends_inside = self.in_string != (quotes % 2 == 1)
        # only brackets and quotes, then the strings taken out: what is left is the structure
        structure = (b'"' if self.in_string else b"") + cleaned.translate(None, _NOT_STRUCTURE)
        if ends_inside:
            structure = structure[: structure.rfind(b'"')]
        structure = _STRING.sub(b"", structure.replace(b'""', b""))
        opens = structure.count(b"[") + structure.count(b"{")
        deepest = self.depth + opens
        if deepest > limits.max_depth:  # the exact deepest point: a running sum of +1 and -1, in C
            deepest = max(accumulate(array("b", structure.translate(_STEPS)), initial=self.depth))
        suspicious = (
            deepest > limits.max_depth
            or (
                (self.open_length if self.in_string else 0) + len(cleaned) > limits.max_string_bytes
                and self._longest(cleaned) > limits.max_string_bytes
            )
            or (b"\\u" in cleaned and _SURROGATE.search(cleaned) is not None and _LONE.search(cleaned) is not None)
        )
        if suspicious:
            found = self._walk(block)
            if found is not None:
                return found
        self.depth += opens - (len(structure) - opens)
        if ends_inside:
            last = cleaned.rfind(b'"')
            self.open_length = self.open_length + len(cleaned) if last < 0 else len(cleaned) - last - 1
        self.in_string = ends_inside
        return None

    def _longest(self, cleaned: bytes) -> int:
        parts = cleaned.split(b'"')
        if self.in_string:
            return max(self.open_length + len(parts[0]), max(map(len, parts[2::2]), default=0))
        return max(map(len, parts[1::2]), default=0)

    def _walk(self, block: bytes) -> Problem | None:
        """Byte by byte from the state at the block's start: where exactly a rule is broken."""
        limits = self.limits
        in_string, depth, length = self.in_string, self.depth, self.open_length
        string_start, last_string, key = 0, b"", None
        position = 0
        while position < len(block):
            if in_string:
                match = _INSIDE.search(block, position)
                end = match.start() if match else len(block)
                if length + end - position > limits.max_string_bytes:
                    return Problem(string_start, _too_long(limits), key)
                length += end - position
                if match is None:
                    break
                if block[end] == ord('"'):
                    in_string, last_string, position = False, block[string_start + 1 : end], end + 1
                    continue
                step = _escape_length(block, end)
                if step == 0:
                    return Problem(string_start, f"holds a lone UTF-16 surrogate (\\u{_hex(block, end)})", key)
                length += step
                position = end + step
                continue
            match = _OUTSIDE.search(block, position)
            if match is None:
                break
            char = block[match.start()]
            position = match.end()
            if char == ord('"'):
                in_string, length, string_start = True, 0, match.start()
            elif char == ord(":"):
                key = last_string.decode("utf-8", "replace")
            elif char in b"[{":
                depth += 1
                if depth > limits.max_depth:
                    return Problem(match.start(), _too_deep(limits), None)
            else:
                depth -= 1
        return None


def _hex(block: bytes, at: int) -> str:
    return block[at + 2 : at + 6].decode("ascii", "replace")


def _escape_length(block: bytes, at: int) -> int:
    """Bytes of the escape at ``at``: 2, 6 or 12 for a surrogate pair; 0 for a lone surrogate."""
    if block[at + 1 : at + 2] != b"u":
        return 2
    try:
        code = int(block[at + 2 : at + 6], 16)
    except ValueError:
        return 2  # not an escape the parser accepts: it says so itself
    if 0xDC00 <= code <= 0xDFFF:
        return 0
    if 0xD800 <= code <= 0xDBFF:
        follower = block[at + 6 : at + 12]
        if follower[:2] == b"\\u" and _LOW.fullmatch(follower[2:]):
            return 12
        return 0
    return 6


def _too_long(limits: Limits) -> str:
    return (
        f"holds a string longer than the limit of {limits.max_string_bytes:,} bytes "
        f"({option_of('max_string_bytes')} raises it)"
    )


def _too_deep(limits: Limits) -> str:
    return f"nests deeper than the limit of {limits.max_depth} levels ({option_of('max_depth')} raises it)"


def _cut(block: bytes) -> tuple[bytes, bytes]:
    """Split off a tail that starts an escape, so that no escape (or surrogate pair) spans two blocks."""
    tail = block.find(b"\\", max(0, len(block) - 12))
    if tail < 0:
        return block, b""
    start = _run_start(block, tail)
    if _HIGH.fullmatch(block, max(0, start - 6), start):  # keep a surrogate pair together
        start = _run_start(block, start - 6)
    if start == 0:  # the block opens with a run of backslashes reaching its tail: keep whole pairs
        run = len(block) - len(block.lstrip(b"\\"))
        start = run - run % 2
    return block[:start], block[start:]


def _run_start(block: bytes, at: int) -> int:
    while at > 0 and block[at - 1] == ord("\\"):
        at -= 1
    return at


class _Guarded:
    """The fixture's bytes as ijson reads them, each block scanned and counted first."""

    def __init__(self, stream: Any, name: str, limits: Limits, budget: Budget) -> None:
        self.stream, self.name, self.limits, self.budget = stream, name, limits, budget
        self.scanner = Scanner(limits)
        self.carry = b""
        self.ordinal = 0  # records handed out so far
        self.pending = 0  # bytes read since the last record was handed out
        self.problem: str | None = None
        self.block = min(PARSE_BLOCK, max(4096, limits.max_record_bytes // 4))

    def read(self, size: int) -> bytes:
        if self.problem is not None:
            raise BackupError(self.problem, f"record {self.ordinal + 1}")
        wanted = min(size, max(self.block, self.pending, self.scanner.open_length if self.scanner.in_string else 0))
        data = self.stream.read(wanted)
        block, self.carry = _cut(self.carry + data) if len(data) == wanted else (self.carry + data, b"")
        where = f"record {self.ordinal + 1}"
        self.budget.add(len(block), where)
        self.pending += len(block)
        if self.pending > self.limits.max_record_bytes:
            raise exceeded("max_record_bytes", "the record's size in bytes", self.limits.max_record_bytes, where)
        problem = self.scanner.feed(block)
        if problem is None:
            return block
        field = f"field {problem.key!r} " if problem.key else ""
        self.problem = f"{field}{problem.message}"
        if problem.offset == 0:
            raise BackupError(self.problem, where)
        return block[: problem.offset]  # the records before the problem are read; the next read refuses


def array_items(stream: Any, name: str, ordinal: int, limits: Limits, budget: Budget) -> Iterator[Any]:
    """The items of a JSON array, parsed by ijson behind a ``_Guarded`` reader."""
    guarded = _Guarded(stream, name, limits, budget)
    guarded.ordinal = ordinal
    items = ijson.items(guarded, "item", use_float=True, buf_size=limits.max_record_bytes + BLOCK)
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except (ijson.JSONError, UnicodeDecodeError) as error:
            raise _parse_error(error, name, guarded.ordinal) from None
        guarded.ordinal += 1
        guarded.pending = 0
        yield item


_EXPLAINED = {
    "integer overflow": "an integer beyond 64 bits, which no database column holds",
    "numeric (floating point) overflow": "a number too large for a double",
}


def _parse_error(error: Exception, name: str, ordinal: int) -> BackupError:
    record = f"record {ordinal + 1}"
    if isinstance(error, UnicodeDecodeError):
        return BackupError(f"{name!r} is not valid UTF-8 ({error.reason} at byte {error.start} of a block)", record)
    lines = [line for line in str(error).splitlines() if line.strip()]
    first = lines[0].strip() if lines else type(error).__name__
    if "premature EOF" in first:
        return BackupError(f"{name!r} is not valid JSON after record {ordinal} ({first}): truncated or damaged", record)
    near = lines[1].strip() if len(lines) > 1 else ""
    if "invalid char" in first and re.search(r"\b(NaN|-?Infinity)\b", near):
        return BackupError(f"holds NaN or Infinity, which JSON does not allow (near {near[:60]!r})", record)
    for text, meaning in _EXPLAINED.items():
        if text in first:
            return BackupError(f"holds {meaning} (near {near[:60]!r})", record)
    return BackupError(f"{name!r} is not valid JSON after record {ordinal} ({first}, near {near[:60]!r})", record)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def line_items(stream: Any, name: str, ordinal: int, limits: Limits, budget: Budget) -> Iterator[Any]:
    """The objects of a JSON Lines fixture, each line checked by a ``Scanner`` before it is parsed."""
    line_number = 0
    while line := stream.readline(limits.max_record_bytes + 1):
        line_number += 1
        budget.add(len(line), f"record {ordinal + 1}")
        if len(line) > limits.max_record_bytes:
            raise exceeded("max_record_bytes", f"line {line_number} of {name!r}", limits.max_record_bytes,
                           f"record {ordinal + 1}")  # fmt: skip
        if not line.strip():
            continue
        ordinal += 1
        problem = Scanner(limits).feed(line)
        if problem is not None:
            field = f"field {problem.key!r} " if problem.key else ""
            raise BackupError(f"{field}{problem.message}", f"record {ordinal}")
        try:
            text = line.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as error:
            raise BackupError(
                f"line {line_number} of {name!r} is not valid UTF-8 ({error.reason})", f"record {ordinal}"
            ) from None
        try:
            yield json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            raise BackupError(
                f"line {line_number} of {name!r} is not valid JSON ({error})", f"record {ordinal}"
            ) from None
