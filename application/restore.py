"""Restore a backup into a target: read, plan, record every decision, then project it.

Nothing reaches the target that is not first an event of the restore's run in the
ledger; the projection then applies the whole run in one target transaction.
``plan`` stops after recording; ``restore`` is plan and apply in one step.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from eventsourcing.persistence import PersistenceError
from sqlalchemy.engine import Connection, Engine

from application.guard import guard, refuse_for_a_new_ledger
from application.intents import failure_of
from application.ledger import Ledger, tool_version
from application.package_check import profile_differences, required_key, signature_problem
from application.progress import Progress
from application.report import summaries
from application.settle import fail_interrupted, record_outcomes, settle, target_id_for
from application.symmetry import settle_symmetry
from application.unconstrained import settle_unconstrained
from domain.errors import BackupError, PlanError, ProfileError, RestoreError
from domain.ledger import APPLIED, APPLYING, PLANNED, RECORDING, RestoreRun
from domain.planning import Index, Options, Planner
from domain.profile import ForeignKey, Kind, Profile
from domain.records import Record
from infrastructure.backup import Backup, BackupInfo, file_digest, open_backup
from infrastructure.checkpoints import checkpoint
from infrastructure.profile_file import load_profile
from infrastructure.reading import Limits
from infrastructure.spool import Spool
from infrastructure.target import (
    applied_in_target,
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
from infrastructure.target_schema import applied_migrations, table_columns

BATCH_ROWS = 500
CONTENT_TYPES = "contenttypes.contenttype"
EVENTS_PER_SAVE = 8
# a row event's rows, in bytes as spooled: a save of EVENTS_PER_SAVE events stays near 4 MB before
# compression, under the size at which psycopg's pipeline mode (eventsourcing.postgres) can hang
EVENT_BYTES = 512 * 1024
PROGRESS_STEP = 1000  # records per progress report
RECORDS = "records"  # the spool's key for the backup's records


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
    limits: Limits = field(default_factory=Limits)
    restore_id: UUID | None = None  # chosen by an adapter that names the run before it starts (web jobs)
    require_signature: bool = False
    public_key: Path | None = None
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
    request = absolute(request)
    try:
        required = required_key(request.require_signature, request.public_key)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    started = time.monotonic()
    engine = connect(request.target_url)
    if not request.dry_run and same_database(request.ledger_url, engine):
        engine.dispose()
        raise ConfigurationError("the ledger must not live in the target database: give another --ledger")
    with _fewer_collections():
        return _locked_restore(request, engine, started, progress, required)


def absolute(request: RestoreRequest) -> RestoreRequest:
    """Paths are recorded absolute: a later command from another directory finds the same files."""
    return replace(
        request,
        backup=request.backup.absolute(),
        media_root=request.media_root.resolve() if request.media_root else None,
        profile_file=request.profile_file.resolve() if request.profile_file else None,
    )


def _locked_restore(
    request: RestoreRequest, engine: Engine, started: float, progress: Progress | None, required: str | None
) -> RestoreOutcome:
    opened: Backup | None = None
    try:
        opened, problem = _open(request.backup, request.limits, required)
        profile = load_profile(engine, request.profile_file, opened.profile_text() if opened is not None else None)
        if request.dry_run:
            target_id = identity(engine) or "dry run"
            return _restore(Ledger("memory:"), None, engine, profile, request, target_id, progress, started,
                            (opened, problem))  # fmt: skip
        refuse_for_a_new_ledger(request.ledger_url, engine)
        ledger = Ledger(request.ledger_url, create=True)
        with locked(engine) as conn:
            target_id = target_id_for(ledger, engine) or str(uuid4())
            guard(ledger, conn, target_id, request.actor, request.reason)
            earlier = settle(ledger, conn, target_id)
            hold(conn)
            fail_interrupted(ledger, target_id)
            finished = _finished_earlier(ledger, earlier.finished, request.backup)
            if finished is not None:
                return finished
            return _restore(ledger, conn, engine, profile, request, target_id, progress, started, (opened, problem))
    finally:
        if opened is not None:
            opened.close()
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
    backup: tuple[Backup | None, BackupError | None],
) -> RestoreOutcome:
    opened, problem = backup
    run = _start(ledger, request, engine, profile, opened, target_id)
    try:
        if problem is not None:
            raise problem
        assert opened is not None
        check_not_restored_before(ledger, run, held_restores(engine))
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
    except UNEXPECTED as error:
        cause = error if isinstance(error, RestoreError) else RestoreError(f"{type(error).__name__}: {error}")
        if conn is not None and _applied_anyway(ledger, conn, target_id, run.id):
            after = RestoreError(f"the restore was applied to the target, but then: {cause.problem}", cause.record)
            after.stage = "after apply"
            raise RestoreFailed(run.id, after) from error
        raise RestoreFailed(run.id, _record_failure(ledger, run.id, cause)) from error
    finally:
        if opened is not None:
            opened.close()
    outcome.status = run.status
    outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


# what may stop a restore midway; each is recorded as the run's failure
UNEXPECTED = (
    RestoreError,
    OSError,
    sa.exc.SQLAlchemyError,
    PersistenceError,
    MemoryError,
    RecursionError,
    UnicodeError,
)


def _applied_anyway(ledger: Ledger, conn: Connection, target_id: str, restore_id: UUID) -> bool:
    """A failure after the target's commit (a media file's rename, say): the ledger records what the
    target did, applied, rather than a failure the target contradicts."""
    try:
        record_outcomes(ledger, conn, target_id)
        return ledger.get_run(restore_id).status == APPLIED
    except (PersistenceError, sa.exc.SQLAlchemyError, RestoreError):
        return False


def _record_failure(ledger: Ledger, restore_id: UUID, cause: RestoreError) -> RestoreError:
    """Record the run failed, with stage and reason; a ledger that cannot be written says so in the message."""
    try:
        run = ledger.get_run(restore_id)
        if run.status in (RECORDING, PLANNED, APPLYING):
            run.fail(cause.stage, cause.problem, cause.record)
            ledger.save(run)
    except PersistenceError as error:
        unrecorded = RestoreError(
            f"{cause.problem}; the ledger could not record this failure ({error}): the next command on this "
            "target records the run as interrupted",
            cause.record,
        )
        unrecorded.stage = cause.stage
        return unrecorded
    return cause


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


def held_restores(engine: Engine) -> set[str]:
    """Restores this database holds by its own record (also those it holds as a copy of another target)."""
    last = {entry["restore_id"]: entry["action"] for entry in applied_in_target(engine)}
    return {restore_id for restore_id, action in last.items() if action != "rollback"}


def check_not_restored_before(ledger: Ledger, run: RestoreRun, held: set[str] | None = None) -> None:
    """The same backup applied to the same target once already: a second run would only duplicate rows."""
    held = held or set()
    for earlier in summaries(ledger):
        if earlier["backup"].get("sha256") == run.backup.get("sha256") and (
            (earlier["status"] == "applied" and earlier["target"].get("id") == run.target["id"])
            or earlier["restore_id"] in held
        ):
            raise PlanError(
                f"this backup (sha256 {run.backup['sha256'][:12]}...) was restored into this target already "
                f"by restore {earlier['restore_id']} on {earlier['started_at'][:19]}; nothing was written"
            )


def _quiet(stage: str, count: int, total: int | None = None) -> None:
    """No progress shown."""


def _open(path: Path, limits: Limits, required_key: str | None) -> tuple[Backup | None, BackupError | None]:
    """Open the backup; a backup that cannot be read, or is not signed as required, is still
    recorded, as a failed run."""
    try:
        opened = open_backup(path, limits)
    except BackupError as error:
        return None, error
    problem = signature_problem(opened.info.manifest, required_key)
    if problem is not None:
        return opened, problem
    return opened, None


def _start(
    ledger: Ledger, request: RestoreRequest, engine: Engine, profile: Profile, opened: Backup | None, target_id: str
) -> RestoreRun:
    if opened is not None:
        info = opened.info
    else:
        sha256, size = file_digest(request.backup) if request.backup.is_file() else ("", 0)
        info = BackupInfo(str(request.backup), "unrecognised", sha256, size)
    # a target seen for the first time gets its id from the projection's commit, with the rows
    run = RestoreRun._create(
        RestoreRun.Started,
        id=request.restore_id or uuid4(),
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
            "limits": request.limits.to_dict(),
            "require_signature": request.require_signature,
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
    with Spool() as spool:
        index = _read(opened, profile, spool, progress)
        settle_symmetry(profile, set(index.ordinals), index.self_links, engine)
        settle_unconstrained(profile, index, engine)
        if opened.profile_text() is not None:
            check_package_profile(opened, profile, engine, set(index.ordinals))
        planner = _planner(index, profile, engine, request, run)
        planner.identify()
        planner.existing = load_rows(engine, profile, planner.matched_pks())
        planner.existing_links = existing_links(engine, profile, planner.matched_pks())
        planner.taken_uuids = taken_values(engine, profile, planner.uuid_columns())
        planner.decide_uuids()
        total = len(index.model_of)
        for ordinal, model, pk, fields in spool.read(RECORDS):  # the second pass reads the spool back
            built = planner.build(Record(ordinal, model, pk, fields))
            if ordinal % PROGRESS_STEP == 0 or ordinal == total:
                progress("plan", ordinal % PROGRESS_STEP or PROGRESS_STEP, total)
            if built is None:
                continue
            if built.values:
                spool.append(("rows", built.model), built.values)
            for column, row_pk, value in built.deferred:
                spool.append(("deferred", built.model, column), (row_pk, value))
            for table, source, target in built.links:
                spool.append(("links", table), (source, target))
        for table, source, target in planner.symmetric_links():
            spool.append(("links", table), (source, target))
        planner.finish()
        for label, rows in planner.created_rows().items():
            for row in rows:
                spool.append(("rows", label), row)
        link_tables = sorted(str(key[1]) for key in spool.groups() if isinstance(key, tuple) and key[0] == "links")
        link_first = {table: planner.allocate_link_ids(table, spool.count(("links", table))) for table in link_tables}
        decisions = _record_decisions(run, planner, lambda items: _saved_chunks(ledger, run, items))
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
        already_present=bool(index.model_of)
        and not run.recorded_rows
        and not planner.decisions.updates
        and not planner.decisions.references.unlinked,
    )


def _read(opened: Backup, profile: Profile, spool: Spool, progress: Progress) -> Index:
    """The backup's one pass: each record is indexed and spooled to disk in a compact form, so that
    planning reads the spool back instead of parsing the backup again (a second parse cost as much
    as the first). The backup is hashed as it is read: what is restored is what was recorded."""
    index = Index(profile)
    for record in opened.records():
        index.add(record)
        spool.append(RECORDS, (record.ordinal, record.model, record.pk, record.fields))
        if record.ordinal % PROGRESS_STEP == 0:
            progress("read", PROGRESS_STEP)
        if record.ordinal == 100:
            checkpoint("read")
    progress("read", len(index.model_of) % PROGRESS_STEP)
    return index


def check_package_profile(opened: Backup, profile: Profile, engine: Engine, labels: set[str]) -> None:
    """The backup's own profile against the target's schema: every difference, before anything is written."""
    source = (opened.info.manifest or {}).get("source_system") or {}
    migrations = source.get("migrations", {}) if isinstance(source, dict) else {}
    differences = profile_differences(profile, labels, table_columns(engine), migrations, applied_migrations(engine))
    if differences:
        raise ProfileError(
            f"the backup's profile does not fit the target ({len(differences)} differences): "
            + "; ".join(differences)
            + "; nothing was written"
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
        text_allows_nul=engine.dialect.name != "postgresql",
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


def _saved_chunks(ledger: Ledger, run: RestoreRun, items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``items`` in chunks; the events made from each are saved a few at a time, as they come."""
    for chunk in _chunks(items):
        yield chunk
        _save_some(ledger, run)


