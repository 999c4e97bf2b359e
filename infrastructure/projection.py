"""The projection: the only writer of target tables.

It pulls the ledger's notifications after its tracking position and applies each
restore meant for this target in one target transaction, together with the new
tracking position. A restore still being recorded is left for a later run; a
failed one is passed over.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.application import Application
from sqlalchemy.engine import Connection, Engine

from domain.errors import ApplyError
from domain.ledger import RestoreRun
from domain.profile import Kind
from infrastructure.dialects import execute_many, writer_for
from infrastructure.storage import Converter, same, to_storage
from infrastructure.target import TRACKING_TABLE, claim_identity, quote

PAGE = 10  # notifications per read: each can hold hundreds of rows


@dataclass(frozen=True, slots=True)
class MediaTarget:
    """Where media files go and where their bytes come from (the opened backup)."""

    root: Path
    source: Callable[[str], IO[bytes]]


@dataclass
class AppliedRestore:
    restore_id: UUID
    position: int
    rows: int


@dataclass
class _Open:
    restore_id: UUID
    conn: Connection
    transaction: sa.Transaction
    tables: dict[str, str] = field(default_factory=dict)  # table -> pk column
    rows: int = 0
    staged: list[tuple[Path, Path]] = field(default_factory=list)


class Projection:
    """Applies the ledger to one target. ``run()`` is idempotent."""

    def __init__(
        self,
        engine: Engine,
        ledger: Application[UUID],
        target_id: str,
        media: MediaTarget | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.target_id = target_id
        self.media = media
        self.on_batch = on_batch
        self.tracking_name = ledger.name
        self.writer = writer_for(engine.dialect.name)
        self._skip: set[UUID] = set()
        self._open: _Open | None = None
        self._converters: dict[tuple[str, tuple[str, ...]], list[tuple[int, Converter]]] = {}

    def position(self) -> int:
        """The last notification id this target has applied."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(TRACKING_TABLE):
                return 0
            found = conn.exec_driver_sql(
                f"SELECT notification_id FROM {quote(conn, TRACKING_TABLE)} WHERE application_name = "
                f"{self.writer.mark}",
                (self.tracking_name,),
            ).scalar()
        return int(found or 0)

    def run(self) -> list[AppliedRestore]:
        """Apply every complete restore for this target that comes after the tracking position."""
        applied: list[AppliedRestore] = []
        position = self.position()
        try:
            while page := self.ledger.recorder.select_notifications(position, PAGE, inclusive_of_start=False):
                for notification in page:
                    outcome = self._handle(self.ledger.mapper.to_domain_event(notification), notification.id)
                    if outcome == "wait":
                        return applied
                    if isinstance(outcome, AppliedRestore):
                        applied.append(outcome)
                    position = notification.id
        finally:
            self._discard()
        return applied

    def _handle(self, event: Any, notification_id: int) -> AppliedRestore | str | None:
        restore_id = event.originator_id
        if isinstance(event, RestoreRun.Started):
            if event.target.get("id") != self.target_id or self._last_event_is(restore_id, "Failed"):
                self._skip.add(restore_id)
                return None
            if not self._last_event_is(restore_id, "Recorded", "Applied"):
                return "wait"  # still being recorded: apply it whole, later
            conn = self.engine.connect()
            self._open = _Open(restore_id, conn, conn.begin())
            self.writer.lock(conn)
            return None
        current = self._open
        if current is None or current.restore_id != restore_id:
            return None
        if isinstance(event, RestoreRun.RowsRecorded):
            self._check_free(current, event)
            self._insert(current, event)
        elif isinstance(event, RestoreRun.RowsMapped):
            self._check_present(current, event.table, event.mappings, "mapped onto")
        elif isinstance(event, RestoreRun.RowsUpdated):
            self._check_present(current, event.table, event.updates, "to be updated,")
            self._apply_updates(current, event)
        elif isinstance(event, RestoreRun.ReferencesDeferred):
            self._update(current, event)
        elif isinstance(event, RestoreRun.MediaRecorded):
            self._stage_media(current, event.files)
        elif isinstance(event, RestoreRun.Recorded):
            return self._commit(current, notification_id)
        return None

    def _last_event_is(self, restore_id: UUID, *names: str) -> bool:
        last = self.ledger.recorder.select_events(restore_id, desc=True, limit=1)
        return bool(last) and last[0].topic.rsplit(".", 1)[-1] in names

    def _converters_for(self, table: str, kinds: list[str]) -> list[tuple[int, Converter]]:
        """The columns whose logical form differs from the storage form, with their converter."""
        key = (table, tuple(kinds))
        if key not in self._converters:
            dialect = self.engine.dialect.name
            converters = [(i, to_storage(dialect, Kind(kind))) for i, kind in enumerate(kinds)]
            self._converters[key] = [(i, c) for i, c in converters if c is not same]
        return self._converters[key]

    def _insert(self, current: _Open, event: Any) -> None:
        rows = event.rows
        for i, convert in self._converters_for(event.table, event.kinds):
            for row in rows:
                row[i] = convert(row[i])
        self.writer.insert(current.conn, event.table, event.columns, rows)
        current.tables.setdefault(event.table, event.columns[0])
        current.rows += len(rows)
        if self.on_batch:
            self.on_batch(len(rows))

    def _select(self, conn: Connection, table: str, column: str, values: list[Any]) -> set[Any]:
        marks = ", ".join(self.writer.mark for _ in values)
        sql = f"SELECT {quote(conn, column)} FROM {quote(conn, table)} WHERE {quote(conn, column)} IN ({marks})"
        return {row[0] for row in conn.exec_driver_sql(sql, tuple(values))}

    def _check_free(self, current: _Open, event: Any) -> None:
        """The plan's new pks and UUIDs must still be free: the target may have changed since planning."""
        for position, column in enumerate(event.columns):
            if position != 0 and event.kinds[position] != Kind.UUID.value:
                continue
            values = [row[position] for row in event.rows if row[position] is not None]
            if position != 0:
                convert = to_storage(self.engine.dialect.name, Kind.UUID)
                values = [convert(v) for v in values]
            taken = self._select(current.conn, event.table, column, values) if values else set()
            if taken:
                shown = ", ".join(str(v) for v in sorted(taken, key=str)[:5])
                raise ApplyError(
                    f"{event.model}: {column} {shown} in {event.table!r} is taken since planning "
                    f"({len(taken)} such rows); plan the restore again"
                )

    def _check_present(self, current: _Open, table: str, entries: list[dict[str, Any]], what: str) -> None:
        """Rows the plan maps onto or updates must still exist."""
        wanted = [entry["pk"] for entry in entries]
        present = self._select(current.conn, table, current.tables.get(table) or self._pk_of(current, table), wanted)
        gone = [entry for entry in entries if entry["pk"] not in present]
        if gone:
            names = ", ".join(f"{e['record']} (target pk {e['pk']})" for e in gone[:5])
            raise ApplyError(f"rows the plan {what} are gone from {table!r} since planning: {names}")

    def _pk_of(self, current: _Open, table: str) -> str:
        constraint = sa.inspect(current.conn).get_pk_constraint(table)
        return str(constraint["constrained_columns"][0])

    def _apply_updates(self, current: _Open, event: Any) -> None:
        """Existing rows take the backup's values; the event keeps their before images."""
        conn, mark = current.conn, self.writer.mark
        dialect = self.engine.dialect.name
        by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
        for update in event.updates:
            columns = tuple(sorted(update["after"]))
            values = [to_storage(dialect, Kind(event.kinds[c]))(update["after"][c]) for c in columns]
            by_columns.setdefault(columns, []).append([*values, update["pk"]])
        for columns, rows in by_columns.items():
            assignments = ", ".join(f"{quote(conn, c)} = {mark}" for c in columns)
            sql = f"UPDATE {quote(conn, event.table)} SET {assignments} WHERE {quote(conn, event.pk_column)} = {mark}"
            execute_many(conn, sql, rows)
        current.rows += len(event.updates)

    def _update(self, current: _Open, event: Any) -> None:
        conn, mark = current.conn, self.writer.mark
        sql = (
            f"UPDATE {quote(conn, event.table)} SET {quote(conn, event.column)} = {mark} "
            f"WHERE {quote(conn, event.pk_column)} = {mark}"
        )
        execute_many(conn, sql, [(value, pk) for pk, value in event.pairs])

    def _stage_media(self, current: _Open, files: list[dict[str, Any]]) -> None:
        """Copy media files beside their destination; they take their names only after the commit."""
        if self.media is None:
            raise ApplyError("the restore has media files but no media root was given (--media-root)")
        root = self.media.root.resolve()
        for entry in files:
            destination = (root / entry["path"]).resolve()
            if not destination.is_relative_to(root):
                raise ApplyError(f"media file {entry['path']!r} would leave the media root")
            if destination.exists():
                raise ApplyError(f"media file {str(destination)!r} exists already; it is not overwritten")
            destination.parent.mkdir(parents=True, exist_ok=True)
            staged = destination.with_name(f".{destination.name}.{current.restore_id}.part")
            digest = hashlib.sha256()
            with self.media.source(entry["path"]) as source, open(staged, "wb") as sink:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    sink.write(chunk)
            current.staged.append((staged, destination))
            if digest.hexdigest() != entry["sha256"]:
                raise ApplyError(f"media file {entry['path']!r} does not match its recorded sha256")

    def _commit(self, current: _Open, notification_id: int) -> AppliedRestore:
        conn = current.conn
        self.writer.check_references(conn, current.tables)
        self.writer.advance_sequences(conn, current.tables)
        claim_identity(conn, self.target_id)
        tracking, mark = quote(conn, TRACKING_TABLE), self.writer.mark
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {tracking} (application_name varchar(100) NOT NULL PRIMARY KEY, "
            "notification_id bigint NOT NULL)"
        )
        conn.exec_driver_sql(f"DELETE FROM {tracking} WHERE application_name = {mark}", (self.tracking_name,))
        conn.exec_driver_sql(
            f"INSERT INTO {tracking} (application_name, notification_id) VALUES ({mark}, {mark})",
            (self.tracking_name, notification_id),
        )
        try:
            current.transaction.commit()
        except sa.exc.DBAPIError as error:
            raise ApplyError(f"the target refused the commit: {error.orig}; nothing was written") from None
        for staged, destination in current.staged:
            shutil.move(staged, destination)
        current.staged.clear()
        conn.close()
        self._open = None
        return AppliedRestore(current.restore_id, notification_id, current.rows)

    def _discard(self) -> None:
        """Roll back whatever is open: an interrupted or refused restore leaves nothing behind."""
        current, self._open = self._open, None
        if current is None:
            return
        current.transaction.rollback()
        current.conn.close()
        for staged, _destination in current.staged:
            staged.unlink(missing_ok=True)
