"""The ledger application: where restore runs are recorded, in its own database."""

from __future__ import annotations

from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.errors import RestoreError
from domain.ledger import RestoreRun
from domain.targets import LEDGER_IDENTITY, LedgerIdentity, TargetRegistration
from infrastructure.ledger_store import ledger_env, ledger_location


class RestoreNotFoundError(RestoreError):
    stage = "ledger"

    def __init__(self, restore_id: str) -> None:
        super().__init__(f"no restore {restore_id} in this ledger")


class Ledger(Application[UUID]):
    """Restore runs, each an aggregate whose events are the restore's decisions."""

    name = "RestoreLedger"

    def __init__(self, url: str, create: bool = False) -> None:
        """The ledger at ``url``; unless ``create``, it must exist (a typo creates nothing)."""
        super().__init__(env=ledger_env(url, create))
        self.url = url
        self.location = ledger_location(url)
        if create and url != "memory:":
            self.ledger_id()

    def ledger_id(self) -> str:
        """The ledger's own id, made the first time a command writes through it."""
        found = self.known_ledger_id()
        if found is not None:
            return found
        with suppress(IntegrityError):  # another process may make it first
            self.save(LedgerIdentity.new())
        identity: LedgerIdentity = self.repository.get(LEDGER_IDENTITY)
        return identity.ledger_id

    def known_ledger_id(self) -> str | None:
        try:
            identity: LedgerIdentity = self.repository.get(LEDGER_IDENTITY)
        except AggregateNotFoundError:
            return None
        return identity.ledger_id

    def registration(self, target_id: str) -> TargetRegistration | None:
        """The database the target id was given to, if the ledger registered it."""
        try:
            found: TargetRegistration = self.repository.get(UUID(target_id))
        except (AggregateNotFoundError, ValueError):
            return None
        return found if isinstance(found, TargetRegistration) else None

    def get_run(self, restore_id: UUID | str) -> RestoreRun:
        try:
            key = restore_id if isinstance(restore_id, UUID) else UUID(restore_id)
            run: RestoreRun = self.repository.get(key)
        except (AggregateNotFoundError, ValueError):
            raise RestoreNotFoundError(str(restore_id)) from None
        if not isinstance(run, RestoreRun):
            raise RestoreNotFoundError(str(restore_id))
        return run


def tool_version() -> str:
    try:
        return version("restore-ledger")
    except PackageNotFoundError:
        return "unknown"
