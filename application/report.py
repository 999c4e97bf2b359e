"""Reports of the ledger: the list of restores, and one restore in full."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from application.ledger import Ledger
from domain.ledger import (
    APPLIED,
    APPLYING,
    FAILED,
    PLANNED,
    RECORDING,
    ROLLED_BACK,
    ROLLING_BACK,
    RestoreRun,
)

_SUMMARY_EVENTS = (
    RestoreRun.Started,
    RestoreRun.Validated,
    RestoreRun.Recorded,
    RestoreRun.ApplyRequested,
    RestoreRun.Applied,
    RestoreRun.Failed,
    RestoreRun.RollbackStarted,
    RestoreRun.RolledBack,
    RestoreRun.RollbackRefused,
    RestoreRun.RollForwardRefused,
    RestoreRun.ReplayRequested,
    RestoreRun.Replayed,
    RestoreRun.ReplayRefused,
)


def list_restores(ledger_url: str) -> list[dict[str, Any]]:
    """Every restore of the ledger, oldest first, from its summary events only."""
    return summaries(Ledger(ledger_url))


def summaries(ledger: Ledger) -> list[dict[str, Any]]:
    """Each restore's state and history, read from its few control events, never its rows."""
    runs: dict[UUID, dict[str, Any]] = {}
    position = 0
    topics = [get_topic(cls) for cls in _SUMMARY_EVENTS]
    while page := ledger.recorder.select_notifications(position, 500, topics=topics, inclusive_of_start=False):
        for notification in page:
            _fold(runs, ledger.mapper.to_domain_event(notification), notification.id)
            position = notification.id
    return list(runs.values())


def _fold(runs: dict[UUID, dict[str, Any]], event: Any, position: int = 0) -> None:
    if not isinstance(event, _SUMMARY_EVENTS):
        return
    if isinstance(event, RestoreRun.Started):
        runs[event.originator_id] = {
            "restore_id": str(event.originator_id),
            "started_at": event.timestamp.isoformat(),
            "status": RECORDING,
            "actor": event.actor,
            "reason": event.reason,
            "backup": event.backup,
            "target": event.target,
            "profile_digest": event.profile_digest,
            "tool_version": event.tool_version,
            "options": event.options,
            "counts": {},
            "history": [],
            "replays": {},
        }
        return
    run = runs.get(event.originator_id)
    if run is None:
        return
    at = event.timestamp.isoformat()
    name = type(event).__name__
    if isinstance(event, RestoreRun.Validated):
        run["counts"] = event.counts
        return
    if isinstance(event, RestoreRun.ReplayRequested | RestoreRun.Replayed | RestoreRun.ReplayRefused):
        target_id = event.target["id"] if isinstance(event, RestoreRun.ReplayRequested) else event.target_id
        state = {"ReplayRequested": "requested", "Replayed": "replayed", "ReplayRefused": "refused"}[name]
        run["replays"][target_id] = {"status": state, "at": at} | (
            {"url": event.target["url"]} if isinstance(event, RestoreRun.ReplayRequested) else {}
        )
        run["history"].append({"event": name, "at": at, "target_id": target_id})
        return
    entry: dict[str, Any] = {"event": name, "at": at}
    for attribute in ("actor", "reason", "stage", "record", "duration"):
        if hasattr(event, attribute):
            entry[attribute] = getattr(event, attribute)
    run["history"].append(entry)
    run["status"] = {
        "Recorded": PLANNED,
        "ApplyRequested": APPLYING,
        "Applied": APPLIED,
        "Failed": FAILED,
        "RollbackStarted": ROLLING_BACK,
        "RolledBack": ROLLED_BACK,
        "RollbackRefused": APPLIED,
        "RollForwardRefused": ROLLED_BACK,
    }[name]
    if isinstance(event, RestoreRun.ApplyRequested):
        run.update(apply_requested_at=at, apply_requested_position=position)
    elif isinstance(event, RestoreRun.Applied):
        run.update(applied_at=at, seconds=event.duration, rows=event.counts)
    elif isinstance(event, RestoreRun.Failed):
        run.update(failed_at=at, failure={"stage": event.stage, "reason": event.reason, "record": event.record})
    elif isinstance(event, RestoreRun.RollbackStarted):
        run.update(rollback_started_at=at, rollback_started_position=position)


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
    elif isinstance(event, RestoreRun.RowsDigested):
        line.update(table=event.table, rows=event.count, ranges=len(event.ranges))
    elif isinstance(event, RestoreRun.Failed):
        line.update(stage=event.stage, reason=event.reason, record=event.record)
    return line


