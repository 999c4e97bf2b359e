"""A restore's report, to file: HTML (self-contained, prints well), CSV (one row per decision) or
JSON, with the ledger's size and root and the verification result so a filed copy can be checked
later; making it is recorded in the ledger."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from application.decisions import CSV_HEADER, csv_row, decisions, plain_state, secrets_of, summary
from application.ledger import Ledger, tool_version
from application.report import show_restore
from application.timeline import timeline
from application.verify import verify_ledger
from domain.errors import RestoreError
from domain.ledger import RestoreRun
from infrastructure.ledger_verify import check_run
from infrastructure.report_html import render_html

FORMATS = ("html", "csv", "json")
SECURITY_WORDS = ("user", "role", "group", "permission")
_ROWS = get_topic(RestoreRun.RowsRecorded)


class ReportError(RestoreError):
    stage = "report"


def security_relevant(line: dict[str, Any]) -> bool:
    """Users created, roles and groups mapped, rows updated, permissions linked come first."""
    return line["kind"] in ("created", "updated") or any(w in line["model"].lower() for w in SECURITY_WORDS)


def reconciliation(
    ledger: Ledger, run_id: UUID, counts: dict[str, int], profile: dict[str, Any]
) -> list[dict[str, Any]]:
    """Per model: in the backup = inserted + mapped + conflicts (+ skipped); created rows come on top."""
    decided: Counter[tuple[str, str]] = Counter()
    for entry in summary(ledger, run_id):
        decided[(entry["kind"], entry["model"])] += entry["count"]
    recorded: Counter[str] = Counter()
    version = 0
    while page := ledger.recorder.select_events(run_id, gt=version, limit=8):
        for stored in page:
            version = stored.originator_version
            if stored.topic == _ROWS:
                state = plain_state(ledger, stored)
                if profile.get(state["model"], {}).get("table") == state["table"]:
                    recorded[state["model"]] += len(state["rows"])
    models = []
    for label in sorted(set(counts) | set(recorded)):
        created = decided[("created", label)]
        row: dict[str, Any] = {
            "model": label,
            "in_backup": counts.get(label, 0),
            "inserted": recorded[label] - created,
            "mapped": decided[("mapped", label)],
            "conflicts": decided[("conflict", label)],
            "updated": decided[("updated", label)],
            "created": created,
            "pks_reassigned": decided[("pk", label)],
            "uuids_reassigned": decided[("uuid", label)],
        }
        row["skipped"] = row["in_backup"] - row["inserted"] - row["mapped"] - row["conflicts"]
        row["adds_up"] = row["skipped"] >= 0 and row["inserted"] >= 0
        models.append(row)
    return models


def report_data(ledger_url: str, restore_id: str) -> dict[str, Any]:
    """Everything but the decisions (streamed separately): header, identity, timeline, source,
    target, reconciliation and the command that re-verifies the report against the ledger."""
    ledger = Ledger(ledger_url)
    run_id = ledger.run_id(restore_id)
    check_run(ledger.recorder, run_id)
    verified = verify_ledger(ledger_url)
    if not verified.ok:
        first = verified.findings[0]
        raise ReportError(
            f"the ledger fails verification ({len(verified.findings)} findings, the first: "
            f"{first['kind']} at position {first['position']}: {first['detail']}); no report is made"
        )
    run = show_restore(ledger_url, restore_id)
    profile = _profile(ledger, run_id)
    return {
        "header": {
            "tool": f"restore-ledger {tool_version()}",
            "generated_at": datetime.now(UTC).isoformat(),
            "ledger": {"size": verified.size, "root": verified.root},
            "verified": {"ok": verified.ok, "events": verified.events, "findings": verified.findings},
        },
        "identity": {
            k: run[k]
            for k in ("restore_id", "status", "actor", "reason", "started_at", "profile_digest", "tool_version")
        },
        "timeline": timeline(ledger, run_id),
        "source": run["backup"],
        "target": run["target"],
        "reconciliation": reconciliation(ledger, run_id, run["counts"], profile),
        "verify_with": [
            f"restore-ledger ledger verify --ledger {ledger_url}",
            f"restore-ledger ledger show {run['restore_id']} --ledger {ledger_url}",
        ],
        "secret_columns": sorted(secrets_of(ledger, run_id)),
    }


def _profile(ledger: Ledger, run_id: UUID) -> dict[str, Any]:
    for stored in ledger.recorder.select_events(run_id, gt=1, limit=1):
        event = ledger.mapper.to_domain_event(stored)
        if isinstance(event, RestoreRun.Validated):
            return dict(event.profile)
    return {}


def ordered_decisions(ledger: Ledger, run_id: UUID) -> Iterator[dict[str, Any]]:
    """The security-relevant decisions first, then the others; two streaming passes."""
    yield from (line for line in decisions(ledger, run_id) if security_relevant(line))
    yield from (line for line in decisions(ledger, run_id) if not security_relevant(line))


def write_report(ledger_url: str, restore_id: str, form: str, out: Path, actor: str, reason: str) -> dict[str, Any]:
    """Write the report, then record in the ledger that it was made (with the file's sha256)."""
    if form not in FORMATS:
        raise ReportError(f"no report format {form!r}: {', '.join(FORMATS)}")
    data = report_data(ledger_url, restore_id)
    ledger = Ledger(ledger_url)
    run_id = ledger.run_id(restore_id)
    try:
        with out.open("w", newline="" if form == "csv" else None, encoding="utf-8") as sink:
            if form == "csv":
                writer = csv.writer(sink)
                writer.writerow(CSV_HEADER)
                for line in decisions(ledger, run_id):
                    writer.writerow(csv_row(line))
            elif form == "json":
                _write_json(sink, data, ledger, run_id)
            else:
                for chunk in render_html(data, ordered_decisions(ledger, run_id)):
                    sink.write(chunk)
    except OSError as error:
        raise ReportError(f"the report {str(out)!r} cannot be written: {error.strerror}") from None
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    run = ledger.get_run(run_id)
    run.record_report(form, digest, actor, reason)
    ledger.save(run)
    return {"file": str(out), "format": form, "sha256": digest, "ledger": data["header"]["ledger"]}


def _write_json(sink: Any, data: dict[str, Any], ledger: Ledger, run_id: UUID) -> None:
    """The report as one JSON document, its decisions streamed into it."""
    body = json.dumps(data, indent=1, default=str)
    sink.write(body[: body.rindex("}")].rstrip() + ',\n "security_decisions": [')
    for number, line in enumerate(line for line in decisions(ledger, run_id) if security_relevant(line)):
        sink.write(("," if number else "") + "\n  " + json.dumps(line, default=str))
    sink.write('\n ],\n "decisions": [')
    for number, line in enumerate(decisions(ledger, run_id)):
        sink.write(("," if number else "") + "\n  " + json.dumps(line, default=str))
    sink.write("\n ]\n}\n")
