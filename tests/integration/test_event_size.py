"""Wide rows are recorded in small events: every save of the ledger stays far below the size at
which psycopg's pipeline mode (used by eventsourcing's PostgreSQL recorder) can hang."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path

import psycopg
from click.testing import CliRunner

from tests.conftest import run
from tests.edms import Source, build_target

ROW_BYTES = 300_000
LARGEST_STATE = 1_500_000  # bytes of one stored event, compressed: a few rows of this width at most


def largest_rows_event(ledger: str) -> tuple[int, int]:
    """(row events, bytes of the largest stored row event) in the ledger."""
    where = "topic LIKE '%RowsRecorded'"
    if ledger.startswith("postgresql"):
        with psycopg.connect(ledger) as conn:
            found = conn.execute(
                f"SELECT COUNT(*), MAX(length(state)) FROM restore_ledger.restoreledger_events WHERE {where}"
            ).fetchone()
    else:
        with sqlite3.connect(ledger) as conn:
            found = conn.execute(f"SELECT COUNT(*), MAX(length(state)) FROM stored_events WHERE {where}").fetchone()
        conn.close()
    assert found is not None
    return int(found[0]), int(found[1])


def test_rows_of_300_kb_each_are_recorded_a_few_per_event(
    source: Source, ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    data = json.loads(source.fixture().read_text())
    wide = [r for r in data if r["model"] == "workflows.workflowtransition"]
    for record in wide:  # random text: zlib cannot make it small
        record["fields"]["comment"] = base64.b64encode(os.urandom(ROW_BYTES * 3 // 4)).decode()
    backup = tmp_path / "wide.json"
    backup.write_text(json.dumps(data))
    target = build_target(tmp_path / "target.sqlite3")

    result = run(cli, "restore", backup, "--target", f"sqlite:///{target}", "--ledger", ledger, "--quiet")

    assert result.exit_code == 0, result.output
    events, largest = largest_rows_event(ledger)
    assert len(wide) * ROW_BYTES > 5 * LARGEST_STATE  # one event of all of them would be far too large
    assert largest < LARGEST_STATE, f"{largest} bytes in one row event"
    with sqlite3.connect(target) as conn:
        comments = conn.execute("SELECT COUNT(*) FROM workflows_workflowtransition WHERE length(comment) = ?",
                                (ROW_BYTES,)).fetchone()  # fmt: skip
    conn.close()
    assert comments == (len(wide),)
    assert events > len(wide) // 4
