"""A restore's decisions for review at any size: streamed event by event in ledger order (memory
bounded by one event), counted per kind and model, paged, with secret columns redacted."""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.utils import get_topic

from application.ledger import Ledger
from application.report import DECISION_LINES, _decision_lines
from domain.ledger import RestoreRun

DECISION_EVENTS = tuple(DECISION_LINES)
SKIPPED = {get_topic(RestoreRun.RowsRecorded), get_topic(RestoreRun.ReferencesDeferred)}
DEFAULT_SECRETS = frozenset({"password"})
SUMMARY_PAST = 1000
PAGE = 8
CSV_HEADER = [
    "restore_id",
    "event_version",
    "kind",
    "model",
    "record",
    "field",
    "before",
    "after",
    "reason",
    "decision",
]
_LISTS = (
    "evidence",
    "mappings",
    "conflicts",
    "updates",
    "created",
    "reassignments",
    "rows",
    "bindings",
    "follows",
    "links",
)


def redacted_value(value: Any) -> str:
    """A secret shown as a short digest: equal secrets can be compared, none can be read."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return f"<redacted: {hashlib.sha256(text.encode()).hexdigest()[:12]}>"


def redact(value: Any, secrets: frozenset[str]) -> Any:
    """Every value under a secret key (at any depth) redacted; ``None`` stays ``None``."""
    if isinstance(value, dict):
        return {k: (_hide(v) if k in secrets else redact(v, secrets)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, secrets) for item in value]
    return value


def _hide(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [_hide(item) for item in value]
    return redacted_value(value)


def secrets_of(ledger: Ledger, restore_id: UUID) -> frozenset[str]:
    """``password`` and the profile's ``secret_fields`` of every model the restore used."""
    names = set(DEFAULT_SECRETS)
    for stored in ledger.recorder.select_events(restore_id, gt=1, limit=1):
        event = ledger.mapper.to_domain_event(stored)
        if isinstance(event, RestoreRun.Validated):
            for model in event.profile.values():
                names.update(model.get("secret_fields", ()))
    return frozenset(names)


def decision_events(ledger: Ledger, restore_id: UUID) -> Iterator[Any]:
    """The restore's decision events in ledger order, a few at a time; row batches are passed over
    before they are decoded."""
    version = 0
    while page := ledger.recorder.select_events(restore_id, gt=version, limit=PAGE):
        for stored in page:
            version = stored.originator_version
            if stored.topic in SKIPPED:
                continue
            event = ledger.mapper.to_domain_event(stored)
            if isinstance(event, DECISION_EVENTS):
                yield event


def _redacted_event(event: Any, secrets: frozenset[str]) -> Any:
    shown = copy.copy(event)
    for name in _LISTS:
        if hasattr(event, name):
            object.__setattr__(shown, name, redact(getattr(event, name), secrets))
    return shown


def decisions(
    ledger: Ledger, restore_id: UUID, kind: str | None = None, model: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every decision (filtered), in ledger order, secrets redacted, with the columns of a filed record."""
    secrets = secrets_of(ledger, restore_id)
    for event in decision_events(ledger, restore_id):
        if model is not None and getattr(event, "model", model) != model and not hasattr(event, "evidence"):
            continue
        for line in _decision_lines(_redacted_event(event, secrets)):
            if (kind is None or line["kind"] == kind) and (model is None or line["model"] == model):
                yield (
                    {"restore_id": str(restore_id), "event_version": event.originator_version}
                    | line
                    | _columns(line, event)
                )


def _columns(line: dict[str, Any], event: Any) -> dict[str, Any]:
    """record, field, before, after, reason: the same five for every kind of decision."""
    d, kind = line["details"], line["kind"]
    record = d.get("record", "")
    if kind == "mapped":
        return _row(
            record,
            "pk, uuid",
            {"pk": d.get("backup_pk"), "uuid": d.get("backup_uuid")},
            {"pk": d.get("pk"), "uuid": d.get("uuid")},
            d.get("reason", "mapped onto the existing row"),
        )
    if kind == "conflict":
        differing = d.get("differing", {})
        return _row(
            record,
            ", ".join(sorted(differing)),
            {c: p[0] for c, p in differing.items()},
            {c: p[1] for c, p in differing.items()},
            d.get("resolution", ""),
        )
    if kind == "updated":
        return _row(record, ", ".join(sorted(d["after"])), d["before"], d["after"], "conflict resolved by update")
    if kind == "created":
        return _row(
            f"{line['model']} {tuple(d.get('key', ()))!r}",
            "",
            None,
            d.get("values"),
            "referenced but missing: created inactive, unusable password, not staff",
        )
    if kind == "uuid":
        return _row(record, getattr(event, "field", "uuid"), d.get("old"), d.get("new"), d.get("reason", ""))
    if kind == "pk":
        return _row(record, "pk", d.get("old"), d.get("new"), d.get("reason", ""))
    if kind == "allocated":
        last = d["first"] + d["count"] - 1
        return _row(d["table"], "pk", None, f"{d['first']}..{last}", d["reason"])
    return _row(record or d.get("model", ""), "", None, None, d.get("reason", line["text"]))


def _row(record: str, field: str, before: Any, after: Any, reason: str) -> dict[str, Any]:
    return {"record": record, "field": field, "before": before, "after": after, "reason": reason}


def csv_row(line: dict[str, Any]) -> list[Any]:
    def cell(value: Any) -> Any:
        return "" if value is None else json.dumps(value, default=str) if isinstance(value, dict | list) else value

    return [cell(line[name]) if name != "decision" else line["text"] for name in CSV_HEADER]


# What each decision event counts as, for the summary: (kind, list attribute), from report.DECISION_LINES;
# the summary must not format 100,000 lines to count them.
_COUNTED: dict[str, tuple[str, str | None]] = {
    get_topic(cls): (kind, attribute) for cls, (kind, attribute, _) in DECISION_LINES.items()
}


def plain_state(ledger: Ledger, stored: Any) -> dict[str, Any]:
    """An event's fields as plain JSON, without building the event (fast enough for counting)."""
    data = stored.state
    if ledger.mapper.cipher is not None:
        data = ledger.mapper.cipher.decrypt(data)
    if ledger.mapper.compressor is not None:
        data = ledger.mapper.compressor.decompress(data)
    state: dict[str, Any] = orjson.loads(data)
    return state


def summary(
    ledger: Ledger, restore_id: UUID, kind: str | None = None, model: str | None = None
) -> list[dict[str, Any]]:
    """How many decisions of each kind per model, in ledger order of first appearance."""
    counts: Counter[tuple[str, str]] = Counter()
    version = 0
    while page := ledger.recorder.select_events(restore_id, gt=version, limit=PAGE):
        for stored in page:
            version = stored.originator_version
            if stored.topic not in _COUNTED:
                continue
            counted, attribute = _COUNTED[stored.topic]
            state = plain_state(ledger, stored)
            if attribute == "evidence":
                found = Counter(str(e["model"]) for e in state["evidence"])
            else:
                found = Counter({str(state["model"]): len(state[attribute]) if attribute else 1})
            for label, number in found.items():
                if (kind is None or counted == kind) and (model is None or label == model):
                    counts[(counted, label)] += number
    return [{"kind": k, "model": m, "count": n} for (k, m), n in counts.items()]
