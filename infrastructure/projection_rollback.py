"""Rolling back an applied restore: the projection removes exactly what the restore wrote.

With the digests its apply recorded (RowsDigested), each table's restored pk ranges are deleted
page by page, the deleted rows digested in the same pass and compared by count and sha256, then
checked for rows outside the restore that still reference them: neither the rows nor their pks are
held. Without them (an apply of an
older version), or when a digest differs (to name the changed rows), the rows are compared with the
restore's row events, batch by batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.utils import get_topic

from domain.errors import ApplyError
from domain.ledger import RestoreRun
from domain.planning import same_value
from domain.profile import Kind
from infrastructure import footprint, table_keys
from infrastructure.dialects import detail, execute_many
from infrastructure.ledger_chain import run_topics, stored_at
from infrastructure.storage import from_storage, to_storage
from infrastructure.target import quote

if TYPE_CHECKING:
    from infrastructure.projection import Projection, _Work

CHUNK = 500  # pks per executemany of a row-by-row delete
PAGE = 50  # stored events per read of the ledger
TOPICS_PAGE = 1000  # topics per read of the ledger (no event bytes)
SAVEPOINT = "restore_ledger_rollback"  # the deletes by digest, undone when a digest differs


@dataclass
class _Applied:
    """What a rollback by digests needs of a restore's events, from one read of them."""

    digests: list[Any] = field(default_factory=list)  # RowsDigested of its last apply (none: an older apply)
    updates: list[int] = field(default_factory=list)  # versions of its RowsUpdated events, read when needed
    media: list[dict[str, Any]] = field(default_factory=list)


def _applied(p: Projection, restore_id: UUID) -> _Applied:
    """One read of the restore's events, by their topics: only the few it needs are fetched and decoded (a
    read of all of them is of all its row batches: seconds at a million rows on PostgreSQL); its
    RowsUpdated are decoded later, one by one, only if it has any."""
    decoded = {get_topic(cls) for cls in (RestoreRun.ApplyRequested, RestoreRun.RowsDigested, RestoreRun.MediaRecorded)}
    updated = get_topic(RestoreRun.RowsUpdated)
    found = _Applied()
    version = 0
    while headers := run_topics(p.ledger.recorder, restore_id, version, TOPICS_PAGE):
        version = headers[-1][0]
        found.updates += [at for at, topic in headers if topic == updated]
        for item in stored_at(p.ledger.recorder, restore_id, [at for at, topic in headers if topic in decoded]):
            event: Any = p.ledger.mapper.to_domain_event(item)
            if isinstance(event, RestoreRun.ApplyRequested):
                found.digests = []
            elif isinstance(event, RestoreRun.RowsDigested):
                found.digests.append(event)
            else:
                found.media += event.files
    return found


def _updates(p: Projection, restore_id: UUID, versions: list[int]) -> Iterator[Any]:
    """The restore's RowsUpdated events at these versions, one at a time."""
    for version in versions:
        [item] = p.ledger.recorder.select_events(restore_id, gt=version - 1, lte=version)
        yield p.ledger.mapper.to_domain_event(item)


def roll_back(p: Projection, work: _Work) -> None:
    """Remove exactly what the restore wrote, after checking that nothing else relies on it.

    With the digests its apply recorded, each table's restored pk ranges are deleted page by page,
    the deleted rows digested in the same pass (under a savepoint) and compared by count and
    sha256; neither the rows nor their pks are held. Without digests (an older apply), or when a
    digest differs, the deletes are undone and the rows compared with the restore's row events,
    to name the changed ones.
    """
    applied = _applied(p, work.restore_id)
    if not applied.digests:
        roll_back_by_rows(p, work)
        return
    if any(_changed_updates(p, event) for event in _updates(p, work.restore_id, applied.updates)):
        roll_back_by_rows(p, work)  # names the changed rows
        return
    by_table: dict[str, list[Any]] = {}  # pk ranges, or the key tuples of a composite-pk table
    for d in applied.digests:
        by_table.setdefault(d.table, []).append(d)
    deleting = {table: sum(d.count for d in found) for table, found in by_table.items()}
    _references(p)  # the dependents are found by the foreign keys as they are before any is dropped
    work.relaxed = p.writer.relax_references(p.conn, deleting, deleted=True)  # before anything is written
    whole = p.writer.whole_tables(p.conn, deleting)  # only the restore's rows: digested, then emptied at once
    p.conn.exec_driver_sql(f"SAVEPOINT {SAVEPOINT}")
    try:
        deleted = _delete_by_digests(p, by_table, whole)
    except p.conn.dialect.loaded_dbapi.Error as error:  # e.g. a foreign key the target checks at each delete
        raise ApplyError(
            f"the target refused the rollback's deletes: {detail(error)}; nothing was rolled back"
        ) from None
    if deleted is None:
        p.conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        roll_back_by_rows(p, work)  # names the changed rows
        return
    p.conn.exec_driver_sql(f"RELEASE SAVEPOINT {SAVEPOINT}")
    ranges = {table: [r for d in found for r in d.ranges] for table, found in by_table.items()}
    _check_no_dependents_by_ranges(p, ranges)  # the rows outside the restore are still there
    work.rows += deleted
    for table in by_table:
        work.tables.setdefault(table, p.key_columns(table)[0])
    for event in _updates(p, work.restore_id, applied.updates):
        p._write_updates(work, event, "before")
    _restore_links(p, work)
    started = p._started_event(work.restore_id)
    _set_media_aside(p, work, started.options.get("media_root"), applied.media)


