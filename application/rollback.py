"""Roll back an applied restore: the projection removes exactly what it wrote, in one transaction."""

from __future__ import annotations

import time

from application.apply import Outcome, Refused, failure_of, target_of
from application.ledger import Ledger
from application.settle import settle
from domain.ledger import ROLLED_BACK
from infrastructure.projection import ROLLBACK
from infrastructure.target import connect, identity, locked


def rollback_restore(restore_id: str, target_url: str | None, ledger_url: str, actor: str, reason: str) -> Outcome:
    """Record the rollback, let the projection carry it out; refuse, naming the rows, when anything
    outside the restore depends on its rows or a restored row changed since."""
    started = time.monotonic()
    ledger = Ledger(ledger_url)
    run = ledger.get_run(restore_id)
    engine = connect(target_of(run, target_url))
    try:
        with locked(engine) as conn:
            if identity(engine) != run.target["id"]:
                raise Refused(f"this is not the target restore {run.id} was applied to ({run.target['url']})")
            earlier = settle(ledger, conn, run.target["id"])
            run = ledger.get_run(restore_id)
            if (str(run.id), ROLLBACK) in earlier.finished:  # an interrupted rollback of it, finished now
                return Outcome(str(run.id), run.status, sum(run.recorded_rows.values()), 0.0)
            try:
                run.start_rollback(actor, reason)
            except ValueError as error:
                raise Refused(str(error)) from None
            ledger.save(run)
            failures = settle(ledger, conn, run.target["id"]).failures
    finally:
        engine.dispose()
    run = ledger.get_run(restore_id)
    if run.status != ROLLED_BACK:
        raise failure_of(str(run.id), failures, f"restore {run.id} is {run.status}")
    return Outcome(str(run.id), run.status, sum(run.recorded_rows.values()), round(time.monotonic() - started, 3))
