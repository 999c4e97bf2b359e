"""The ledger application: where restore runs are recorded, in its own database."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from domain.errors import RestoreError
from domain.ledger import RestoreRun
from infrastructure.ledger_store import ledger_env


class RestoreNotFoundError(RestoreError):
    stage = "ledger"

    def __init__(self, restore_id: str) -> None:
        super().__init__(f"no restore {restore_id} in this ledger")


class Ledger(Application[UUID]):
    """Restore runs, each an aggregate whose events are the restore's decisions."""

    name = "RestoreLedger"

    def __init__(self, url: str) -> None:
        super().__init__(env=ledger_env(url))

    def get_run(self, restore_id: UUID | str) -> RestoreRun:
        try:
            key = restore_id if isinstance(restore_id, UUID) else UUID(restore_id)
            run: object = self.repository.get(key)
        except (AggregateNotFoundError, ValueError):
            raise RestoreNotFoundError(str(restore_id)) from None
        if not isinstance(run, RestoreRun):  # another aggregate of the ledger: an account
            raise RestoreNotFoundError(str(restore_id))
        return run


def tool_version() -> str:
    try:
        return version("restore-ledger")
    except PackageNotFoundError:
        return "unknown"