def _delete_by_digests(p: Projection, by_table: dict[str, list[Any]], whole: set[str]) -> int | None:
    """Delete each table's digested rows, last written first, comparing each digest: the rows deleted, or
    None as soon as one differs (the caller undoes the deletes)."""
    deleted = 0
    order = list(reversed(list(by_table)))
    # the tables emptied at once are only read: their digests first, before anything is deleted
    whole_digests = iter(
        p.writer.digest_whole(p.conn, [d for t in order if t in whole for d in by_table[t]], p.key_columns)
    )
    for table in order:
        keys = p.key_columns(table)
        for d in by_table[table]:
            if table in whole:
                digest = next(whole_digests)
            else:
                digest = footprint.digest_part(p.conn, p.writer.mark, d, keys, delete=True)
            if digest != (d.count, d.sha256):
                return None
            deleted += d.count
            if p.on_batch:
                p.on_batch(d.count)
        if table in whole:
            p.writer.empty(p.conn, table)
    return deleted


def _check_no_dependents_by_ranges(p: Projection, ranges: dict[str, list[list[Any]]]) -> None:
    """No row outside the restore may reference a row the rollback removes (read by pk ranges; no FK
    references a composite-pk table, whose key tuples are not ranges)."""
    blocking: list[str] = []
    count = 0
    mark = p.writer.mark
    for table, removed in ranges.items():
        if len(p.key_columns(table)) > 1:
            continue
        for referencing, column, keys in _referencing(p, table):
            if len(keys) > 1:  # a composite-pk table: its rows by key tuple, the restore's own ones left out
                own_keys = {tuple(key) for key in ranges.get(referencing, [])}
                found: Any = (
                    (value, list(key))
                    for value, key in footprint.references_by_key(
                        p.conn, mark, referencing, column, keys, sorted(removed)
                    )
                    if key not in own_keys
                )
            else:
                own = sorted(ranges.get(referencing, []))
                found = footprint.references_into(p.conn, mark, referencing, column, keys[0], sorted(removed), own)
            for value, pk in found:
                count += 1
                if len(blocking) < 5:
                    blocking.append(f"{referencing} pk {pk} references {table} pk {value}")
    _refuse_dependents(count, blocking)


def roll_back_by_rows(p: Projection, work: _Work) -> None:
    """Remove what the restore wrote, comparing the rows with its row events one batch at a time:
    the restored pks are held for the whole rollback, never the rows."""
    started = p._started_event(work.restore_id)
    pks: dict[str, list[Any]] = {}
    pk_columns: dict[str, list[str]] = {}
    deferred: dict[str, dict[Any, dict[str, Any]]] = {}
    media: list[dict[str, Any]] = []
    for event in p._events(work.restore_id):
        if isinstance(event, RestoreRun.RowsRecorded):
            keys = pk_columns.setdefault(event.table, _key_of(p, event))
            positions = [event.columns.index(c) for c in keys]
            if len(keys) > 1:
                pks.setdefault(event.table, []).extend(tuple(row[i] for i in positions) for row in event.rows)
            else:
                pks.setdefault(event.table, []).extend(row[0] for row in event.rows)
        elif isinstance(event, RestoreRun.ReferencesDeferred):
            for pk, value in event.pairs:
                deferred.setdefault(event.table, {}).setdefault(pk, {})[event.column] = value
        elif isinstance(event, RestoreRun.MediaRecorded):
            media += event.files
    _check_unchanged(p, work.restore_id, deferred)
    _check_no_dependents(p, pks)
    for table in reversed(list(pks)):
        keys = pk_columns[table]
        if len(keys) > 1:
            table_keys.delete_by_keys(p.conn, p.writer.mark, table, keys, pks[table])
        else:
            sql = f"DELETE FROM {quote(p.conn, table)} WHERE {quote(p.conn, keys[0])} = {p.writer.mark}"
            for start in range(0, len(pks[table]), CHUNK):
                execute_many(p.conn, sql, [(value,) for value in pks[table][start : start + CHUNK]])
        work.rows += len(pks[table])
        if p.on_batch:
            p.on_batch(len(pks[table]))
        work.tables.setdefault(table, keys[0])
    for event in p._events(work.restore_id):
        if isinstance(event, RestoreRun.RowsUpdated):
            p._write_updates(work, event, "before")
    _restore_links(p, work)
    _set_media_aside(p, work, started.options.get("media_root"), media)


