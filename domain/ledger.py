"""The restore run aggregate: every decision of a restore is one of its events.

Row data travels in events but never stays in the aggregate's state: the state
holds only what review and control need (status, counts). Event classes are
declared here by name, so their stored topics stay ``domain.ledger:RestoreRun.<Name>``.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

RECORDING = "recording"
PLANNED = "planned"
APPLYING = "applying"
APPLIED = "applied"
ROLLING_BACK = "rolling back"
ROLLED_BACK = "rolled back"
FAILED = "failed"


class RestoreRun(Aggregate):
    """One restore of one backup into one target."""

    class Started(Aggregate.Created):
        backup: dict[str, Any]
        target: dict[str, Any]
        options: dict[str, Any]
        actor: str
        reason: str
        tool_version: str
        profile_digest: str

    class Validated(Aggregate.Event):
        counts: dict[str, int]
        profile: dict[str, Any]

    class PrimaryKeysAllocated(Aggregate.Event):
        model: str
        table: str
        first: int
        count: int
        reason: str

    class TargetReinitialised(Aggregate.Event):
        evidence: list[dict[str, Any]]

    class RowsMapped(Aggregate.Event):
        model: str
        table: str
        mappings: list[dict[str, Any]]

    class ConflictsRecorded(Aggregate.Event):
        model: str
        table: str
        conflicts: list[dict[str, Any]]

    class RowsUpdated(Aggregate.Event):
        model: str
        table: str
        pk_column: str
        kinds: dict[str, str]
        updates: list[dict[str, Any]]

    class MissingRowsCreated(Aggregate.Event):
        model: str
        table: str
        created: list[dict[str, Any]]

    class UuidsReassigned(Aggregate.Event):
        model: str
        table: str
        field: str
        reassignments: list[dict[str, Any]]

    class PrimaryKeysReassigned(Aggregate.Event):
        model: str
        table: str
        reassignments: list[dict[str, Any]]

    class RowsRecorded(Aggregate.Event):
        model: str
        table: str
        columns: list[str]
        kinds: list[str]
        rows: list[list[Any]]

    class ReferencesDeferred(Aggregate.Event):
        model: str
        table: str
        pk_column: str
        column: str
        pairs: list[list[Any]]

    class MediaRecorded(Aggregate.Event):
        files: list[dict[str, Any]]

    class Recorded(Aggregate.Event):
        counts: dict[str, int]

    class Applied(Aggregate.Event):
        position: int
        duration: float
        counts: dict[str, int]

    class RowsDigested(Aggregate.Event):
        """What an apply wrote to one table: the restored pks as sorted ranges [lo, hi] holding nothing
        else (for a table whose pk is several columns, a composite pk: the key tuples written, in order),
        their row count and the sha256 of those rows (the ``columns``, in pk order). A rollback compares
        them with the target without reading the rows' events; an apply recorded without them is rolled
        back row by row.

        ``form`` says how the sha256 was made (infrastructure/footprint.py): "read", the rows read
        back in the apply's transaction (every apply before version 2, and PostgreSQL's); "written",
        a hash per row of the values as written, in SQLite's stored form (``kinds`` say which values
        SQLite stores in another form), the rows' hashes in pk order."""

        class_version = 2

        table: str
        columns: list[str]
        ranges: list[list[Any]]
        count: int
        sha256: str
        form: str
        kinds: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Recorded before the form was: read back."""
            state["form"] = "read"
            state["kinds"] = []

    class Failed(Aggregate.Event):
        stage: str
        reason: str
        record: str | None

    class ApplyRequested(Aggregate.Event):
        actor: str
        reason: str
        roll_forward: bool

    class RollForwardRefused(Aggregate.Event):
        reason: str

    class RollbackStarted(Aggregate.Event):
        actor: str
        reason: str

    class RolledBack(Aggregate.Event):
        position: int
        duration: float

    class RollbackRefused(Aggregate.Event):
        reason: str

    class ReplayRequested(Aggregate.Event):
        target: dict[str, Any]
        actor: str
        reason: str

    class Replayed(Aggregate.Event):
        target_id: str
        position: int

    class ReplayRefused(Aggregate.Event):
        target_id: str
        reason: str

    class ReportMade(Aggregate.Event):
        format: str
        sha256: str
        actor: str
        reason: str

    class Signed(Aggregate.Event):
        """An electronic signature (21 CFR 11.50): who signed, what it means; the time is the event's."""

        signer: str
        meaning: str
        reason: str

    class RowsUnchanged(Aggregate.Event):
        """Backup rows found in the target with the same values: nothing to write, references follow."""

        model: str
        table: str
        rows: list[dict[str, Any]]

    class PrimaryKeysBound(Aggregate.Event):
        """Pk-only references to rows not in the backup, bound to the target's rows with those pks."""

        model: str
        table: str
        bindings: list[dict[str, Any]]

    class SoftReferencesFollowed(Aggregate.Event):
        """A non-unique UUID column held a restored row's UUID, which was reassigned: it follows."""

        model: str
        table: str
        field: str
        follows: list[dict[str, Any]]

    class GenericReferencesFollowed(Aggregate.Event):
        """A generic foreign key's object id follows its row to the pk the restore gave it."""

        model: str
        table: str
        field: str
        follows: list[dict[str, Any]]

    class LinksAdded(Aggregate.Event):
        """Many-to-many links of backup rows matched onto existing rows, added to those rows."""

        model: str
        table: str
        field: str
        links: list[dict[str, Any]]

    class LinksRemoved(Aggregate.Event):
        """Many-to-many links of rows matched onto existing rows that the backup does not give them
        (``--on-conflict update``), removed from the through table; each with its id, for a rollback.
        ``ends``: the through table's source and target columns, ``kinds``: their kinds."""

        model: str
        table: str
        field: str
        ends: list[str]
        kinds: list[str]
        links: list[dict[str, Any]]

    @event(Started)
    def __init__(
        self,
        *,
        backup: dict[str, Any],
        target: dict[str, Any],
        options: dict[str, Any],
        actor: str,
        reason: str,
        tool_version: str,
        profile_digest: str,
    ) -> None:
        self.backup = backup
        self.target = target
        self.options = options
        self.actor = actor
        self.reason = reason
        self.tool_version = tool_version
        self.profile_digest = profile_digest
        self.status = RECORDING
        self.counts: dict[str, int] = {}
        self.recorded_rows: dict[str, int] = {}
        self.failure: dict[str, Any] | None = None
        self.duration: float | None = None
        self.position: int | None = None
        self.replays: dict[str, str] = {}
        self.rolling_forward = False

    def check_recording(self) -> None:
        if self.status != RECORDING:
            raise ValueError(f"restore {self.id} is {self.status}, not recording")

    def validate(self, counts: dict[str, int], profile: dict[str, Any]) -> None:
        """The backup was read whole: these are its counts and the profile it is restored with."""
        self.check_recording()
        self._validated(counts=counts, profile=profile)

    @event(Validated)
    def _validated(self, counts: dict[str, int], profile: dict[str, Any]) -> None:
        self.counts = counts

    def allocate(self, model: str, table: str, first: int, count: int, reason: str) -> None:
        """``count`` target pks from ``first`` were given to rows of ``model``, in backup order."""
        self.check_recording()
        self._allocated(model=model, table=table, first=first, count=count, reason=reason)

    @event(PrimaryKeysAllocated)
    def _allocated(self, model: str, table: str, first: int, count: int, reason: str) -> None:
        pass

    def detect_reinitialised(self, evidence: list[dict[str, Any]]) -> None:
        """Seeded rows of the target carry other UUIDs or pks than the backup's: a re-initialised target."""
        self.check_recording()
        self._target_reinitialised(evidence=evidence)

    @event(TargetReinitialised)
    def _target_reinitialised(self, evidence: list[dict[str, Any]]) -> None:
        pass

    def map_rows(self, model: str, table: str, mappings: list[dict[str, Any]]) -> None:
        """Backup rows mapped onto existing rows: references to them now point at the existing rows."""
        self.check_recording()
        self._rows_mapped(model=model, table=table, mappings=mappings)

    @event(RowsMapped)
    def _rows_mapped(self, model: str, table: str, mappings: list[dict[str, Any]]) -> None:
        pass

    def mark_unchanged(self, model: str, table: str, rows: list[dict[str, Any]]) -> None:
        """Backup rows that the target holds already with the same values: they are not written."""
        self.check_recording()
        self._rows_unchanged(model=model, table=table, rows=rows)

    @event(RowsUnchanged)
    def _rows_unchanged(self, model: str, table: str, rows: list[dict[str, Any]]) -> None:
        pass

    def bind_pks(self, model: str, table: str, bindings: list[dict[str, Any]]) -> None:
        """Pk-only references bound to existing rows, each with the row's natural key and referrers."""
        self.check_recording()
        self._primary_keys_bound(model=model, table=table, bindings=bindings)

    @event(PrimaryKeysBound)
    def _primary_keys_bound(self, model: str, table: str, bindings: list[dict[str, Any]]) -> None:
        pass

    def follow_soft_references(self, model: str, table: str, field: str, follows: list[dict[str, Any]]) -> None:
        """Values of a soft UUID reference replaced by the referenced row's new UUID."""
        self.check_recording()
        self._soft_references_followed(model=model, table=table, field=field, follows=follows)

    @event(SoftReferencesFollowed)
    def _soft_references_followed(self, model: str, table: str, field: str, follows: list[dict[str, Any]]) -> None:
        pass

    def follow_generic_references(self, model: str, table: str, field: str, follows: list[dict[str, Any]]) -> None:
        """Object ids of a generic foreign key replaced by the referenced row's new pk."""
        self.check_recording()
        self._generic_references_followed(model=model, table=table, field=field, follows=follows)

    @event(GenericReferencesFollowed)
    def _generic_references_followed(self, model: str, table: str, field: str, follows: list[dict[str, Any]]) -> None:
        pass

    def add_links(self, model: str, table: str, field: str, links: list[dict[str, Any]]) -> None:
        """Many-to-many links the backup gives rows matched onto existing rows, which lacked them."""
        self.check_recording()
        self._links_added(model=model, table=table, field=field, links=links)

    @event(LinksAdded)
    def _links_added(self, model: str, table: str, field: str, links: list[dict[str, Any]]) -> None:
        pass

    def remove_links(
        self, model: str, table: str, field: str, ends: list[str], kinds: list[str], links: list[dict[str, Any]]
    ) -> None:
        """Many-to-many links of matched rows that the backup does not give, removed (with their ids)."""
        self.check_recording()
        self._links_removed(model=model, table=table, field=field, ends=ends, kinds=kinds, links=links)

    @event(LinksRemoved)
    def _links_removed(
        self, model: str, table: str, field: str, ends: list[str], kinds: list[str], links: list[dict[str, Any]]
    ) -> None:
        pass

    def record_conflicts(self, model: str, table: str, conflicts: list[dict[str, Any]]) -> None:
        """Backup rows that exist in the target with other values, with the differing fields."""
        self.check_recording()
        self._conflicts_recorded(model=model, table=table, conflicts=conflicts)

    @event(ConflictsRecorded)
    def _conflicts_recorded(self, model: str, table: str, conflicts: list[dict[str, Any]]) -> None:
        pass

    def update_rows(
        self, model: str, table: str, pk_column: str, kinds: dict[str, str], updates: list[dict[str, Any]]
    ) -> None:
        """Existing rows take the backup's values; each update keeps its before image for rollback."""
        self.check_recording()
        self._rows_updated(model=model, table=table, pk_column=pk_column, kinds=kinds, updates=updates)

    @event(RowsUpdated)
    def _rows_updated(
        self, model: str, table: str, pk_column: str, kinds: dict[str, str], updates: list[dict[str, Any]]
    ) -> None:
        pass

    def create_missing(self, model: str, table: str, created: list[dict[str, Any]]) -> None:
        """Rows referenced but found nowhere, created from their natural keys, with who referenced them."""
        self.check_recording()
        self._missing_rows_created(model=model, table=table, created=created)

    @event(MissingRowsCreated)
    def _missing_rows_created(self, model: str, table: str, created: list[dict[str, Any]]) -> None:
        pass

    def reassign_uuids(self, model: str, table: str, field: str, reassignments: list[dict[str, Any]]) -> None:
        """Backup UUIDs replaced by new ones, each with old and new value and the reason."""
        self.check_recording()
        self._uuids_reassigned(model=model, table=table, field=field, reassignments=reassignments)

    @event(UuidsReassigned)
    def _uuids_reassigned(self, model: str, table: str, field: str, reassignments: list[dict[str, Any]]) -> None:
        pass

    def reassign_pks(self, model: str, table: str, reassignments: list[dict[str, Any]]) -> None:
        """Backup pks taken in the target by other rows, replaced by new ones."""
        self.check_recording()
        self._pks_reassigned(model=model, table=table, reassignments=reassignments)

    @event(PrimaryKeysReassigned)
    def _pks_reassigned(self, model: str, table: str, reassignments: list[dict[str, Any]]) -> None:
        pass

    def record_rows(self, model: str, table: str, columns: list[str], kinds: list[str], rows: list[list[Any]]) -> None:
        """Final rows (allocated pks, resolved references) in their logical form."""
        self.check_recording()
        self._rows_recorded(model=model, table=table, columns=columns, kinds=kinds, rows=rows)

    @event(RowsRecorded)
    def _rows_recorded(
        self, model: str, table: str, columns: list[str], kinds: list[str], rows: list[list[Any]]
    ) -> None:
        self.recorded_rows[model] = self.recorded_rows.get(model, 0) + len(rows)

    def defer_references(self, model: str, table: str, pk_column: str, column: str, pairs: list[list[Any]]) -> None:
        """Rows were written with ``column`` empty (a reference cycle); these pairs set it."""
        self.check_recording()
        self._references_deferred(model=model, table=table, pk_column=pk_column, column=column, pairs=pairs)

    @event(ReferencesDeferred)
    def _references_deferred(self, model: str, table: str, pk_column: str, column: str, pairs: list[list[Any]]) -> None:
        pass

    def record_media(self, files: list[dict[str, Any]]) -> None:
        """Media files (path under the media root, sha256, size) the restore writes."""
        self.check_recording()
        self._media_recorded(files=files)

    @event(MediaRecorded)
    def _media_recorded(self, files: list[dict[str, Any]]) -> None:
        pass

    def finish_recording(self) -> None:
        """Every decision is recorded: the restore is planned and may be applied."""
        self.check_recording()
        self._recorded(counts=dict(self.recorded_rows))

    @event(Recorded)
    def _recorded(self, counts: dict[str, int]) -> None:
        self.status = PLANNED
        self.recorded_rows = dict(counts)  # the same: read back without decoding the RowsRecorded events

    def request_apply(self, actor: str, reason: str) -> None:
        """Ask the projection to write the recorded rows: after planning, or again after a rollback."""
        if self.status not in (PLANNED, ROLLED_BACK):
            raise ValueError(f"restore {self.id} is {self.status}; only a planned or rolled back restore is applied")
        self._apply_requested(actor=actor, reason=reason, roll_forward=self.status == ROLLED_BACK)

    @event(ApplyRequested)
    def _apply_requested(self, actor: str, reason: str, roll_forward: bool) -> None:
        self.status = APPLYING
        self.rolling_forward = roll_forward

    def refuse_roll_forward(self, reason: str) -> None:
        """Rolling a rolled back restore forward was refused: it stays rolled back, and may be tried again."""
        if self.status != APPLYING or not self.rolling_forward:
            raise ValueError(f"restore {self.id} is {self.status}, not being rolled forward")
        self._roll_forward_refused(reason=reason)

    @event(RollForwardRefused)
    def _roll_forward_refused(self, reason: str) -> None:
        self.status = ROLLED_BACK
        self.rolling_forward = False

    def digest_rows(
        self,
        table: str,
        columns: list[str],
        ranges: list[list[Any]],
        count: int,
        sha256: str,
        form: str = "read",
        kinds: list[str] | None = None,
    ) -> None:
        """The projection committed this apply's rows of ``table`` in ``ranges``, with this digest."""
        if self.status != APPLYING:
            raise ValueError(f"restore {self.id} is {self.status}, not being applied")
        if form not in ("read", "written"):
            raise ValueError(f"unknown digest form {form!r}")
        self._rows_digested(
            table=table, columns=columns, ranges=ranges, count=count, sha256=sha256, form=form, kinds=kinds or []
        )

    @event(RowsDigested)
    def _rows_digested(
        self,
        table: str,
        columns: list[str],
        ranges: list[list[Any]],
        count: int,
        sha256: str,
        form: str,
        kinds: list[str],
    ) -> None:
        pass

    def complete(self, position: int, duration: float) -> None:
        """The projection committed the restore to the target at ledger ``position``."""
        if self.status != APPLYING:
            raise ValueError(f"restore {self.id} is {self.status}, not being applied")
        self._applied(position=position, duration=duration, counts=dict(self.recorded_rows))

    @event(Applied)
    def _applied(self, position: int, duration: float, counts: dict[str, int]) -> None:
        self.status = APPLIED
        self.position = position
        self.duration = duration

    def start_rollback(self, actor: str, reason: str) -> None:
        """Ask the projection to remove exactly what this restore wrote."""
        if self.status != APPLIED:
            raise ValueError(f"restore {self.id} is {self.status}; only an applied restore can be rolled back")
        self._rollback_started(actor=actor, reason=reason)

    @event(RollbackStarted)
    def _rollback_started(self, actor: str, reason: str) -> None:
        self.status = ROLLING_BACK

    def finish_rollback(self, position: int, duration: float) -> None:
        if self.status != ROLLING_BACK:
            raise ValueError(f"restore {self.id} is {self.status}, not rolling back")
        self._rolled_back(position=position, duration=duration)

    @event(RolledBack)
    def _rolled_back(self, position: int, duration: float) -> None:
        self.status = ROLLED_BACK
        self.position = position

    def refuse_rollback(self, reason: str) -> None:
        """The rollback could not be done without losing something; the restore stays applied."""
        if self.status != ROLLING_BACK:
            raise ValueError(f"restore {self.id} is {self.status}, not rolling back")
        self._rollback_refused(reason=reason)

    @event(RollbackRefused)
    def _rollback_refused(self, reason: str) -> None:
        self.status = APPLIED

    def request_replay(self, target: dict[str, Any], actor: str, reason: str) -> None:
        """Ask the projection of another target to apply this restore's recorded decisions there."""
        if self.status not in (APPLIED, PLANNED, ROLLED_BACK):
            raise ValueError(f"restore {self.id} is {self.status}; it has no complete record to replay")
        if target["id"] == self.target["id"]:
            raise ValueError("a replay goes to another target than the restore's own")
        if self.replays.get(target["id"]) in ("requested", "replayed"):
            raise ValueError(f"restore {self.id} is replayed into target {target['id']} already")
        self._replay_requested(target=target, actor=actor, reason=reason)

    @event(ReplayRequested)
    def _replay_requested(self, target: dict[str, Any], actor: str, reason: str) -> None:
        self.replays[target["id"]] = "requested"

    def finish_replay(self, target_id: str, position: int) -> None:
        self._replayed(target_id=target_id, position=position)

    @event(Replayed)
    def _replayed(self, target_id: str, position: int) -> None:
        self.replays[target_id] = "replayed"

    def refuse_replay(self, target_id: str, reason: str) -> None:
        self._replay_refused(target_id=target_id, reason=reason)

    @event(ReplayRefused)
    def _replay_refused(self, target_id: str, reason: str) -> None:
        self.replays[target_id] = "refused"

    def record_report(self, format: str, sha256: str, actor: str, reason: str) -> None:
        """A report of the restore was made (a file with this sha256), by whom and why."""
        self._report_made(format=format, sha256=sha256, actor=actor, reason=reason)

    @event(ReportMade)
    def _report_made(self, format: str, sha256: str, actor: str, reason: str) -> None:
        pass

    def fail(self, stage: str, reason: str, record: str | None) -> None:
        """The restore was refused or failed; the target is as it was before."""
        if self.status not in (RECORDING, PLANNED, APPLYING):
            raise ValueError(f"restore {self.id} is {self.status}; it cannot fail now")
        self._failed(stage=stage, reason=reason, record=record)

    @event(Failed)
    def _failed(self, stage: str, reason: str, record: str | None) -> None:
        self.status = FAILED
        self.failure = {"stage": stage, "reason": reason, "record": record}

    def sign(self, signer: str, meaning: str, reason: str) -> None:
        """The signer, authenticated again by the adapter, signs the apply or rollback that follows."""
        allowed = {"applied": (PLANNED, ROLLED_BACK), "rolled back": (APPLIED,)}
        if meaning not in allowed:
            raise ValueError(f"a signature means one of {', '.join(allowed)}, not {meaning!r}")
        if self.status not in allowed[meaning]:
            raise ValueError(f"restore {self.id} is {self.status}; it cannot be signed as {meaning}")
        if not reason.strip():
            raise ValueError("a signature needs a reason")
        self._signed(signer=signer, meaning=meaning, reason=reason)

    @event(Signed)
    def _signed(self, signer: str, meaning: str, reason: str) -> None:
        pass


# Events whose bodies leave the aggregate's state as it was: reading a run back need not decode them
# (they hold the row data). RowsRecorded only counts rows, which its run's Recorded event repeats.
STATELESS = (
    RestoreRun.PrimaryKeysAllocated,
    RestoreRun.TargetReinitialised,
    RestoreRun.RowsMapped,
    RestoreRun.RowsUnchanged,
    RestoreRun.PrimaryKeysBound,
    RestoreRun.SoftReferencesFollowed,
    RestoreRun.GenericReferencesFollowed,
    RestoreRun.LinksAdded,
    RestoreRun.LinksRemoved,
    RestoreRun.ConflictsRecorded,
    RestoreRun.RowsUpdated,
    RestoreRun.MissingRowsCreated,
    RestoreRun.UuidsReassigned,
    RestoreRun.PrimaryKeysReassigned,
    RestoreRun.ReferencesDeferred,
    RestoreRun.MediaRecorded,
    RestoreRun.RowsDigested,
)
