"""Every event of one aggregate (a restore or an account) as one line, for the console's event list."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.ledger import Ledger, RestoreNotFoundError

ATTRIBUTES = ("actor", "reason", "signer", "meaning", "stage", "record", "model", "table", "target_id")
SIZED = ("rows", "mappings", "conflicts", "updates", "created", "reassignments", "pairs", "files", "evidence")


def event_log(ledger_url: str, restore_id: str) -> list[dict[str, Any]]:
    """Each event of the restore (or of an account) as one line: name, version, time with offset, its actor, reason or
    signer where it has them, and how many items a batch event holds (never the rows themselves)."""
    ledger = Ledger(ledger_url)
    try:
        events: list[Any] = list(ledger.events.get(UUID(restore_id)))
    except ValueError:
        events = []
    if not events:
        raise RestoreNotFoundError(restore_id)
    lines = []
    for event in events:
        line: dict[str, Any] = {
            "event": type(event).__name__,
            "version": event.originator_version,
            "at": event.timestamp.isoformat(),
        }
        line.update({name: getattr(event, name) for name in ATTRIBUTES if hasattr(event, name)})
        line.update({name: len(getattr(event, name)) for name in SIZED if hasattr(event, name)})
        lines.append(line)
    return lines
