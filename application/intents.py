"""The shape every command on a recorded restore shares: under the target's lock, settle what is
pending, record the intent, let the projection carry it out, and report how it ended."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine

from application.guard import guard
from application.ledger import Ledger
from application.progress import Progress
from application.settle import settle
from domain.errors import RestoreError
from domain.ledger import RestoreRun
from infrastructure.projection import IntentFailed
from infrastructure.target import locked


class Refused(RestoreError):
    stage = "apply"


def failure_of(restore_id: str, failures: list[IntentFailed], fallback: str) -> RestoreError:
    """The projection's reason for not carrying out this restore's intent, else ``fallback``."""
    mine = [f for f in failures if str(f.restore_id) == restore_id]
    return mine[-1] if mine else Refused(fallback)


def carry_out(
    ledger: Ledger,
    engine: Engine,
    target_id: str,
    restore_id: str,
    action: str,
    intend: Callable[[RestoreRun], None],
    achieved: Callable[[RestoreRun], bool],
    actor: str = "",
    reason: str = "",
    progress: Progress | None = None,
) -> RestoreRun:
    """Record ``intend`` on the restore and have it carried out; the run as it ended, or its refusal.
    ``progress`` is told the rows written (stage ``action``) against the restore's recorded rows.

    An interrupted run of the same action on the same restore is finished instead of started again.
    """
    ledger.check_run(restore_id)
    with locked(engine) as conn:
        guard(ledger, conn, target_id, actor, reason)
        earlier = settle(ledger, conn, target_id)
        run = ledger.get_run(restore_id)
        if (str(run.id), action) in earlier.finished:
            return run
        try:
            intend(run)
        except ValueError as error:
            raise Refused(str(error)) from None
        ledger.save(run)
        rows = sum(run.recorded_rows.values())
        on_batch = (lambda count: progress(action, count, rows)) if progress else None
        failures = settle(ledger, conn, target_id, on_batch=on_batch).failures
    run = ledger.get_run(restore_id)
    if not achieved(run):
        raise failure_of(str(run.id), failures, f"restore {run.id} is {run.status}")
    return run
