"""Roll back an applied restore: the projection removes exactly what it wrote, in one transaction."""

from __future__ import annotations

import time

from application.apply import Outcome, signed_intent, target_of
from application.intents import Refused, carry_out
from application.ledger import Ledger
from application.progress import Progress
from domain.ledger import ROLLED_BACK, RestoreRun
from infrastructure.projection import ROLLBACK
from infrastructure.target import connect, identity


def rollback_restore(
    restore_id: str,
    target_url: str | None,
    ledger_url: str,
    actor: str,
    reason: str,
    signed: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Record the rollback, let the projection carry it out; refuse, naming the rows, when anything
    outside the restore depends on its rows or a restored row changed since. ``signed``: as for apply.
    ``progress`` is told the rows removed (stage ``rollback``) against the restore's recorded rows."""
    started = time.monotonic()
    ledger = Ledger(ledger_url)
    run = ledger.get_run(restore_id)
    engine = connect(target_of(run, target_url))
    try:
        if identity(engine) != run.target["id"]:
            raise Refused(f"this is not the target restore {run.id} was applied to ({run.target['url']})")

        def intend(r: RestoreRun) -> None:
            signed_intent(r, actor, "rolled back", reason, signed)
            r.start_rollback(actor, reason)

        run = carry_out(
            ledger,
            engine,
            run.target["id"],
            restore_id,
            ROLLBACK,
            intend,
            lambda r: r.status == ROLLED_BACK,
            actor,
            reason,
            progress,
        )
    finally:
        engine.dispose()
    return Outcome.of(run, run.status, started)
