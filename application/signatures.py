"""Electronic signatures of apply and rollback: the four-eyes rule, checked before a signature."""

from __future__ import annotations

from application.accounts import NotAllowed
from application.ledger import Ledger


def check_second_person(ledger_url: str, restore_id: str, signer: str) -> None:
    """Under the four-eyes rule the account that planned a restore may not apply it."""
    run = Ledger(ledger_url).get_run(restore_id)
    if run.actor == signer:
        raise NotAllowed(f"restore {run.id} was planned by {signer}; this target requires a second person to apply it")


def check_state(ledger_url: str, restore_id: str, meaning: str) -> None:
    """Refuse at once, before any job starts, a signature the restore's state does not allow."""
    from application.intents import Refused

    run = Ledger(ledger_url).get_run(restore_id)
    wanted = {"applied": ("planned", "rolled back"), "rolled back": ("applied",)}[meaning]
    if run.status not in wanted:
        verb = "applied" if meaning == "applied" else "rolled back"
        raise Refused(f"restore {run.id} is {run.status}; only a {' or '.join(wanted)} restore can be {verb}")
