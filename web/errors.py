"""Errors as the console and the API show them: the CLI's message, and the HTTP status that fits."""

from __future__ import annotations

from application.accounts import AccountError, LoginRefused, NotAllowed
from application.intents import Refused
from application.ledger import RestoreNotFoundError
from application.restore import ConfigurationError
from domain.errors import BackupError, PlanError, ProfileError, RestoreError
from infrastructure.ledger_store import LedgerSettingsError
from infrastructure.projection import IntentFailed
from infrastructure.target import TargetError

STATUS_BY_STAGE = {"read": 422, "profile": 422, "plan": 422, "configuration": 400, "target": 409, "apply": 409}


def message_of(error: RestoreError) -> str:
    """The message the CLI prints for ``error`` (cli.command.Group.invoke)."""
    restore_id = getattr(error, "restore_id", None)
    prefix = f"restore {restore_id} failed at {error.stage}: " if restore_id else ""
    return f"{prefix}{error}"


def status_of(error: RestoreError) -> int:
    from web.actions import InvalidRequest, JobFailed

    if isinstance(error, JobFailed):
        return error.status
    if isinstance(error, InvalidRequest):
        return 422
    if isinstance(error, RestoreNotFoundError):
        return 404
    if isinstance(error, LoginRefused):
        return 401
    if isinstance(error, NotAllowed):
        return 403
    if isinstance(error, ConfigurationError | LedgerSettingsError):
        return 400
    if isinstance(error, BackupError | ProfileError | PlanError | AccountError):
        return 422
    if isinstance(error, TargetError | Refused | IntentFailed):
        return 409
    return STATUS_BY_STAGE.get(error.stage, 409)
