"""Apply a planned (or rolled back) restore: the projection writes its recorded rows into the target."""

from __future__ import annotations

import time
from dataclasses import dataclass

from application.ledger import Ledger
from application.settle import settle
from domain.errors import RestoreError
from domain.ledger import APPLIED, RestoreRun
from infrastructure.projection import APPLY, IntentFailed
from infrastructure.target import connect, identity, locked


class Refused(RestoreError):
    stage = "apply"


@dataclass
class Outcome:
    restore_id: str
    status: str
    rows: int
    seconds: float


def target_of(run: RestoreRun, target_url: str | None) -> str:
    """The target a command on a restore works on: the one given, else the one the ledger recorded."""
    return target_url or str(run.target["url"])


def failure_of(restore_id: str, failures: list[IntentFailed], fallback: str) -> RestoreError:
    mine = [f for f in failures if str(f.restore_id) == restore_id]
    return mine[-1] if mine else Refused(fallback)


def apply_restore(restore_id: str, target_url: str | None, ledger_url: str, actor: str, reason: str) -> Outcome:
    """Apply a planned restore, or roll a rolled back one forward; refuse, naming it, when the
    target changed in a way the plan depends on."""
    started = time.monotonic()
    ledger = Ledger(ledger_url)
    run = ledger.get_run(restore_id)
    engine = connect(target_of(run, target_url))
    try:
        with locked(engine) as conn:
            target_id = identity(engine) or run.target["id"]
            if target_id != run.target["id"]:
                raise Refused(f"restore {run.id} was planned for target {run.target['id']}, this is {target_id}")
            earlier = settle(ledger, conn, target_id)
            run = ledger.get_run(restore_id)
            if (str(run.id), APPLY) in earlier.finished:  # an interrupted apply of it, finished now
                return Outcome(str(run.id), run.status, sum(run.recorded_rows.values()), 0.0)
            try:
                run.request_apply(actor, reason)
            except ValueError as error:
                raise Refused(str(error)) from None
            ledger.save(run)
            failures = settle(ledger, conn, target_id).failures
    finally:
        engine.dispose()
    run = ledger.get_run(restore_id)
    if run.status != APPLIED:
        raise failure_of(str(run.id), failures, f"restore {run.id} is {run.status}")
    return Outcome(str(run.id), run.status, sum(run.recorded_rows.values()), round(time.monotonic() - started, 3))
