"""Restore a backup into a target: read, plan, record every decision, then project it.

Nothing reaches the target that is not first an event of the restore's run in the
ledger; the projection then applies the whole run in one target transaction.
``plan`` stops after recording; ``restore`` is plan and apply in one step.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from application.intents import failure_of
from application.ledger import Ledger, tool_version
from application.report import summaries
from application.settle import fail_interrupted, settle, target_id_for
from domain.errors import BackupError, PlanError, RestoreError
from domain.ledger import APPLIED, APPLYING, PLANNED, RECORDING, RestoreRun
from domain.planning import Index, Options, Planner
from domain.profile import ForeignKey, Kind, Profile
from infrastructure.backup import Backup, BackupInfo, file_digest, open_backup
from infrastructure.checkpoints import checkpoint
from infrastructure.profile_file import load_profile
from infrastructure.spool import Spool
from infrastructure.target import (
    connect,
    existing_keys,
    existing_links,
    hold,
    identity,
    link_max_ids,
    load_rows,
    locked,
    redact,
    same_database,
    taken_values,
)

BATCH_ROWS = 500
CONTENT_TYPES = "contenttypes.contenttype"
EVENTS_PER_SAVE = 8


class Progress(Protocol):
    """Told how far each stage (read, plan, apply) got, and its total where known."""

    def __call__(self, stage: str, count: int, total: int | None = None) -> None: ...


class ConfigurationError(RestoreError):
    stage = "configuration"


@dataclass(frozen=True)
class RestoreRequest:
    backup: Path
    target_url: str
    ledger_url: str
    actor: str
    reason: str
    profile_file: Path | None = None
    media_root: Path | None = None
    dry_run: bool = False
    apply: bool = True
    on_conflict: str = "keep-existing"
    missing_users: str = "create"
    uuids: str = "keep"
    trust_pks: bool = False


@dataclass
class RestoreOutcome:
    restore_id: str
    status: str
    backup: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    deferred: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    media_files: int = 0
    rows_written: int = 0
    seconds: float = 0.0
    resumed: bool = False  # an interrupted run of the same backup was finished instead
    already_present: bool = False  # every record matched an existing row with the same values


class RestoreFailed(RestoreError):
    """A restore that was refused or failed; its run in the ledger says so too."""

    def __init__(self, restore_id: UUID, cause: RestoreError) -> None:
        self.restore_id = restore_id
        self.stage = cause.stage
        super().__init__(cause.problem, cause.record)


def restore(request: RestoreRequest, progress: Progress | None = None) -> RestoreOutcome:
    """Plan ``request`` and, unless it is a plan only, apply it; ``dry_run`` writes nothing anywhere.

    Under the target's lock: first finish or record what earlier runs left unfinished.
    """
    if not request.dry_run and "://" in request.ledger_url and same_database(request.ledger_url, request.target_url):
        raise ConfigurationError("the ledger must not live in the target database: give another --ledger")
    started = time.monotonic()
    engine = connect(request.target_url)
    with _fewer_collections():
        return _locked_restore(request, engine, started, progress)


def _locked_restore(
    request: RestoreRequest, engine: Engine, started: float, progress: Progress | None
) -> RestoreOutcome:
    try:
        profile = load_profile(engine, request.profile_file)
        if request.dry_run:
            target_id = identity(engine) or "dry run"
            return _restore(Ledger("memory:"), None, engine, profile, request, target_id, progress, started)
        ledger = Ledger(request.ledger_url)
        with locked(engine) as conn:
            target_id = target_id_for(ledger, engine) or str(uuid4())
            earlier = settle(ledger, conn, target_id)
            hold(conn)
            fail_interrupted(ledger, target_id)
            finished = _finished_earlier(ledger, earlier.finished, request.backup)
            if finished is not None:
                return finished
            return _restore(ledger, conn, engine, profile, request, target_id, progress, started)
    finally:
        engine.dispose()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A restore keeps one small index entry per record alive to its end: the garbage collector's
    young generations would scan them again and again for nothing (7 % of a 100,000-object
    restore). Collect far less often meanwhile."""
    previous = gc.get_threshold()
    gc.set_threshold(100_000, 50, 50)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _restore(
    ledger: Ledger,
    conn: Connection | None,
    engine: Engine,
    profile: Profile,
    request: RestoreRequest,
    target_id: str,
    progress: Progress | None,
    started: float,
) -> RestoreOutcome:
    opened, problem = _open(request.backup)
    run = _start(ledger, request, engine, profile, opened, target_id)
    try:
        if problem is not None:
            raise problem
        assert opened is not None
        check_not_restored_before(ledger, run)
        outcome = _record(ledger, run, opened, profile, engine, request, progress or _quiet)
        if request.apply and conn is not None:
            run.request_apply(request.actor, request.reason)
            ledger.save(run)
            rows = sum(run.recorded_rows.values())
            on_batch = (lambda count: progress("apply", count, rows)) if progress else None
            failures = settle(ledger, conn, target_id, on_batch=on_batch, planned_under_lock=run.id).failures
            run = ledger.get_run(run.id)
            if run.status != APPLIED:
                raise failure_of(str(run.id), failures, f"restore {run.id} is {run.status}")
            outcome.rows_written = sum(run.recorded_rows.values())
    except (RestoreError, OSError, sa.exc.SQLAlchemyError) as error:
        cause = error if isinstance(error, RestoreError) else RestoreError(f"{type(error).__name__}: {error}")
        run = ledger.get_run(run.id)
        if run.status in (RECORDING, PLANNED, APPLYING):
            run.fail(cause.stage, cause.problem, cause.record)
            ledger.save(run)
        raise RestoreFailed(run.id, cause) from error
    finally:
        if opened is not None:
            opened.close()
    outcome.status = run.status
    outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


