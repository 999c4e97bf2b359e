"""A restore's history as a reviewer reads it: every event that changed its state, with who
(the actor given and the OS user and host that recorded it), when (UTC, with offset) and why."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.decisions import DECISION_EVENTS, SKIPPED
from application.ledger import Ledger
from application.report import show_restore
from domain.ledger import RestoreRun
from infrastructure.ledger_chain import ChainReader

_WORDS = {
    "Started": "started",
    "Recorded": "planned: every decision recorded",
    "ApplyRequested": "apply requested",
    "Applied": "applied",
    "Failed": "failed",
    "RollbackStarted": "rollback requested",
    "RolledBack": "rolled back",
    "RollbackRefused": "rollback refused",
    "ReplayRequested": "replay requested",
    "Replayed": "replayed",
    "ReplayRefused": "replay refused",
    "ReportMade": "report made",
    "Signed": "signed",
}


def timeline(ledger: Ledger, restore_id: UUID) -> list[dict[str, Any]]:
    recorder = ledger.recorder
    facts = (
        {link.originator_version: link.facts() for link in recorder.chain_of(restore_id)}
        if isinstance(recorder, ChainReader)
        else {}
    )
    replays: dict[str, str] = {}
    entries = []
    version = 0
    while page := recorder.select_events(restore_id, gt=version, limit=50):
        for stored in page:
            version = stored.originator_version
            if stored.topic in SKIPPED:
                continue
            event: Any = ledger.mapper.to_domain_event(stored)
            name = type(event).__name__
            if name not in _WORDS or isinstance(event, DECISION_EVENTS):
                continue
            recorded = facts.get(version, {})
            entry: dict[str, Any] = {
                "version": version,
                "event": name,
                "what": _WORDS[name],
                "at": event.timestamp.isoformat(),
                "actor": getattr(event, "actor", None) or recorded.get("actor", ""),
                "reason": getattr(event, "reason", None) or recorded.get("reason", ""),
                "os_user": recorded.get("os_user", ""),
                "host": recorded.get("host", ""),
                "command": recorded.get("command", ""),
            }
            if isinstance(event, RestoreRun.ApplyRequested) and event.roll_forward:
                entry["what"] = "roll forward requested"
            if isinstance(event, RestoreRun.Failed):
                entry["what"] = f"failed at {event.stage}" + (f" ({event.record})" if event.record else "")
            if isinstance(event, RestoreRun.ReplayRequested):
                replays[event.target["id"]] = event.target["url"]
                entry["target"] = event.target["url"]
            if isinstance(event, RestoreRun.Replayed | RestoreRun.ReplayRefused):
                entry["target"] = replays.get(event.target_id, event.target_id)
            if isinstance(event, RestoreRun.Started):
                entry["target"] = event.target["url"]
            if isinstance(event, RestoreRun.Signed):
                entry["actor"] = event.signer
                entry["what"] = f"signed electronically: {event.meaning}"
            if isinstance(event, RestoreRun.ReportMade):
                entry["what"] = f"{event.format} report made (sha256 {event.sha256[:12]}...)"
            entries.append(entry)
    return entries


def timeline_of(ledger_url: str, restore_id: str) -> list[dict[str, Any]]:
    """The timeline of the restore ``restore_id``, each entry with ``who`` did it in one line."""
    ledger = Ledger(ledger_url)
    return [entry | {"who": who(entry)} for entry in timeline(ledger, ledger.run_id(restore_id))]


def show(ledger_url: str, restore_id: str) -> dict[str, Any]:
    """One restore, verified first: its summary, its timeline and each of its events."""
    ledger = Ledger(ledger_url)
    ledger.check_run(restore_id)
    run = show_restore(ledger_url, restore_id)
    run["timeline"] = timeline(ledger, UUID(run["restore_id"]))
    return run


def who(entry: dict[str, Any]) -> str:
    place = f"{entry['os_user']}@{entry['host']}" if entry["os_user"] else ""
    return ", ".join(part for part in (entry["actor"], place and f"as {place}", entry["command"]) if part)
