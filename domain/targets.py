"""Who is who: the ledger's own id, and each target's id with the fingerprint of its database.

A target database keeps its id in a table of its own, and a copy of the database keeps the
same id. The fingerprint the ledger records with the id (PostgreSQL: system identifier,
database OID and name; SQLite: resolved path and inode) is what a copy cannot take over.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

LEDGER_IDENTITY = uuid5(UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8"), "restore-ledger:ledger-identity")


class LedgerIdentity(Aggregate):
    """The ledger's id, made once with the ledger: a target records which ledger it belongs to."""

    class Created(Aggregate.Created):
        ledger_id: str

    @staticmethod
    def create_id() -> UUID:
        return LEDGER_IDENTITY

    @event(Created)
    def __init__(self, ledger_id: str) -> None:
        self.ledger_id = ledger_id

    @classmethod
    def new(cls) -> LedgerIdentity:
        return cls(ledger_id=str(uuid4()))


class TargetRegistration(Aggregate):
    """A target id, given to one database: the fingerprint is that database's, never a copy's."""

    class Registered(Aggregate.Created):
        target_id: str
        url: str
        dialect: str
        fingerprint: dict[str, Any]
        adopted_from: str | None
        actor: str
        reason: str

    @staticmethod
    def create_id(target_id: str) -> UUID:
        return UUID(target_id)

    @event(Registered)
    def __init__(
        self,
        target_id: str,
        url: str,
        dialect: str,
        fingerprint: dict[str, Any],
        adopted_from: str | None,
        actor: str,
        reason: str,
    ) -> None:
        self.target_id = target_id
        self.url = url
        self.dialect = dialect
        self.fingerprint = fingerprint
        self.adopted_from = adopted_from

    def is_of(self, fingerprint: dict[str, Any]) -> bool:
        """Whether ``fingerprint`` is of the database this id was given to."""
        return self.fingerprint == fingerprint
