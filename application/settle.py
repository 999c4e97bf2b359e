"""Bring a target and the ledger level: carry out pending intents, record what the target did.

Every command that writes a target starts and ends here, under the target's lock. A run
interrupted anywhere is thereby finished, or its failure recorded, by the next command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from sqlalchemy.engine import Connection, Engine

from application.ledger import Ledger
from application.report import summaries
from domain.ledger import APPLYING, PLANNED, RECORDING, ROLLING_BACK, RestoreRun
from infrastructure.projection import APPLY, REPLAY, ROLLBACK, IntentFailed, Projection
from infrastructure.target import applied_in_target, identity, redact

MAX_REFUSALS = 100
DIGESTS_PER_SAVE = 20  # each up to footprint.RANGES_PER_EVENT ranges: saves stay well under a megabyte


@dataclass
class Settled:
    failures: list[IntentFailed] = field(default_factory=list)
    finished: list[tuple[str, str]] = field(default_factory=list)  # (restore id, action) recorded now


def settle(
    ledger: Ledger,
    conn: Connection,
    target_id: str,
    on_batch: Callable[[int], None] | None = None,
    planned_under_lock: UUID | None = None,
) -> Settled:
    """Carry out every pending intent for the target; record refusals and outcomes in the ledger."""
    settled = Settled()
    failures = settled.failures
    owner = (ledger.ledger_id(), ledger.location)
    digests: dict[str, list[dict[str, Any]]] = {}
    for _ in range(MAX_REFUSALS):
        projection = Projection(conn, ledger, target_id, on_batch, planned_under_lock, owner)
        try:
            for done in projection.run():
                if done.action == APPLY and done.digests:
                    digests[str(done.restore_id)] = done.digests
            break
        except IntentFailed as failed:
            digests.update({str(d.restore_id): d.digests for d in projection.done if d.action == APPLY and d.digests})
            _record_refusal(ledger, failed, target_id)
            failures.append(failed)
    settled.finished = record_outcomes(ledger, conn, target_id, digests)
    return settled


def _record_refusal(ledger: Ledger, failed: IntentFailed, target_id: str) -> None:
    run = ledger.get_run(failed.restore_id)
    if failed.action == APPLY and run.rolling_forward:
        run.refuse_roll_forward(str(failed))
    elif failed.action == APPLY:
        run.fail(failed.stage, failed.problem, failed.record)
    elif failed.action == ROLLBACK:
        run.refuse_rollback(str(failed))
    else:
        run.refuse_replay(target_id, str(failed))
    ledger.save(run)


def record_outcomes(
    ledger: Ledger, conn: Connection, target_id: str, digests: dict[str, list[dict[str, Any]]] | None = None
) -> list[tuple[str, str]]:
    """What the target says it carried out, the ledger records, also after a crash between the two.
    ``digests``: what this process's applies wrote, by restore id, recorded before their Applied."""
    if conn.dialect.name != "sqlite" and conn.in_transaction():
        conn.commit()
    done = {(entry["restore_id"], entry["action"]): entry for entry in applied_in_target(conn.engine)}
    now = datetime.now(UTC)
    finished: list[tuple[str, str]] = []
    for summary in summaries(ledger):
        restore_id, status = summary["restore_id"], summary["status"]
        ours = summary["target"]["id"] == target_id
        applied, rolled_back = done.get((restore_id, APPLY)), done.get((restore_id, ROLLBACK))
        if (
            ours
            and status == APPLYING
            and applied
            and applied["notification_id"] >= summary["apply_requested_position"]
        ):
            duration = _since(summary["apply_requested_at"], now)
            _record_digests(ledger, restore_id, (digests or {}).get(restore_id, []))
            outcome = partial(RestoreRun.complete, position=applied["notification_id"], duration=duration)
            if _record(ledger, restore_id, APPLYING, outcome):
                finished.append((restore_id, APPLY))
        elif (
            ours
            and status == ROLLING_BACK
            and rolled_back
            and rolled_back["notification_id"] >= summary["rollback_started_position"]
        ):
            duration = _since(summary["rollback_started_at"], now)
            position = rolled_back["notification_id"]
            outcome = partial(RestoreRun.finish_rollback, position=position, duration=duration)
            if _record(ledger, restore_id, ROLLING_BACK, outcome):
                finished.append((restore_id, ROLLBACK))
        elif summary["replays"].get(target_id, {}).get("status") == "requested" and (restore_id, REPLAY) in done:
            position = done[(restore_id, REPLAY)]["notification_id"]
            outcome = partial(RestoreRun.finish_replay, target_id=target_id, position=position)
            if _record(ledger, restore_id, None, outcome):
                finished.append((restore_id, REPLAY))
    return finished


def _record(ledger: Ledger, restore_id: str, expected: str | None, outcome: Callable[[RestoreRun], None]) -> bool:
    """Record an outcome unless another process recorded it first (it may, between our reads)."""
    run = ledger.get_run(restore_id)
    if expected is not None and run.status != expected:
        return False
    outcome(run)
    try:
        ledger.save(run)
    except IntegrityError:  # the other process's event took this version
        return False
    return True


def _record_digests(ledger: Ledger, restore_id: str, digests: list[dict[str, Any]]) -> None:
    """The apply's RowsDigested events, a few per save; none when another process records the outcome."""
    run = ledger.get_run(restore_id)
    if not digests or run.status != APPLYING:
        return
    try:
        for start in range(0, len(digests), DIGESTS_PER_SAVE):
            for entry in digests[start : start + DIGESTS_PER_SAVE]:
                run.digest_rows(**entry)
            ledger.save(run)
    except IntegrityError:  # the other process recorded the outcome first: rolled back row by row
        return


def _since(moment: str, now: datetime) -> float:
    return round((now - datetime.fromisoformat(moment)).total_seconds(), 3)


def target_id_for(ledger: Ledger, engine: Engine) -> str | None:
    """The target's id: its own once a restore was applied to it; before that, the id an unfinished
    run recorded for the same URL, so that the next command on it finds that run."""
    found = identity(engine)
    if found is not None:
        return found
    url = redact(engine.url)
    unfinished = [
        run["target"]["id"]
        for run in summaries(ledger)
        if run["target"]["url"] == url and run["status"] in (RECORDING, PLANNED, APPLYING)
    ]
    return unfinished[-1] if unfinished else None


def fail_interrupted(ledger: Ledger, target_id: str) -> list[str]:
    """Runs of this target still recording while we hold its lock were interrupted: say so."""
    interrupted = []
    for summary in summaries(ledger):
        if summary["target"]["id"] == target_id and summary["status"] == RECORDING:
            run = ledger.get_run(summary["restore_id"])
            run.fail("interrupted", "the process recording this restore stopped before it finished", None)
            ledger.save(run)
            interrupted.append(summary["restore_id"])
    return interrupted
