"""Report downloads of one restore, as HTML, CSV or JSON.

LEAD: after merging the reports branch, switch ``render`` to its report use case
(``restore-ledger report ID --format html|csv|json``) and delete the rendering below; the routes
call only ``render``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from jinja2 import Environment

from application.event_log import event_log
from application.report import restore_decisions, show_restore
from web.decisions import review, summary

FORMATS = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8", "json": "application/json"}


def render(ledger_url: str, restore_id: str, fmt: str, templates: Environment) -> tuple[bytes, str, str]:
    """The report's bytes, media type and file name."""
    run = show_restore(ledger_url, restore_id)
    decisions = review(restore_decisions(ledger_url, restore_id))
    name = f"restore-{run['restore_id']}.{fmt}"
    if fmt == "json":
        run["decisions"] = decisions
        run["timeline"] = event_log(ledger_url, restore_id)
        return json.dumps(run, indent=2, default=str).encode(), FORMATS[fmt], name
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["kind", "model", "security_relevant", "decision", "details"])
        for line in decisions:
            cells = [line["kind"], line["model"], line["security"], line["text"], _json(line["details"])]
            writer.writerow([_cell(cell) for cell in cells])
        return out.getvalue().encode(), FORMATS[fmt], name
    html = templates.get_template("report.html").render(
        run=run, decisions=decisions, summary=summary(decisions), timeline=event_log(ledger_url, restore_id)
    )
    return html.encode(), FORMATS["html"], name


def _json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def _cell(value: Any) -> Any:
    """A cell a spreadsheet would take for a formula is quoted as text."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