def _finished_earlier(ledger: Ledger, finished: list[tuple[str, str]], backup: Path) -> RestoreOutcome | None:
    """An interrupted restore of the same backup that settling just finished: running the same
    command again finishes it, and says so, rather than restoring the backup twice."""
    if not finished or not backup.exists():
        return None
    sha256, _size = file_digest(backup)
    for restore_id, action in finished:
        run = ledger.get_run(restore_id)
        if action == "apply" and run.backup.get("sha256") == sha256:
            return RestoreOutcome(
                restore_id=str(run.id),
                status=run.status,
                backup=run.backup,
                counts=run.counts,
                rows_written=sum(run.recorded_rows.values()),
                resumed=True,
            )
    return None


def check_not_restored_before(ledger: Ledger, run: RestoreRun) -> None:
    """The same backup applied to the same target once already: a second run would only duplicate rows."""
    for earlier in summaries(ledger):
        if (
            earlier["status"] == "applied"
            and earlier["backup"].get("sha256") == run.backup.get("sha256")
            and earlier["target"].get("id") == run.target["id"]
        ):
            raise PlanError(
                f"this backup (sha256 {run.backup['sha256'][:12]}...) was restored into this target already "
                f"by restore {earlier['restore_id']} on {earlier['started_at'][:19]}; nothing was written"
            )


def _quiet(stage: str, count: int, total: int | None = None) -> None:
    """No progress shown."""


def _open(path: Path) -> tuple[Backup | None, BackupError | None]:
    """Open the backup; a backup that cannot be read is still recorded, as a failed run."""
    try:
        return open_backup(path), None
    except BackupError as error:
        return None, error


def _start(
    ledger: Ledger, request: RestoreRequest, engine: Engine, profile: Profile, opened: Backup | None, target_id: str
) -> RestoreRun:
    if opened is not None:
        info = opened.info
    else:
        sha256, size = file_digest(request.backup) if request.backup.is_file() else ("", 0)
        info = BackupInfo(str(request.backup), "unrecognised", sha256, size)
    # a target seen for the first time gets its id from the projection's commit, with the rows
    run = RestoreRun(
        backup=info.to_dict(),
        target={"id": target_id, "url": redact(engine.url), "dialect": engine.dialect.name},
        options={
            "dry_run": request.dry_run,
            "plan_only": not request.apply,
            "profile_file": str(request.profile_file) if request.profile_file else None,
            "media_root": str(request.media_root) if request.media_root else None,
            "on_conflict": request.on_conflict,
            "missing_users": request.missing_users,
            "uuids": request.uuids,
            "trust_pks": request.trust_pks,
        },
        actor=request.actor,
        reason=request.reason,
        tool_version=tool_version(),
        profile_digest=profile.digest(),
    )
    ledger.save(run)
    return run