KINDS = (
    "reinitialised",
    "mapped",
    "unchanged",
    "conflict",
    "updated",
    "created",
    "uuid",
    "pk",
    "allocated",
    "bound",
    "soft reference",
    "generic reference",
    "link",
    "link removed",
)


def _key_text(entry: dict[str, Any]) -> str:
    record = str(entry.get("record", ""))
    return record[record.index("(") + 1 : -1] if "(" in record else record


Line = tuple[str, str, dict[str, Any]]
"""One decision: its model, its text in plain words, its details for machines."""


def _reinitialised(event: Any, evidence: dict[str, Any]) -> Line:
    text = (
        f"target re-initialised: {evidence['rows']} seeded {evidence['model']} rows carry other "
        f"UUIDs or pks than the backup's, e.g. {evidence['evidence'][0]}"
    )
    return evidence["model"], text, evidence


def _mapped(event: Any, m: dict[str, Any]) -> Line:
    why = m.get("reason", "mapped onto the existing row")
    uuids = f"backup uuid {m['backup_uuid']} -> existing uuid {m['uuid']}, " if "uuid" in m else ""
    backup_pk = "none in the backup" if m["backup_pk"] is None else m["backup_pk"]
    return event.model, f"{_key_text(m)}: {uuids}pk {backup_pk} -> {m['pk']} ({why})", m


def _unchanged(event: Any, m: dict[str, Any]) -> Line:
    return event.model, f"{_key_text(m)}: in the target already as pk {m['pk']}, same values", m


def _bound(event: Any, b: dict[str, Any]) -> Line:
    shown = ", ".join(b["referenced_by"]) + (
        f" and {b['references'] - len(b['referenced_by'])} more" if b["references"] > len(b["referenced_by"]) else ""
    )
    row = (
        f"the target's row {tuple(b['key'])!r}"
        if b["key"] is not None
        else "whatever row gets that pk (the backup's rows of this model carry no pk: natural primary "
        "keys; kept as loaddata would)"
        if b["how"] == "no backup pks"
        else "the target's row"
        if b["found"]
        else "no row (neither in the backup nor in the target; kept as loaddata would)"
    )
    text = f"{event.model} pk={b['pk']!r} is not in the backup: bound by pk to {row}; referenced by {shown}"
    return event.model, text, b


def _soft_reference(event: Any, f: dict[str, Any]) -> Line:
    text = (
        f"{_key_text(f)}: {event.field} {f['old']} -> {f['new']} (follows the {f['model']} row whose "
        "UUID was reassigned)"
    )
    return event.model, text, f | {"field": event.field}


def _generic_reference(event: Any, f: dict[str, Any]) -> Line:
    text = (
        f"{_key_text(f)}: {f['column']} {f['old']!r} -> {f['new']!r} "
        f"(follows {_key_text({'record': f['object']})} to its new pk)"
    )
    return event.model, text, f | {"field": event.field}


def _link(event: Any, link: dict[str, Any]) -> Line:
    to = f" to {link['to']}" if link.get("to") is not None else ""
    reverse = ", the reverse of a symmetrical link" if link.get("reverse") else ""
    text = (
        f"{_key_text(link)}: {event.field} link{to} added (pk {link['source']} -> "
        f"{link['target']}{reverse}); the existing row lacked it"
    )
    return event.model, text, link | {"field": event.field}


def _unlink(event: Any, link: dict[str, Any]) -> Line:
    reverse = ", the reverse of a symmetrical link" if link.get("reverse") else ""
    text = (
        f"{_key_text(link)}: {event.field} link removed (pk {link['source']} -> {link['target']}, "
        f"id {link['id']} of {event.table}{reverse}); the backup does not give it (--on-conflict update)"
    )
    return event.model, text, link | {"field": event.field}


