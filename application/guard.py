"""Before any command writes: is this target the database its id was given to, and does it
belong to this ledger? A copy of a target, or a target of another ledger, is refused, naming
the original or both ledgers, before anything is written to the ledger or the target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine

from application.ledger import Ledger
from application.report import summaries
from domain.errors import RestoreError
from domain.targets import TargetRegistration
from infrastructure.fingerprint import fingerprint
from infrastructure.ledger_store import LedgerUsageError, ledger_exists, ledger_location
from infrastructure.target import owner, redact, same_database


class TargetRefused(RestoreError):
    stage = "target"


@dataclass
class Identity:
    """What a target says it is, against what the ledger knows of it."""

    target_id: str | None
    ledger_id: str | None  # the ledger the target belongs to, if recorded
    ledger_url: str | None
    fingerprint: dict[str, Any]
    registration: TargetRegistration | None
    known: bool  # the ledger has restores or replays of target_id
    held: bool  # the target holds target_id itself (else it was given none yet)

    def problem(self, ledger: Ledger, url: str) -> str | None:
        """Why no command may act on this target through ``ledger``; None when it may."""
        ours = ledger.known_ledger_id()
        if self.ledger_id is not None and self.ledger_id != ours:
            return (
                f"target {url} belongs to ledger {self.ledger_id} ({self.ledger_url}), not to ledger "
                f"{ours or '(new)'} ({ledger.location}); nothing was written: give --ledger {self.ledger_url}"
            )
        if self.target_id is None:
            return None
        if self.registration is not None and not self.registration.is_of(self.fingerprint):
            return (
                f"{url} is a copy of target {self.target_id} ({self.registration.url}): it carries that "
                "target's id but is another database; nothing was done. Give it its own id with "
                f"`restore-ledger target adopt --target {url} --reason ...`"
            )
        if self.held and self.registration is None and not self.known:
            return (
                f"target {url} has the id {self.target_id}, which ledger {ours} ({ledger.location}) does not "
                "know: it was restored through another ledger; nothing was written"
            )
        return None


def identify(ledger: Ledger, conn: Connection, target_id: str | None = None) -> Identity:
    """Read, never write: the target's own id (else ``target_id``), its owner and its fingerprint."""
    found, ledger_id, ledger_url = owner(conn)
    target_id = found or target_id
    registration = ledger.registration(target_id) if target_id else None
    known = registration is not None or (target_id is not None and knows(ledger, target_id))
    return Identity(target_id, ledger_id, ledger_url, fingerprint(conn), registration, known, found is not None)


def knows(ledger: Ledger, target_id: str) -> bool:
    """Whether the ledger has any restore or replay of ``target_id`` (ledgers older than registrations)."""
    return any(run["target"]["id"] == target_id or target_id in run["replays"] for run in summaries(ledger))


def refuse_for_a_new_ledger(ledger_url: str, engine: Engine) -> None:
    """A target that belongs to a ledger is refused before a new ledger is even created for it."""
    with engine.connect() as conn:
        _found, ledger_id, owner_url = owner(conn)
    if ledger_id is not None and not ledger_exists(ledger_url):
        raise TargetRefused(
            f"target {redact(engine.url)} belongs to ledger {ledger_id} ({owner_url}), not to a new ledger at "
            f"{ledger_location(ledger_url)}; nothing was written: give --ledger {owner_url}"
        )


def guard(ledger: Ledger, conn: Connection, target_id: str, actor: str = "", reason: str = "") -> None:
    """Refuse a copy or another ledger's target; register a target the ledger sees for the first time."""
    if same_database(ledger.url, conn.engine):
        raise LedgerUsageError("the ledger must not live in the target database: give another --ledger")
    url = redact(conn.engine.url)
    identity = identify(ledger, conn, target_id)
    problem = identity.problem(ledger, url)
    if problem is not None:
        raise TargetRefused(problem)
    ledger.ledger_id()
    if identity.registration is None:
        register(ledger, conn, target_id, None, actor, reason)
    if conn.dialect.name != "sqlite" and conn.in_transaction():
        conn.commit()


def register(
    ledger: Ledger, conn: Connection, target_id: str, adopted_from: str | None, actor: str, reason: str
) -> None:
    """Record that ``target_id`` is given to the database ``conn`` is connected to."""
    ledger.save(
        TargetRegistration(
            target_id=target_id,
            url=redact(conn.engine.url),
            dialect=conn.dialect.name,
            fingerprint=fingerprint(conn),
            adopted_from=adopted_from,
            actor=actor,
            reason=reason,
        )
    )