def _record(
    ledger: Ledger,
    run: RestoreRun,
    opened: Backup,
    profile: Profile,
    engine: Engine,
    request: RestoreRequest,
    progress: Progress,
) -> RestoreOutcome:
    if opened.info.media and request.media_root is None and not request.dry_run:
        raise PlanError(f"the backup holds {len(opened.info.media)} media files: give --media-root")
    index = Index(profile)
    for record in opened.records():
        index.add(record)
        progress("read", 1)
        if record.ordinal == 100:
            checkpoint("read")
    planner = _planner(index, profile, engine, request, run)
    planner.identify()
    planner.existing = load_rows(engine, profile, planner.matched_pks())
    planner.existing_links = existing_links(engine, profile, planner.matched_pks())
    planner.taken_uuids = taken_values(engine, profile, planner.uuid_columns())
    planner.decide_uuids()
    with Spool() as spool:
        for record in opened.records():  # the second streaming pass: no record is held in memory
            built = planner.build(record)
            progress("plan", 1, len(index.model_of))
            if built is None:
                continue
            if built.values:
                spool.append(("rows", built.model), built.values)
            for column, row_pk, value in built.deferred:
                spool.append(("deferred", built.model, column), (row_pk, value))
            for table, source, target in built.links:
                spool.append(("links", table), (source, target))
        planner.finish()
        for label, rows in planner.created_rows().items():
            for row in rows:
                spool.append(("rows", label), row)
        link_tables = sorted(str(key[1]) for key in spool.groups() if isinstance(key, tuple) and key[0] == "links")
        link_first = {table: planner.allocate_link_ids(table, spool.count(("links", table))) for table in link_tables}
        decisions = _record_decisions(run, planner)
        _emit(ledger, run, planner, spool, link_first)
    if opened.info.media:
        run.record_media([{"path": m.path, "sha256": m.sha256, "size": m.size} for m in opened.info.media])
    run.finish_recording()
    ledger.save(run)
    return RestoreOutcome(
        restore_id=str(run.id),
        status=run.status,
        backup=opened.info.to_dict(),
        counts=index.counts(),
        decisions=decisions,
        allocations=[
            {"model": a.model, "table": a.table, "first": a.first, "count": a.count, "reason": a.reason}
            for a in planner.allocations
        ],
        deferred={label: sorted(fields) for label, fields in planner.deferred.items() if fields},
        order=planner.order,
        media_files=len(opened.info.media),
        already_present=bool(index.model_of) and not run.recorded_rows and not planner.decisions.updates,
    )


def _planner(index: Index, profile: Profile, engine: Engine, request: RestoreRequest, run: RestoreRun) -> Planner:
    index.fit_keys()
    labels = set(index.ordinals)
    generic = bool(index.content_types)
    targets = existing_keys(engine, profile, labels | ({CONTENT_TYPES} & set(profile.models) if generic else set()))
    options = Options(
        on_conflict=request.on_conflict,
        missing="fail" if request.missing_users == "fail" else "profile",
        uuids=request.uuids,
        now=datetime.now(UTC).isoformat(),
        trust_pks=request.trust_pks,
    )
    planner = Planner(index, targets, link_max_ids(engine, profile, labels), options)
    labels_named = {planner.label_of_content_type(value) for value in index.content_types}
    named = {label for label in labels_named if label is not None and label in profile.models and label not in targets}
    if named:
        more = existing_keys(engine, profile, named)
        targets.update({label: keys for label, keys in more.items() if label not in targets})
    run.validate(index.counts(), Profile({label: profile.models[label] for label in sorted(targets)}).to_dict())
    return planner