def _conflict(event: Any, c: dict[str, Any]) -> Line:
    fields = ", ".join(sorted(c["differing"]))
    outcome = "took the backup's values" if c["resolution"] == "update" else "kept the target's values"
    text = f"{_key_text(c)}: exists in the target (pk {c['pk']}) with other {fields}; {outcome} ({c['resolution']})"
    return event.model, text, c


def _updated(event: Any, u: dict[str, Any]) -> Line:
    changes = "; ".join(f"{col}: {u['before'][col]!r} -> {u['after'][col]!r}" for col in sorted(u["after"]))
    return event.model, f"{_key_text(u)} (pk {u['pk']}) updated: {changes}", u


def _created(event: Any, c: dict[str, Any]) -> Line:
    referrers = ", ".join(c["referenced_by"][:3]) + (
        f" and {len(c['referenced_by']) - 3} more" if len(c["referenced_by"]) > 3 else ""
    )
    text = (
        f"{event.model} {tuple(c['key'])!r}: referenced but missing, created with pk {c['pk']} "
        f"(inactive, unusable password, not staff where the model has these); referenced by {referrers}"
    )
    return event.model, text, {k: v for k, v in c.items() if k != "values"} | {"values": _redacted(c["values"])}


def _reassigned(event: Any, r: dict[str, Any]) -> Line:
    field = event.field if isinstance(event, RestoreRun.UuidsReassigned) else "pk"
    return event.model, f"{_key_text(r)}: {field} {r['old']} -> {r['new']} ({r['reason']})", r


def _allocated(event: Any, _: None) -> Line:
    details = {"table": event.table, "first": event.first, "count": event.count, "reason": event.reason}
    return event.model, f"{event.table}: {event.count} pks from {event.first} ({event.reason})", details


DECISION_LINES: dict[type[Any], tuple[str, str | None, Callable[[Any, Any], Line]]] = {
    RestoreRun.TargetReinitialised: ("reinitialised", "evidence", _reinitialised),
    RestoreRun.RowsMapped: ("mapped", "mappings", _mapped),
    RestoreRun.RowsUnchanged: ("unchanged", "rows", _unchanged),
    RestoreRun.PrimaryKeysBound: ("bound", "bindings", _bound),
    RestoreRun.SoftReferencesFollowed: ("soft reference", "follows", _soft_reference),
    RestoreRun.GenericReferencesFollowed: ("generic reference", "follows", _generic_reference),
    RestoreRun.LinksAdded: ("link", "links", _link),
    RestoreRun.LinksRemoved: ("link removed", "links", _unlink),
    RestoreRun.ConflictsRecorded: ("conflict", "conflicts", _conflict),
    RestoreRun.RowsUpdated: ("updated", "updates", _updated),
    RestoreRun.MissingRowsCreated: ("created", "created", _created),
    RestoreRun.UuidsReassigned: ("uuid", "reassignments", _reassigned),
    RestoreRun.PrimaryKeysReassigned: ("pk", "reassignments", _reassigned),
    RestoreRun.PrimaryKeysAllocated: ("allocated", None, _allocated),
}
"""Each decision event: the kind of its decisions, the list attribute holding them (None: the event is one
decision), and the formatter of one decision."""


def _decision_lines(event: Any) -> list[dict[str, Any]]:
    """Each decision of an event as one line in plain words, with its details for machines."""
    for cls, (kind, attribute, line) in DECISION_LINES.items():
        if isinstance(event, cls):
            items = getattr(event, attribute) if attribute else [None]
            lines = []
            for item in items:
                model, text, details = line(event, item)
                lines.append({"kind": kind, "model": model, "text": text, "details": details})
            return lines
    return []


def _redacted(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ("<unusable>" if k == "password" else v) for k, v in values.items()}


def restore_decisions(
    ledger_url: str, restore_id: str, kind: str | None = None, model: str | None = None
) -> list[dict[str, Any]]:
    """Every decision of a restore, grouped by kind in a fixed order, optionally filtered."""
    ledger = Ledger(ledger_url)
    run = ledger.get_run(restore_id)
    lines = [line for event in ledger.events.get(run.id) for line in _decision_lines(event)]
    lines = [
        line for line in lines if (kind is None or line["kind"] == kind) and (model is None or line["model"] == model)
    ]
    return sorted(lines, key=lambda line: KINDS.index(line["kind"]))
