"""Report downloads of one restore, as HTML, CSV or JSON: the same report use case as
``restore-ledger report``, recorded in the ledger with the account that downloaded it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from application.report_file import write_report

FORMATS = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8", "json": "application/json"}
REASON = "report downloaded from the web console"


def render(ledger_url: str, restore_id: str, fmt: str, actor: str) -> tuple[bytes, str, str]:
    """The report's bytes, media type and file name."""
    with tempfile.TemporaryDirectory(prefix="restore-ledger-report-") as folder:
        out = Path(folder) / f"report.{fmt}"
        write_report(ledger_url, restore_id, fmt, out, actor, REASON)
        body = out.read_bytes()
    return body, FORMATS[fmt], f"restore-{restore_id}.{fmt}"
