"""What a restore is asked to do, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.errors import RestoreError
from infrastructure.reading import Limits


class ConfigurationError(RestoreError):
    stage = "configuration"


@dataclass(frozen=True)
class RestoreRequest:
    backup: Path
    target_url: str
    ledger_url: str
    actor: str
    reason: str
    profile_file: Path | None = None
    media_root: Path | None = None
    dry_run: bool = False
    apply: bool = True
    on_conflict: str = "keep-existing"
    missing_users: str = "create"
    uuids: str = "keep"
    limits: Limits = field(default_factory=Limits)
    restore_id: UUID | None = None  # chosen by an adapter that names the run before it starts (web jobs)
    require_signature: bool = False
    public_key: Path | None = None
    trust_pks: bool = False


@dataclass
class RestoreOutcome:
    restore_id: str
    status: str
    backup: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    deferred: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    media_files: int = 0
    rows_written: int = 0
    seconds: float = 0.0
    resumed: bool = False  # an interrupted run of the same backup was finished instead
    already_present: bool = False  # every record matched an existing row with the same values


class RestoreFailed(RestoreError):
    """A restore that was refused or failed; its run in the ledger says so too."""

    def __init__(self, restore_id: UUID, cause: RestoreError) -> None:
        self.restore_id = restore_id
        self.stage = cause.stage
        super().__init__(cause.problem, cause.record)