def _record_decisions(
    run: RestoreRun, planner: Planner, chunks: Callable[[list[dict[str, Any]]], Iterator[list[dict[str, Any]]]]
) -> dict[str, int]:
    """Every decision becomes an event before any row it concerns is recorded, a chunk per event
    (``chunks`` saves the events as they come)."""
    profile, decisions = planner.profile, planner.decisions
    if decisions.reinitialised:
        run.detect_reinitialised(decisions.reinitialised)
    for allocation in planner.allocations:
        run.allocate(allocation.model, allocation.table, allocation.first, allocation.count, allocation.reason)
    for label, items in sorted(decisions.mapped.items()):
        for chunk in chunks(items):
            run.map_rows(label, profile.models[label].table, chunk)
    for label, items in sorted(decisions.unchanged.items()):
        for chunk in chunks(items):
            run.mark_unchanged(label, profile.models[label].table, chunk)
    references = decisions.references
    for label, bound in sorted(references.bound.items()):
        for chunk in chunks(list(bound.values())):
            run.bind_pks(label, profile.models[label].table, chunk)
    for label, items in sorted(decisions.conflicts.items()):
        for chunk in chunks(items):
            run.record_conflicts(label, profile.models[label].table, chunk)
    for label, items in sorted(decisions.updates.items()):
        model = profile.models[label]
        kinds = {c.name: c.kind.value for c in model.fields.values()}
        kinds.update({fk.column: Kind.INTEGER.value for fk in model.foreign_keys.values()})
        for chunk in chunks(items):
            run.update_rows(label, model.table, model.pk.name, kinds, chunk)
    for label, created in sorted(decisions.created.items()):
        entries = [{k: v for k, v in c.items() if k != "row"} for c in created.values()]
        for chunk in chunks(entries):
            run.create_missing(label, profile.models[label].table, chunk)
    for (label, name), items in sorted(decisions.uuids.items()):
        for chunk in chunks(items):
            run.reassign_uuids(label, profile.models[label].table, name, chunk)
    for label, items in sorted(decisions.pks.items()):
        for chunk in chunks(items):
            run.reassign_pks(label, profile.models[label].table, chunk)
    for (label, name), items in sorted(references.soft.items()):
        for chunk in chunks(items):
            run.follow_soft_references(label, profile.models[label].table, name, chunk)
    for (label, name), items in sorted(references.generic.items()):
        for chunk in chunks(items):
            run.follow_generic_references(label, profile.models[label].table, name, chunk)
    for (label, name), items in sorted(references.links.items()):
        for chunk in chunks(items):
            run.add_links(label, profile.models[label].many_to_many[name].table, name, chunk)
    for (label, name), items in sorted(references.unlinked.items()):
        model = profile.models[label]
        m2m = model.many_to_many[name]
        ends = [model.pk.kind.value, profile.models[m2m.model].pk.kind.value]
        for chunk in chunks(items):
            run.remove_links(label, m2m.table, name, [m2m.source_column, m2m.target_column], ends, chunk)
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

    def batches(model: str, table: str, columns: list[str], kinds: list[str], rows: Any, size: int) -> None:
        per_event = max(1, min(BATCH_ROWS, EVENT_BYTES // size))  # wide rows: fewer per event
        batch: list[list[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == per_event:
                run.record_rows(model, table, columns, kinds, batch)
                batch = []
                _save_some(ledger, run)
        if batch:
            run.record_rows(model, table, columns, kinds, batch)
            _save_some(ledger, run)

    profile = planner.profile
    for label in planner.order:
        model = profile.models[label]
        kinds = [*([] if model.composite else [model.pk.kind.value]), *(c.kind.value for c in model.fields.values())]
        kinds += [_reference_kind(profile, fk) for fk in model.foreign_keys.values()]
        size = spool.item_size(("rows", label))
        batches(label, model.table, planner.columns(label), kinds, spool.read(("rows", label)), size)
    ledger.save(run)
    checkpoint("record")
    emitted: set[str] = set()  # a proxy's profile may list its concrete model's through tables too
    for label in sorted(profile.models):
        for m2m in profile.models[label].many_to_many.values():
            if m2m.table not in link_first or m2m.table in emitted:
                continue
            emitted.add(m2m.table)
            first = link_first[m2m.table]
            rows = ([first + i, source, target] for i, (source, target) in enumerate(spool.read(("links", m2m.table))))
            kinds = [Kind.INTEGER.value, profile.models[label].pk.kind.value, profile.models[m2m.model].pk.kind.value]
            size = spool.item_size(("links", m2m.table))
            batches(label, m2m.table, ["id", m2m.source_column, m2m.target_column], kinds, rows, size)
            ledger.save(run)
    for label in planner.order:
        model = profile.models[label]
        for name in sorted(planner.deferred.get(label, ())):
            fk = model.foreign_keys[name]
            pairs: list[list[Any]] = []
            for pk, value in spool.read(("deferred", label, fk.column)):
                pairs.append([pk, value])
                if len(pairs) == BATCH_ROWS * 4:
                    run.defer_references(label, model.table, model.pk.name, fk.column, pairs)
                    pairs = []
                    _save_some(ledger, run)
            if pairs:
                run.defer_references(label, model.table, model.pk.name, fk.column, pairs)
            ledger.save(run)
    ledger.save(run)


def _save_some(ledger: Ledger, run: RestoreRun) -> None:
    """Save once a few events are pending: each save stays small (a few MB at most, whatever the
    backup), and memory does not hold more than those events."""
    if len(run.pending_events) >= EVENTS_PER_SAVE:
        ledger.save(run)


def _reference_kind(profile: Profile, fk: ForeignKey) -> str:
    """The kind of a foreign key column: the referenced pk's, or its ``to_field``'s."""
    referenced = profile.models.get(fk.model)
    if referenced is None:
        return Kind.INTEGER.value
    if fk.to_field and fk.to_field in referenced.fields:
        return referenced.fields[fk.to_field].kind.value
    return referenced.pk.kind.value
