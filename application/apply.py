"""Apply a planned (or rolled back) restore: the projection writes its recorded rows into the target."""

from __future__ import annotations

import time
from dataclasses import dataclass

from application.intents import Refused, carry_out
from application.ledger import Ledger
from application.progress import Progress
from domain.ledger import APPLIED, ROLLED_BACK, RestoreRun
from infrastructure.projection import APPLY, IntentFailed
from infrastructure.target import connect, identity


@dataclass
class Outcome:
    restore_id: str
    status: str
    rows: int
    seconds: float

    @classmethod
    def of(cls, run: RestoreRun, status: str, started: float) -> Outcome:
        return cls(str(run.id), status, sum(run.recorded_rows.values()), round(time.monotonic() - started, 3))


def signed_intent(run: RestoreRun, actor: str, meaning: str, reason: str, signed: bool) -> None:
    """Record the electronic signature, when there is one, just before the intent it signs."""
    if signed:
        run.sign(actor, meaning, reason)


def target_of(run: RestoreRun, target_url: str | None) -> str:
    """The target a command on a restore works on: the one given, else the one the ledger recorded."""
    return target_url or str(run.target["url"])


def apply_restore(
    restore_id: str,
    target_url: str | None,
    ledger_url: str,
    actor: str,
    reason: str,
    signed: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Apply a planned restore, or roll a rolled back one forward; refuse, naming it, when the
    target changed in a way the plan depends on. ``signed``: the adapter authenticated ``actor``
    again for an electronic signature, recorded before the apply."""
    started = time.monotonic()
    ledger = Ledger(ledger_url)
    run = ledger.get_run(restore_id)
    engine = connect(target_of(run, target_url))
    try:
        target_id = identity(engine) or run.target["id"]
        if target_id != run.target["id"]:
            raise Refused(f"restore {run.id} was planned for target {run.target['id']}, this is {target_id}")
        rolling_forward = run.status == ROLLED_BACK

        def intend(r: RestoreRun) -> None:
            signed_intent(r, actor, "applied", reason, signed)
            r.request_apply(actor, reason)

        run = carry_out(
            ledger,
            engine,
            target_id,
            restore_id,
            APPLY,
            intend,
            lambda r: r.status == APPLIED,
            actor,
            reason,
            progress,
        )
    except IntentFailed as failed:
        if not rolling_forward:
            raise
        raise Refused(f"roll forward of restore {run.id} refused; it stays rolled back: {failed}") from None
    finally:
        engine.dispose()
    return Outcome.of(run, run.status, started)