def _key_of(p: Projection, event: Any) -> list[str]:
    """The pk columns of a recorded batch: the first column, or a composite pk's columns."""
    keys = p.key_columns(event.table)
    return keys if len(keys) > 1 else [event.columns[0]]


def _check_unchanged(p: Projection, restore_id: UUID, deferred: dict[str, dict[Any, dict[str, Any]]]) -> None:
    """Every restored row must be as the restore wrote it: a later change would be lost."""
    changed: list[str] = []
    count = 0
    for event in p._events(restore_id):
        if isinstance(event, RestoreRun.RowsRecorded):
            found = _changed_rows(p, event, deferred.get(event.table, {}))
        elif isinstance(event, RestoreRun.RowsUpdated):
            found = _changed_updates(p, event)
        else:
            continue
        count += len(found)
        changed += found[: max(0, 5 - len(changed))]
    if count:
        raise ApplyError(
            f"{count} restored rows were changed after the restore; rolling back would lose the "
            f"changes, so nothing was rolled back: {'; '.join(changed)}"
        )


def _changed_rows(p: Projection, event: Any, deferred: dict[Any, dict[str, Any]]) -> list[str]:
    """The rows of one recorded batch that the target no longer holds as the restore wrote them."""
    table, columns, kinds = event.table, event.columns, [Kind(kind) for kind in event.kinds]
    converters = [from_storage(kind) for kind in kinds]
    keys = _key_of(p, event)
    positions = [columns.index(c) for c in keys]
    if len(keys) > 1:  # a composite pk: rows by their key tuple, every column compared
        extra = ", " + ", ".join(quote(p.conn, c) for c in columns)
        wanted = [[row[i] for i in positions] for row in event.rows]
        found = {
            tuple(row[: len(keys)]): row[len(keys) :]
            for row in table_keys.select_by_keys(p.conn, p.writer.mark, table, keys, wanted, extra)
        }
        compared = list(enumerate(columns))
    else:
        extra = ", " + ", ".join(quote(p.conn, c) for c in columns[1:]) if len(columns) > 1 else ""
        found = {row[0]: row for row in p._select(table, columns[0], [row[0] for row in event.rows], extra)}
        compared = list(enumerate(columns))[1:]
    changed: list[str] = []
    for row in event.rows:
        pk = tuple(row[i] for i in positions) if len(keys) > 1 else row[0]
        shown = list(pk) if len(keys) > 1 else pk
        expected = dict(zip(columns, row, strict=True)) | deferred.get(pk, {})
        current = found.get(pk)
        if current is None:
            changed.append(f"{table} pk {shown} was deleted")
            continue
        for position, column in compared:
            value = converters[position](current[position])
            if not same_value(kinds[position], value, expected[column]):
                changed.append(f"{table} pk {shown} column {column}")
                break
    return changed


def _changed_updates(p: Projection, event: Any) -> list[str]:
    """The rows of one update batch that no longer hold the values the restore gave them."""
    changed: list[str] = []
    for update in event.updates:
        columns = sorted(update["after"])
        extra = ", " + ", ".join(quote(p.conn, c) for c in columns)
        if isinstance(update["pk"], list):  # a composite pk
            keys = p.key_columns(event.table)
            found = table_keys.select_by_keys(p.conn, p.writer.mark, event.table, keys, [update["pk"]], extra)
            [row] = [r[len(keys) - 1 :] for r in found] or [None]
        else:
            [row] = p._select(event.table, event.pk_column, [update["pk"]], extra) or [None]
        if row is None or any(
            not same_value(Kind(event.kinds[c]), from_storage(Kind(event.kinds[c]))(v), update["after"][c])
            for c, v in zip(columns, row[1:], strict=True)
        ):
            changed.append(f"{event.table} pk {update['pk']} (updated by the restore)")
    return changed


