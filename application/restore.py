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
from dataclasses import replace
from pathlib import Path
from uuid import UUID, uuid4

import sqlalchemy as sa
from eventsourcing.persistence import PersistenceError
from sqlalchemy.engine import Connection, Engine

from application.guard import guard, refuse_for_a_new_ledger
from application.intents import failure_of
from application.ledger import Ledger, tool_version
from application.package_check import required_key, signature_problem
from application.progress import Progress
from application.recording import record_backup
from application.report import summaries
from application.restore_request import ConfigurationError, RestoreFailed, RestoreOutcome, RestoreRequest
from application.settle import fail_interrupted, record_outcomes, settle, target_id_for
from domain.errors import BackupError, PlanError, RestoreError
from domain.ledger import APPLIED, APPLYING, PLANNED, RECORDING, RestoreRun
from domain.profile import Profile
from infrastructure.backup import Backup, BackupInfo, file_digest, open_backup
from infrastructure.profile_file import load_profile
from infrastructure.reading import Limits
from infrastructure.target import (
    applied_in_target,
    connect,
    hold,
    identity,
    locked,
    redact,
    same_database,
)

__all__ = ["ConfigurationError", "RestoreFailed", "RestoreOutcome", "RestoreRequest", "absolute", "restore"]


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
        outcome = record_backup(ledger, run, opened, profile, engine, request, progress or _quiet)
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
