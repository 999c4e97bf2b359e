"""Rebuild a target from the ledger: every restore of it that is applied, in ledger order."""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from application.intents import Refused
from application.ledger import Ledger
from application.report import summaries
from application.settle import settle
from domain.ledger import APPLIED
from infrastructure.target import applied_in_target, connect, identity, locked, redact


@dataclass
class RebuildOutcome:
    target_id: str
    restores: list[str]
    seconds: float


def rebuild_target(
    target_url: str, ledger_url: str, of: str | None, actor: str = "", reason: str = ""
) -> RebuildOutcome:
    """Run the projection from its position (zero for a fresh target holding the schema and seed)
    and apply every restore of the original target that is not rolled back."""
    started = time.monotonic()
    ledger = Ledger(ledger_url)
    runs = summaries(ledger)
    targets = sorted({run["target"]["id"] for run in runs if run["status"] == APPLIED})
    if of is None:
        if len(targets) != 1:
            raise Refused(f"the ledger has applied restores of {len(targets)} targets; choose one with --of: {targets}")
        of = targets[0]
    wanted = {UUID(run["restore_id"]) for run in runs if run["target"]["id"] == of and run["status"] == APPLIED}
    engine = connect(target_url)
    try:
        existing = identity(engine)
        if existing is not None and existing != of:
            raise Refused(f"the target is {existing}; rebuilding {of} needs a target without restores of another")
        with locked(engine) as conn:
            failures = settle(ledger, conn, of, rebuild=wanted).failures
        if failures:
            raise failures[0]
        applied = [entry["restore_id"] for entry in applied_in_target(engine)]
        record_rebuild(
            ledger, applied, {"id": of, "url": redact(engine.url), "dialect": engine.dialect.name}, actor, reason
        )
    finally:
        engine.dispose()
    return RebuildOutcome(of, applied, round(time.monotonic() - started, 3))


def record_rebuild(ledger: Ledger, restores: list[str], target: dict[str, str], actor: str, reason: str) -> None:
    """Each restore the rebuild applied records it: into which target, by whom, why."""
    for restore_id in dict.fromkeys(restores):
        run = ledger.get_run(restore_id)
        run.record_rebuild(target, actor, reason)
        ledger.save(run)
