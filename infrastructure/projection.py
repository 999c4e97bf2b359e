"""The projection: the only writer of target tables.

It reads the ledger's intents after its tracking position (apply, roll back, replay a
restore) and carries out each one meant for this target in one target transaction,
together with the new tracking position and a row in the target's ``applied`` table.
The rows themselves come from the restore's own events. An intent refused by a later
event of its restore is passed over; one already carried out is never carried out twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.application import Application
from eventsourcing.utils import get_topic
from sqlalchemy.engine import Connection

from domain.errors import ApplyError, RestoreError
from domain.ledger import RestoreRun
from domain.profile import Kind
from infrastructure import (
    footprint,
    pg_constraints,
    projection_checks,
    projection_digest,
    projection_rollback,
    row_hashes,
)
from infrastructure.backup import Backup, open_backup
from infrastructure.checkpoints import checkpoint
from infrastructure.dialects import execute_many, writer_for
from infrastructure.ledger_verify import check_run
from infrastructure.pg_constraints import Relaxed
from infrastructure.reading import Limits
from infrastructure.storage import Converter, same, to_storage
from infrastructure.table_keys import pk_columns, where_keys
from infrastructure.target import APPLIED_TABLE, TRACKING_TABLE, claim_identity, quote

PAGE = 50  # intents per read of the notification log
EVENTS_PAGE = 4  # a restore's events per read: each can hold hundreds of rows
CHUNK = 500
# row events of one table written in one bulk write (held meanwhile, each of at most a few hundred rows
# and EVENT_BYTES): PostgreSQL's COPY waits for the server once per write
STREAM_EVENTS = 16
APPLY, ROLLBACK, REPLAY = "apply", "rollback", "replay"
INTENTS: dict[type[Any], str] = {
    RestoreRun.ApplyRequested: APPLY,
    RestoreRun.RollbackStarted: ROLLBACK,
    RestoreRun.ReplayRequested: REPLAY,
}
REFUSALS: dict[str, type[Any] | tuple[type[Any], ...]] = {
    APPLY: (RestoreRun.Failed, RestoreRun.RollForwardRefused),
    ROLLBACK: RestoreRun.RollbackRefused,
    REPLAY: RestoreRun.ReplayRefused,
}


@dataclass
class Done:
    restore_id: UUID
    action: str
    position: int
    rows: int
    digests: list[dict[str, Any]] = field(default_factory=list)  # an apply's RowsDigested, when it has them


class IntentFailed(RestoreError):
    """An intent of a restore could not be carried out; the target transaction was rolled back."""

    def __init__(self, restore_id: UUID, action: str, cause: RestoreError) -> None:
        self.restore_id = restore_id
        self.action = action
        self.stage = cause.stage
        super().__init__(cause.problem, cause.record)


@dataclass
class _Work:
    """What one intent's transaction has written so far."""

    restore_id: UUID
    tables: dict[str, str] = field(default_factory=dict)  # table -> pk column
    rows: int = 0
    staged: list[tuple[Path, Path]] = field(default_factory=list)  # (temporary, final) media
    removed: list[tuple[Path, Path]] = field(default_factory=list)  # (final, set aside) media
    # what each table was written, for the rollback's digests (None: a pk is not an integer, rolled back row by row)
    written: dict[str, footprint.PkRanges | footprint.KeyTuples] | None = field(default_factory=dict)
    digests: list[dict[str, Any]] = field(default_factory=list)
    # an apply on SQLite: each table's rows hashed as written (None: its batches' columns differ, read back)
    hashed: dict[str, row_hashes.RowHashes | None] | None = None
    deferred: dict[str, set[Any]] = field(default_factory=dict)  # pks whose references were set after the insert
    relaxed: list[Relaxed] = field(default_factory=list)  # foreign keys dropped until the references are checked


