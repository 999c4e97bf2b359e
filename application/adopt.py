"""Give a copy of a target its own id: from then on it is a target of its own, and the original's
restores are never carried out, rolled back or replayed through it."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from application.guard import TargetRefused, identify, register
from application.ledger import Ledger
from infrastructure.ledger_store import LedgerUsageError
from infrastructure.target import connect, locked, reassign_identity, redact, same_database


@dataclass
class Adopted:
    target_id: str
    original_id: str
    original_url: str
    url: str


def adopt_target(target_url: str, ledger_url: str, actor: str, reason: str) -> Adopted:
    """Refused unless the target carries a known target's id but is another database than that one."""
    ledger = Ledger(ledger_url)
    engine = connect(target_url)
    url = redact(engine.url)
    try:
        if same_database(ledger_url, engine):
            raise LedgerUsageError("the ledger must not live in the target database: give another --ledger")
        with locked(engine) as conn:
            identity = identify(ledger, conn)
            original = identity.target_id
            if not identity.held or original is None:
                raise TargetRefused(f"target {url} has no id yet: its first restore gives it one; nothing to adopt")
            problem = identity.problem(ledger, url)
            if identity.registration is None:
                raise TargetRefused(
                    problem or f"the ledger holds no fingerprint of target {original}: nothing to adopt"
                )
            if identity.registration.is_of(identity.fingerprint):
                raise TargetRefused(f"{url} is target {original} itself, not a copy of it; nothing to adopt")
            if identity.ledger_id not in (None, ledger.ledger_id()):
                raise TargetRefused(str(problem))
            target_id = str(uuid4())
            register(ledger, conn, target_id, original, actor, reason)
            reassign_identity(conn, target_id, (ledger.ledger_id(), ledger.location))
            return Adopted(target_id, original, identity.registration.url, url)
    finally:
        engine.dispose()
