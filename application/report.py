"""Reports of the ledger: the list of restores, and one restore in full."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.ledger import Ledger
from domain.ledger import RestoreRun

_SUMMARY_EVENTS = ("Started", "Validated", "Recorded", "Applied", "Failed")


def _topic(name: str) -> str:
    return f"{RestoreRun.__module__}:{RestoreRun.__qualname__}.{name}"


def list_restores(ledger_url: str) -> list[dict[str, Any]]:
    """Every restore of the ledger, oldest first, from its summary events only."""
    ledger = Ledger(ledger_url)
    runs: dict[UUID, dict[str, Any]] = {}
    position = 0
    topics = [_topic(name) for name in _SUMMARY_EVENTS]
    while page := ledger.recorder.select_notifications(position, 500, topics=topics, inclusive_of_start=False):
        for notification in page:
            _fold(runs, ledger.mapper.to_domain_event(notification))
            position = notification.id
    return list(runs.values())


def _fold(runs: dict[UUID, dict[str, Any]], event: Any) -> None:
    if isinstance(event, RestoreRun.Started):
        runs[event.originator_id] = {
            "restore_id": str(event.originator_id),
            "started_at": event.timestamp.isoformat(),
            "status": "recording",
            "actor": event.actor,
            "reason": event.reason,
            "backup": event.backup,
            "target": event.target,
            "profile_digest": event.profile_digest,
            "tool_version": event.tool_version,
            "options": event.options,
            "counts": {},
        }
        return
    run = runs.get(event.originator_id)
    if run is None:
        return
    if isinstance(event, RestoreRun.Validated):
        run["counts"] = event.counts
    elif isinstance(event, RestoreRun.Recorded):
        run["status"] = "planned"
    elif isinstance(event, RestoreRun.Applied):
        run.update(
            status="applied",
            applied_at=event.timestamp.isoformat(),
            seconds=event.duration,
            rows=event.counts,
        )
    elif isinstance(event, RestoreRun.Failed):
        run.update(
            status="failed",
            failed_at=event.timestamp.isoformat(),
            failure={
                "stage": event.stage,
                "reason": event.reason,
                "record": event.record,
            },
        )


def show_restore(ledger_url: str, restore_id: str) -> dict[str, Any]:
    """One restore: its summary and each of its events, row batches summarised."""
    ledger = Ledger(ledger_url)
    run = ledger.get_run(restore_id)
    runs: dict[UUID, dict[str, Any]] = {}
    events = []
    for event in ledger.events.get(run.id):
        _fold(runs, event)
        events.append(_event_line(event))
    summary = runs[run.id]
    summary["events"] = events
    return summary


def _event_line(event: Any) -> dict[str, Any]:
    name = type(event).__name__
    line: dict[str, Any] = {
        "event": name,
        "version": event.originator_version,
        "at": event.timestamp.isoformat(),
    }
    if isinstance(event, RestoreRun.RowsRecorded):
        line.update(model=event.model, table=event.table, rows=len(event.rows))
    elif isinstance(event, RestoreRun.PrimaryKeysAllocated):
        line.update(model=event.model, table=event.table, first=event.first, count=event.count, reason=event.reason)
    elif isinstance(event, RestoreRun.ReferencesDeferred):
        line.update(model=event.model, column=event.column, rows=len(event.pairs))
    elif isinstance(event, RestoreRun.MediaRecorded):
        line.update(files=len(event.files))
    elif isinstance(event, RestoreRun.Failed):
        line.update(stage=event.stage, reason=event.reason, record=event.record)
    return line