class Projection:
    """Carries out the ledger's intents for one target. ``run()`` is idempotent.

    ``conn`` is the target connection holding the target's lock.
    ``planned_under_lock`` names a restore planned under the lock this connection still holds.
    On SQLite that lock keeps every other writer out, the live application's too: the target
    cannot have changed since, so the plan is not checked against it again. On PostgreSQL the
    advisory lock keeps only restore-ledger out, so plans are always checked.
    """

    def __init__(
        self,
        conn: Connection,
        ledger: Application[UUID],
        target_id: str,
        on_batch: Callable[[int], None] | None = None,
        planned_under_lock: UUID | None = None,
        owner: tuple[str, str] | None = None,
    ) -> None:
        self.conn = conn
        self.owner = owner  # (ledger id, ledger URL) the target is recorded as belonging to
        self.planned_under_lock = planned_under_lock
        self.ledger = ledger
        self.target_id = target_id
        self.on_batch = on_batch
        self.tracking_name = ledger.name
        self.writer = writer_for(conn.dialect.name)
        self._started: dict[UUID, Any] = {}
        self._converters: dict[tuple[str, tuple[str, ...]], list[tuple[int, Converter]]] = {}
        self._references: dict[str, list[tuple[str, str, list[str]]]] | None = None
        self._unique: dict[str, set[str]] = {}
        self._pk_columns: dict[str, list[str]] | None = None
        self.done: list[Done] = []

    # -- reading the ledger -------------------------------------------------------------

    def position(self) -> int:
        """The last notification id this target has carried out."""
        if not sa.inspect(self.conn).has_table(TRACKING_TABLE):
            return 0
        found = self.conn.exec_driver_sql(
            f"SELECT notification_id FROM {quote(self.conn, TRACKING_TABLE)} WHERE application_name = "
            f"{self.writer.mark}",
            (self.tracking_name,),
        ).scalar()
        return int(found or 0)

    def pending(self) -> Iterator[tuple[int, Any, str]]:
        """Intents after the tracking position that are meant for this target and not refused."""
        topics = [get_topic(cls) for cls in INTENTS]
        position = self.position()
        recorder = self.ledger.recorder
        while page := recorder.select_notifications(position, PAGE, topics=topics, inclusive_of_start=False):
            for notification in page:
                position = notification.id
                event = self.ledger.mapper.to_domain_event(notification)
                action = INTENTS[type(event)]
                if self._meant_for_us(event, action) and not self._refused_after(event, action):
                    yield notification.id, event, action

    def _started_event(self, restore_id: UUID) -> Any:
        if restore_id not in self._started:
            [first] = self.ledger.recorder.select_events(restore_id, limit=1)
            self._started[restore_id] = self.ledger.mapper.to_domain_event(first)
        return self._started[restore_id]

    def _meant_for_us(self, event: Any, action: str) -> bool:
        if action == REPLAY:
            return bool(event.target["id"] == self.target_id)
        return bool(self._started_event(event.originator_id).target["id"] == self.target_id)

    def _refused_after(self, event: Any, action: str) -> bool:
        for stored in self.ledger.recorder.select_events(event.originator_id, gt=event.originator_version):
            later = self.ledger.mapper.to_domain_event(stored)
            if isinstance(later, REFUSALS[action]) and (action != REPLAY or later.target_id == self.target_id):
                return True
            if action == APPLY and isinstance(later, RestoreRun.RollbackStarted | RestoreRun.ApplyRequested):
                return False
        return False

    def _rows_by_table(self, intent: Any) -> dict[str, int]:
        """The rows a restore writes, per table: its Recorded counts by model (the last Recorded before
        the intent) and the tables of its Validated profile; two small events, no row event is decoded."""
        restore_id, counts = intent.originator_id, None
        recorded, version = get_topic(RestoreRun.Recorded), intent.originator_version
        while counts is None and (page := self._before(restore_id, version)):
            for item in page:
                version = item.originator_version
                if item.topic == recorded:
                    counts = self._decoded(item).counts
                    break
        return pg_constraints.rows_by_table(self._validated_profile(restore_id), counts or {})

    def _validated_profile(self, restore_id: UUID) -> dict[str, Any]:
        """The profile a restore was recorded with: its Validated event, which comes before its rows."""
        validated, rows, version = get_topic(RestoreRun.Validated), get_topic(RestoreRun.RowsRecorded), 0
        while page := self.ledger.recorder.select_events(restore_id, gt=version, limit=EVENTS_PAGE):
            for item in page:
                version = item.originator_version
                if item.topic == validated:
                    return dict(self._decoded(item).profile)
                if item.topic == rows:
                    return {}
        return {}

    def _decoded(self, item: Any) -> Any:
        return self.ledger.mapper.to_domain_event(item)

    def _before(self, restore_id: UUID, version: int) -> Any:
        return self.ledger.recorder.select_events(restore_id, lte=version - 1, desc=True, limit=PAGE)

    def _events(self, restore_id: UUID) -> Iterator[Any]:
        """A restore's recording events, page by page, up to its Recorded event."""
        version = 0
        while stored := self.ledger.recorder.select_events(restore_id, gt=version, limit=EVENTS_PAGE):
            for item in stored:
                event = self.ledger.mapper.to_domain_event(item)
                version = event.originator_version
                yield event
                if isinstance(event, RestoreRun.Recorded):
                    return

    # -- carrying out intents -----------------------------------------------------------

    def run(self) -> list[Done]:
        """Carry out every pending intent for this target, in ledger order (also kept in ``done``)."""
        done = self.done
        for notification_id, event, action in list(self.pending()):
            check_run(self.ledger.recorder, event.originator_id)  # never act on a changed ledger
            try:
                result = self._carry_out(notification_id, event, action)
            except RestoreError as error:
                raise IntentFailed(event.originator_id, action, error) from None
            if result is not None:
                done.append(result)
        return done

    def _carry_out(self, notification_id: int, event: Any, action: str) -> Done | None:
        if not self.conn.in_transaction():
            self.conn.begin()
        self.writer.lock_projection(self.conn)
        if self.position() >= notification_id:  # another projection got here first
            self.conn.rollback()
            return None
        work = _Work(event.originator_id)
        if action == APPLY and self.conn.dialect.name == "sqlite":
            work.hashed = {}
        try:
            if action == ROLLBACK:
                self._roll_back(work)
            else:
                media_root = event.target.get("media_root") if action == REPLAY else None
                if self.writer.checks_references_per_row:
                    work.relaxed = self.writer.relax_references(self.conn, self._rows_by_table(event))
                self._apply(work, check_identity=action == REPLAY, media_root=media_root)
                if action == APPLY:
                    self._digest_written(work)
            self._bookkeeping(work, notification_id, action)
            checkpoint(f"{action}-before-commit")
            self.conn.commit()
        except (RestoreError, sa.exc.DBAPIError, OSError) as error:
            self.conn.rollback()
            self._undo_media(work)
            if isinstance(error, RestoreError):
                raise
            raise ApplyError(f"the target refused the restore: {error}") from None
        self._finish_media(work)
        checkpoint(f"{action}-committed")
        return Done(work.restore_id, action, notification_id, work.rows, work.digests)

    def _bookkeeping(self, work: _Work, notification_id: int, action: str, sequences: bool = True) -> None:
        conn, mark = self.conn, self.writer.mark
        self.writer.check_references(conn, work.tables, work.relaxed)
        if sequences:  # PostgreSQL's setval is not undone by a rollback: the caller may do it last
            self.writer.advance_sequences(conn, work.tables)
        claim_identity(conn, self.target_id, self.owner)
        tracking, applied = quote(conn, TRACKING_TABLE), quote(conn, APPLIED_TABLE)
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {tracking} (application_name varchar(100) NOT NULL PRIMARY KEY, "
            "notification_id bigint NOT NULL)"
        )
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {applied} (restore_id varchar(36) NOT NULL, action varchar(20) NOT NULL, "
            "notification_id bigint NOT NULL PRIMARY KEY, applied_at varchar(40) NOT NULL)"
        )
        conn.exec_driver_sql(f"DELETE FROM {tracking} WHERE application_name = {mark}", (self.tracking_name,))
        conn.exec_driver_sql(
            f"INSERT INTO {tracking} (application_name, notification_id) VALUES ({mark}, {mark})",
            (self.tracking_name, notification_id),
        )
        conn.exec_driver_sql(
            f"INSERT INTO {applied} (restore_id, action, notification_id, applied_at) VALUES ({mark}, {mark}, "
            f"{mark}, {mark})",
            (str(work.restore_id), action, notification_id, datetime.now(UTC).isoformat()),
        )

    # -- apply and replay ---------------------------------------------------------------

    def _apply(self, work: _Work, check_identity: bool, media_root: str | None) -> None:
        started = self._started_event(work.restore_id)
        if not check_identity:  # a replay writes to its own target's media root, never to the original's
            media_root = started.options.get("media_root")
        trusted = work.restore_id == self.planned_under_lock and self.conn.dialect.name == "sqlite"
        verify = check_identity or not trusted
        events = self._events(work.restore_id)
        event = next(events, None)
        while event is not None:
            if isinstance(event, RestoreRun.RowsRecorded):
                event = self._write_rows(work, event, events, verify)  # the event after the rows written
                continue
            if isinstance(event, RestoreRun.ReferencesDeferred):
                self.writer.set_references(self.conn, event.table, event.pk_column, event.column, event.pairs)
                if work.hashed is not None and work.hashed.get(event.table) is not None:
                    work.deferred.setdefault(event.table, set()).update(pk for pk, _ in event.pairs)
            elif isinstance(event, RestoreRun.RowsMapped):
                projection_checks.check_present(self, event.table, event.mappings, "maps onto", check_identity)
            elif isinstance(event, RestoreRun.RowsUnchanged):
                projection_checks.check_present(self, event.table, event.rows, "finds unchanged", check_identity)
            elif isinstance(event, RestoreRun.RowsUpdated):
                projection_checks.check_present(self, event.table, event.updates, "updates", False)
                self._write_updates(work, event, "after")
            elif isinstance(event, RestoreRun.LinksRemoved):
                projection_checks.remove_links(self, work, event)
            elif isinstance(event, RestoreRun.MediaRecorded):
                limits = Limits.from_dict(started.options.get("limits"))
                self._stage_media(work, self.backup_path(started.backup), media_root, event.files, limits)
            event = next(events, None)

    def backup_path(self, backup: dict[str, Any]) -> str:
        """Where the restore's backup is read from for its media files: where it was restored from."""
        return str(backup["path"])

    def _select(self, table: str, column: str, values: list[Any], extra: str = "") -> list[Any]:
        found: list[Any] = []
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            marks = ", ".join(self.writer.mark for _ in chunk)
            sql = (
                f"SELECT {quote(self.conn, column)}{extra} FROM {quote(self.conn, table)} "
                f"WHERE {quote(self.conn, column)} IN ({marks})"
            )
            found += self.conn.exec_driver_sql(sql, tuple(chunk)).fetchall()
        return found

    def _write_rows(self, work: _Work, first: Any, events: Iterator[Any], verify: bool) -> Any:
        """Write ``first`` and the row events after it into the same table and columns, up to STREAM_EVENTS,
        in one bulk write (PostgreSQL's COPY takes each while the next is read); returns the event after
        them. ``verify``: the pks and UUIDs of the rows may have been taken since planning. The target's
        unique constraints find such a value; only then are the rows undone (to their savepoint) and
        looked up, to name what was taken. Looking every batch up first cost a third of the apply."""
        self.key_columns(first.table)  # read before the bulk write: nothing else runs on the target meanwhile
        written = [first]  # held (at most STREAM_EVENTS) to name what was taken
        after: list[Any] = []

        def batches() -> Iterator[list[list[Any]]]:
            event = first
            while True:
                yield self._prepared(work, event)
                checkpoint("apply-writing")  # the batch is written (on PostgreSQL: sent)
                if len(written) == STREAM_EVENTS:
                    return
                event = next(events, None)
                if not (
                    isinstance(event, RestoreRun.RowsRecorded)
                    and event.table == first.table
                    and event.columns == first.columns
                ):
                    after.append(event)
                    return
                written.append(event)

        if verify:
            self.conn.exec_driver_sql("SAVEPOINT restore_ledger_rows")
        try:
            self.writer.insert_batches(self.conn, first.table, first.columns, batches())
        except ApplyError:
            if verify:
                self.conn.exec_driver_sql("ROLLBACK TO SAVEPOINT restore_ledger_rows")
                for event in written:
                    projection_checks.check_free(self, event)  # raises, naming the values taken since planning
            raise
        if verify:
            self.conn.exec_driver_sql("RELEASE SAVEPOINT restore_ledger_rows")
        return after[0] if after else next(events, None)

    def key_columns(self, table: str) -> list[str]:
        """The columns of the table's primary key: one, or several for a composite pk (read once)."""
        if self._pk_columns is None:
            self._pk_columns = pk_columns(self.conn)
        return self._pk_columns.get(table) or [
            str(sa.inspect(self.conn).get_pk_constraint(table)["constrained_columns"][0])
        ]

    def _converters_for(self, table: str, kinds: list[str]) -> list[tuple[int, Converter]]:
        """The columns whose logical form differs from the storage form, with their converter."""
        key = (table, tuple(kinds))
        if key not in self._converters:
            dialect = self.conn.dialect.name
            converters = [(i, to_storage(dialect, Kind(kind))) for i, kind in enumerate(kinds)]
            self._converters[key] = [(i, c) for i, c in converters if c is not same]
        return self._converters[key]

    def _prepared(self, work: _Work, event: Any) -> list[list[Any]]:
        """A row event's rows in their storage form, counted, their pks and digests noted, as they are written."""
        rows: list[list[Any]] = event.rows
        for i, convert in self._converters_for(event.table, event.kinds):
            for row in rows:
                row[i] = convert(row[i])
        work.tables.setdefault(event.table, event.columns[0])
        work.rows += len(rows)
        keys = self.key_columns(event.table)
        if work.written is not None and len(keys) > 1:  # a composite pk: the key tuples written
            tuples = work.written.setdefault(event.table, footprint.KeyTuples([event.columns.index(c) for c in keys]))
            assert isinstance(tuples, footprint.KeyTuples)
            tuples.columns += [c for c in event.columns if c not in tuples.columns]
            if not all(tuples.add(row) for row in rows):
                work.written = None  # such a restore is rolled back row by row
        elif work.written is not None:
            written = work.written.setdefault(event.table, footprint.PkRanges())
            assert isinstance(written, footprint.PkRanges)
            written.columns += [c for c in event.columns if c not in written.columns]
            for row in rows:
                if type(row[0]) is not int:
                    work.written = None  # such a restore is rolled back row by row
                    break
                written.add(row[0])
            if work.written is not None and work.hashed is not None:
                projection_digest.hash_written(work.hashed, event, rows)
        if self.on_batch:
            self.on_batch(len(rows))
        return rows

    def _write_updates(self, work: _Work, event: Any, side: str) -> None:
        """Existing rows take the ``after`` values (apply) or their ``before`` image (rollback)."""
        dialect, mark = self.conn.dialect.name, self.writer.mark
        by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
        keys = self.key_columns(event.table) if event.updates and isinstance(event.updates[0]["pk"], list) else []
        for update in event.updates:
            columns = tuple(sorted(update[side]))
            values = [to_storage(dialect, Kind(event.kinds[c]))(update[side][c]) for c in columns]
            by_columns.setdefault(columns, []).append([*values, *(update["pk"] if keys else [update["pk"]])])
        work.tables.setdefault(event.table, keys[0] if keys else event.pk_column)  # references checked at commit
        where = where_keys(self.conn, keys, 1, mark) if keys else f"{quote(self.conn, event.pk_column)} = {mark}"
        for columns, rows in by_columns.items():
            assignments = ", ".join(f"{quote(self.conn, c)} = {mark}" for c in columns)
            sql = f"UPDATE {quote(self.conn, event.table)} SET {assignments} WHERE {where}"
            execute_many(self.conn, sql, rows)
        work.rows += len(event.updates)

    # -- media ----------------------------------------------------------------------------

    def _stage_media(
        self, work: _Work, backup_path: str, media_root: str | None, files: list[dict[str, Any]], limits: Limits
    ) -> None:
        """Copy media files beside their destination; they take their names only after the commit."""
        if not media_root:
            raise ApplyError("the restore has media files but no media root was given (--media-root)")
        root = Path(media_root).resolve()
        try:
            backup: Backup = open_backup(Path(backup_path), limits)
        except RestoreError as error:
            raise ApplyError(
                f"the media files come from the backup {backup_path!r}, which cannot be read: {error}"
            ) from None
        with backup:
            for entry in files:
                destination = (root / entry["path"]).resolve()
                if not destination.is_relative_to(root):
                    raise ApplyError(f"media file {entry['path']!r} would leave the media root")
                if destination.exists():
                    raise ApplyError(f"media file {str(destination)!r} exists already; it is not overwritten")
                destination.parent.mkdir(parents=True, exist_ok=True)
                staged = destination.with_name(f".{destination.name}.{work.restore_id}.part")
                work.staged.append((staged, destination))
                digest = hashlib.sha256()
                with backup.open_media(entry["path"]) as source, open(staged, "wb") as sink:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        sink.write(chunk)
                if digest.hexdigest() != entry["sha256"]:
                    raise ApplyError(f"media file {entry['path']!r} does not match its recorded sha256")

    def _finish_media(self, work: _Work) -> None:
        for staged, destination in work.staged:
            staged.replace(destination)
        for _final, aside in work.removed:
            aside.unlink(missing_ok=True)

    def _undo_media(self, work: _Work) -> None:
        for staged, _destination in work.staged:
            staged.unlink(missing_ok=True)
        for final, aside in work.removed:
            if aside.exists():
                aside.replace(final)

    # -- rollback -------------------------------------------------------------------------

    def _digest_written(self, work: _Work) -> None:
        """What the apply wrote, per table, as the rollback will check it (RowsDigested)."""
        projection_digest.digest_written(self, work)

    def _stored(self, restore_id: UUID, wanted: tuple[type[Any], ...]) -> Iterator[Any]:
        """All of a restore's events of the ``wanted`` types, in order; the others are not decoded."""
        topics = {get_topic(cls) for cls in wanted}
        version = 0
        while stored := self.ledger.recorder.select_events(restore_id, gt=version, limit=PAGE):
            for item in stored:
                version = item.originator_version
                if item.topic in topics:
                    yield self.ledger.mapper.to_domain_event(item)

    def _roll_back(self, work: _Work) -> None:
        """Remove exactly what the restore wrote, after checking that nothing else relies on it."""
        projection_rollback.roll_back(self, work)