def _restore_links(p: Projection, work: _Work) -> None:
    """The links the restore removed are written back with their ids, unless they, or their ids, are
    there again: then the rollback is refused rather than a link doubled."""
    dialect = p.conn.dialect.name
    for event in p._stored(work.restore_id, (RestoreRun.LinksRemoved,)):
        source, target = event.ends
        to_source, to_target = (to_storage(dialect, Kind(kind)) for kind in event.kinds)
        rows = [[link["id"], to_source(link["source"]), to_target(link["target"])] for link in event.links]
        taken = [str(row[0]) for row in p._select(event.table, "id", [row[0] for row in rows])]
        extra = f", {quote(p.conn, target)}"
        pairs = {(row[1], row[2]) for row in rows}
        again = [pair for pair in p._select(event.table, source, sorted({row[1] for row in rows}), extra)]
        taken += [f"{one} -> {other}" for one, other in again if (one, other) in pairs]
        if taken:
            raise ApplyError(
                f"{len(taken)} links the restore removed from {event.table!r} are there again "
                f"({', '.join(taken[:5])}); rolling back would double them, so nothing was rolled back"
            )
        p.writer.insert(p.conn, event.table, ["id", source, target], rows)
        work.rows += len(rows)


def _check_no_dependents(p: Projection, pks: dict[str, list[Any]]) -> None:
    """No row outside the restore may reference a row the rollback removes."""
    blocking: list[str] = []
    for table, removed in pks.items():
        for referencing, column, keys in _referencing(p, table):
            own = set(pks.get(referencing, ()))
            extra = ", " + ", ".join(quote(p.conn, c) for c in keys)
            for value, *key in p._select(referencing, column, removed, extra):
                pk = key[0] if len(keys) == 1 else tuple(key)
                if pk not in own:
                    shown = pk if len(keys) == 1 else list(pk)
                    blocking.append(f"{referencing} pk {shown} references {table} pk {value}")
    _refuse_dependents(len(blocking), blocking[:5])


def _referencing(p: Projection, table: str) -> list[tuple[str, str, list[str]]]:
    """(table, column, that table's pk columns) of every single-column FK to ``table`` (from a table with a
    composite pk too: its rows are named by their key tuple)."""
    return _references(p).get(table, [])


def _references(p: Projection) -> dict[str, list[tuple[str, str, list[str]]]]:
    """Every single-column FK to a pk, by referenced table, read once: before any is dropped for the
    transaction (``relax_references``)."""
    if p._references is None:
        inspector = sa.inspect(p.conn)
        p._references = {}
        pks = {name: inspector.get_pk_constraint(name)["constrained_columns"] for name in inspector.get_table_names()}
        for name, pk in pks.items():
            for fk in inspector.get_foreign_keys(name):
                # to the referenced pk only: an FK to another unique column (Django's to_field) holds no pk, and
                # is left to the target's own check when the transaction commits
                if (
                    len(fk["constrained_columns"]) == 1
                    and pk
                    and fk["referred_columns"] == pks.get(fk["referred_table"])
                ):
                    p._references.setdefault(fk["referred_table"], []).append(
                        (name, fk["constrained_columns"][0], list(pk))
                    )
    return p._references


def _set_media_aside(p: Projection, work: _Work, media_root: str | None, files: list[dict[str, Any]]) -> None:
    if not files:
        return
    if not media_root:
        raise ApplyError("the restore wrote media files but recorded no media root")
    if not Path(media_root).is_absolute():  # recorded by a version that kept paths as given
        raise ApplyError(
            f"the restore recorded its media root as the relative path {media_root!r}, whose directory is "
            "not known; nothing was rolled back, no file deleted"
        )
    root = Path(media_root).resolve()
    for entry in files:
        final = root / entry["path"]
        if final.exists() and hashlib.sha256(final.read_bytes()).hexdigest() != entry["sha256"]:
            raise ApplyError(f"media file {str(final)!r} was changed after the restore; nothing was rolled back")
    for entry in files:
        final = root / entry["path"]
        if final.exists():
            aside = final.with_name(f".{final.name}.{work.restore_id}.rollback")
            final.replace(aside)
            work.removed.append((final, aside))


def _refuse_dependents(count: int, shown: list[str]) -> None:
    if count:
        raise ApplyError(
            f"{count} rows added after the restore depend on its rows, so nothing was rolled back: "
            f"{'; '.join(shown)}" + (f" and {count - 5} more" if count > 5 else "")
        )
