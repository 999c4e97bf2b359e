"""The digests an apply records of what it wrote (RowsDigested), for its rollback to check.

Per table: the restored pks as ranges, their row count and a sha256 (infrastructure/footprint.py).
On SQLite the rows are hashed as they are written (infrastructure/row_hashes.py, form "written");
only the rows whose deferred references were set after their insert are read back. On PostgreSQL,
whose stored form of a value is the server's own (a numeric's scale, jsonb's key order), and for a
table whose batches differ in columns, the rows are read back in the apply's transaction (form
"read"): the server hashes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infrastructure import footprint, row_hashes

if TYPE_CHECKING:
    from infrastructure.projection import Projection, _Work


def hash_written(hashed: dict[str, row_hashes.RowHashes | None], event: Any, rows: list[list[Any]]) -> None:
    """Hash a batch of rows as sent to SQLite; a table whose batches differ in columns is read back instead."""
    table = event.table
    if table not in hashed:
        hashed[table] = row_hashes.RowHashes(list(event.columns), list(event.kinds))
    known = hashed[table]
    if known is None:
        return
    if known.columns != event.columns or known.kinds != event.kinds:
        hashed[table] = None
        return
    known.add(rows)


def digest_written(p: Projection, work: _Work) -> None:
    """Per table, parts of at most RANGES_PER_EVENT pk ranges with their count and sha256."""
    if work.written is None:
        return
    for table, written in work.written.items():
        if isinstance(written, footprint.KeyTuples):  # a composite pk: its keys, in the order written, read back
            key = p.key_columns(table)
            for start in range(0, len(written.keys), footprint.RANGES_PER_EVENT):
                keys = written.keys[start : start + footprint.RANGES_PER_EVENT]
                count, sha256 = footprint.digest_keys(p.conn, p.writer.mark, table, written.columns, key, keys)
                work.digests.append(_entry(table, written.columns, keys, count, sha256, "read", []))
            continue
        ranges = written.merged()
        parts = [
            ranges[start : start + footprint.RANGES_PER_EVENT]
            for start in range(0, len(ranges), footprint.RANGES_PER_EVENT)
        ]
        hashed = (work.hashed or {}).get(table)
        if hashed is not None:
            _hash_again(p, hashed, table, work.deferred.get(table, set()))
            for part, (count, sha256) in zip(parts, hashed.digests(parts), strict=True):
                work.digests.append(_entry(table, hashed.columns, part, count, sha256, "written", hashed.kinds))
            continue
        for part in parts:
            count, sha256 = footprint.digest(p.conn, p.writer.mark, table, written.columns, part)
            work.digests.append(_entry(table, written.columns, part, count, sha256, "read", []))


def _entry(
    table: str, columns: list[str], ranges: list[list[Any]], count: int, sha256: str, form: str, kinds: list[str]
) -> dict[str, Any]:
    return {"table": table, "columns": columns, "ranges": ranges, "count": count, "sha256": sha256, "form": form,
            "kinds": kinds}  # fmt: skip


def _hash_again(p: Projection, hashed: row_hashes.RowHashes, table: str, pks: set[Any]) -> None:
    """Hash again, read back, the rows whose deferred references were set after their insert."""
    if not pks:
        return
    hashed.replace(list(footprint.read(p.conn, p.writer.mark, table, hashed.columns, sorted(pks))))
