"""Rebuild a target from the ledger into a fresh database: every restore of the original that is
applied now, in the order the original received them (roll-forwards included), all in one
transaction. Recorded as a replay of each restore into the new target, with actor and reason."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

from application.guard import TargetRefused, guard, identify
from application.intents import Refused
from application.ledger import Ledger
from application.report import summaries
from application.settle import record_outcomes
from domain.ledger import APPLIED
from infrastructure.projection import IntentFailed
from infrastructure.rebuild_projection import AtomicProjection
from infrastructure.target import connect, locked, redact


@dataclass
class RebuildOutcome:
    target_id: str
    original_id: str
    restores: list[str]
    seconds: float


@dataclass(frozen=True)
class RebuildRequest:
    target_url: str
    ledger_url: str
    of: str | None
    media_root: Path | None
    backup_dir: Path | None
    media_store: Path | None
    actor: str
    reason: str


class RebuildRefused(Refused):
    stage = "rebuild"


def rebuild_target(request: RebuildRequest) -> RebuildOutcome:
    """Refuse, leaving the new target as it was, when any restore cannot be replayed into it."""
    started = time.monotonic()
    ledger = Ledger(request.ledger_url)
    runs = summaries(ledger)
    of = request.of or _only_target(runs)
    wanted = sorted(
        (run for run in runs if run["target"]["id"] == of and run["status"] == APPLIED),
        key=lambda run: run["apply_requested_position"],  # the apply that holds: after any roll-forward
    )
    if not wanted:
        raise RebuildRefused(f"the ledger has no applied restore of target {of}; nothing to rebuild")
    engine = connect(request.target_url)
    url = redact(engine.url)
    try:
        with locked(engine) as conn:
            found = identify(ledger, conn)
            if found.held:
                raise TargetRefused(
                    f"target {url} has the id {found.target_id}: a rebuild goes into a fresh database that no "
                    "restore was applied to; nothing was written"
                )
            target_id = str(uuid4())
            guard(ledger, conn, target_id, request.actor, request.reason)
            target = {"id": target_id, "url": url, "dialect": engine.dialect.name, "rebuild_of": of}
            if request.media_root is not None:
                target["media_root"] = str(request.media_root.resolve())
            for summary in wanted:
                run = ledger.get_run(summary["restore_id"])
                run.request_replay(target, request.actor, request.reason)
                ledger.save(run)
            projection = AtomicProjection(conn, ledger, target_id, owner=(ledger.ledger_id(), ledger.location))
            projection.backup_dir = request.backup_dir
            projection.media_store = request.media_store
            try:
                projection.run()
            except IntentFailed as failed:
                for summary in wanted:
                    run = ledger.get_run(summary["restore_id"])
                    run.refuse_replay(target_id, f"the rebuild was refused at restore {failed.restore_id}: {failed}")
                    ledger.save(run)
                raise RebuildRefused(
                    f"rebuild refused at restore {failed.restore_id}, nothing was written to {url}: {failed}"
                ) from None
            record_outcomes(ledger, conn, target_id)
    finally:
        engine.dispose()
    restores = [summary["restore_id"] for summary in wanted]
    return RebuildOutcome(target_id, of, restores, round(time.monotonic() - started, 3))


def _only_target(runs: list[dict[str, str | dict[str, str]]]) -> str:
    targets = sorted({str(run["target"]["id"]) for run in runs if run["status"] == APPLIED})  # type: ignore[index]
    if len(targets) != 1:
        raise RebuildRefused(
            f"the ledger has applied restores of {len(targets)} targets; choose one with --of: {targets}"
        )
    return targets[0]