def _chunks(items: list[dict[str, Any]], size: int = BATCH_ROWS) -> list[list[dict[str, Any]]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _record_decisions(run: RestoreRun, planner: Planner) -> dict[str, int]:
    """Every decision becomes an event before any row it concerns is recorded."""
    profile, decisions = planner.profile, planner.decisions
    if decisions.reinitialised:
        run.detect_reinitialised(decisions.reinitialised)
    for allocation in planner.allocations:
        run.allocate(allocation.model, allocation.table, allocation.first, allocation.count, allocation.reason)
    for label, items in sorted(decisions.mapped.items()):
        for chunk in _chunks(items):
            run.map_rows(label, profile.models[label].table, chunk)
    for label, items in sorted(decisions.unchanged.items()):
        for chunk in _chunks(items):
            run.mark_unchanged(label, profile.models[label].table, chunk)
    references = decisions.references
    for label, bound in sorted(references.bound.items()):
        for chunk in _chunks(list(bound.values())):
            run.bind_pks(label, profile.models[label].table, chunk)
    for label, items in sorted(decisions.conflicts.items()):
        for chunk in _chunks(items):
            run.record_conflicts(label, profile.models[label].table, chunk)
    for label, items in sorted(decisions.updates.items()):
        model = profile.models[label]
        kinds = {c.name: c.kind.value for c in model.fields.values()}
        kinds.update({fk.column: Kind.INTEGER.value for fk in model.foreign_keys.values()})
        for chunk in _chunks(items):
            run.update_rows(label, model.table, model.pk.name, kinds, chunk)
    for label, created in sorted(decisions.created.items()):
        entries = [{k: v for k, v in c.items() if k != "row"} for c in created.values()]
        for chunk in _chunks(entries):
            run.create_missing(label, profile.models[label].table, chunk)
    for (label, name), items in sorted(decisions.uuids.items()):
        for chunk in _chunks(items):
            run.reassign_uuids(label, profile.models[label].table, name, chunk)
    for label, items in sorted(decisions.pks.items()):
        for chunk in _chunks(items):
            run.reassign_pks(label, profile.models[label].table, chunk)
    for (label, name), items in sorted(references.soft.items()):
        for chunk in _chunks(items):
            run.follow_soft_references(label, profile.models[label].table, name, chunk)
    for (label, name), items in sorted(references.generic.items()):
        for chunk in _chunks(items):
            run.follow_generic_references(label, profile.models[label].table, name, chunk)
    for (label, name), items in sorted(references.links.items()):
        for chunk in _chunks(items):
            run.add_links(label, profile.models[label].many_to_many[name].table, name, chunk)
    return {
        "mapped": sum(map(len, decisions.mapped.values())),
        "unchanged": sum(map(len, decisions.unchanged.values())),
        "conflicts": sum(map(len, decisions.conflicts.values())),
        "updated": sum(map(len, decisions.updates.values())),
        "created": sum(map(len, decisions.created.values())),
        "uuids reassigned": sum(map(len, decisions.uuids.values())),
        "pks reassigned": sum(map(len, decisions.pks.values())),
        "pks allocated": sum(a.count for a in planner.allocations),
        **references.counts(),
    }


def _emit(ledger: Ledger, run: RestoreRun, planner: Planner, spool: Spool, link_first: dict[str, int]) -> None:
    """Row batches in write order: models, then M2M links, then the deferred references."""
    pending = 0

    def batches(model: str, table: str, columns: list[str], kinds: list[str], rows: Any) -> None:
        nonlocal pending
        batch: list[list[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH_ROWS:
                run.record_rows(model, table, columns, kinds, batch)
                batch = []
                pending += 1
                if pending == EVENTS_PER_SAVE:
                    ledger.save(run)
                    pending = 0
        if batch:
            run.record_rows(model, table, columns, kinds, batch)
            pending += 1

    profile = planner.profile
    for label in planner.order:
        model = profile.models[label]
        kinds = [model.pk.kind.value, *(c.kind.value for c in model.fields.values())]
        kinds += [_reference_kind(profile, fk) for fk in model.foreign_keys.values()]
        batches(label, model.table, planner.columns(label), kinds, spool.read(("rows", label)))
    ledger.save(run)
    checkpoint("record")
    for label in sorted(profile.models):
        for m2m in profile.models[label].many_to_many.values():
            if m2m.table not in link_first:
                continue
            first = link_first[m2m.table]
            rows = ([first + i, source, target] for i, (source, target) in enumerate(spool.read(("links", m2m.table))))
            kinds = [Kind.INTEGER.value, profile.models[label].pk.kind.value, profile.models[m2m.model].pk.kind.value]
            batches(label, m2m.table, ["id", m2m.source_column, m2m.target_column], kinds, rows)
            ledger.save(run)
    for label in planner.order:
        model = profile.models[label]
        for name in sorted(planner.deferred.get(label, ())):
            fk = model.foreign_keys[name]
            pairs = [[pk, value] for pk, value in spool.read(("deferred", label, fk.column))]
            for start in range(0, len(pairs), BATCH_ROWS * 4):
                run.defer_references(
                    label, model.table, model.pk.name, fk.column, pairs[start : start + BATCH_ROWS * 4]
                )
            ledger.save(run)
    ledger.save(run)


def _reference_kind(profile: Profile, fk: ForeignKey) -> str:
    """The kind of a foreign key column: the referenced pk's, or its ``to_field``'s."""
    referenced = profile.models.get(fk.model)
    if referenced is None:
        return Kind.INTEGER.value
    if fk.to_field and fk.to_field in referenced.fields:
        return referenced.fields[fk.to_field].kind.value
    return referenced.pk.kind.value
