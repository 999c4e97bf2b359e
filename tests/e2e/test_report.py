"""The filed report of the example re-initialised restore: HTML opened in headless Chromium, CSV
reconciling to the counts, JSON round-tripping; making a report is recorded in the ledger."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import run
from tests.e2e.test_reinitialised import restore, without_users
from tests.edms import Source
from tests.targets import Target

MISSING = ("user00001", "user00002")


@pytest.fixture
def restored(source: Source, reinitialised: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner) -> str:
    """The example backup without two users that its rows reference: they are created."""
    return restore(cli, without_users(source, tmp_path, *MISSING), reinitialised, sqlite_ledger)


def counts(cli: CliRunner, ledger: str, restore_id: str) -> Counter[str]:
    result = run(cli, "ledger", "show", restore_id, "--ledger", ledger, "--decisions", "--summary", "--json")
    found: Counter[str] = Counter()
    for entry in json.loads(result.output):
        found[entry["kind"]] += entry["count"]
    return found


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed")
    return found


@pytest.mark.parametrize("reinitialised", ["sqlite"], indirect=True)
def test_the_html_report_opens_in_headless_chromium_with_role_mappings_and_created_users(
    restored: str, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    page = tmp_path / "report.html"
    result = run(cli, "report", restored, "--ledger", sqlite_ledger, "--format", "html", "-o", page)
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert "src=" not in html and "href=" not in html and "<script" not in html  # nothing fetched
    browser = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,2000"]
    shot = tmp_path / "report.png"

    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    subprocess.run([*browser, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)

    rows = dom.stdout.split("<tr>")
    assert any("mapped" in row and 'accounts.role "Administrator"' in row for row in rows), dom.stdout[:2000]
    for username in MISSING:
        assert any("created" in row and username in row for row in rows)
    assert "pbkdf2_" not in dom.stdout and "&lt;redacted: " in html
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_csv_report_has_one_row_per_decision_and_reconciles_to_the_counts(
    restored: str, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    filed = tmp_path / "report.csv"
    assert run(cli, "report", restored, "--ledger", sqlite_ledger, "--format", "csv", "-o", filed).exit_code == 0

    with filed.open(newline="") as source:
        rows = list(csv.DictReader(source))

    assert list(rows[0]) == ["restore_id", "event_version", "kind", "model", "record", "field", "before", "after",
                             "reason", "decision"]  # fmt: skip
    assert Counter(row["kind"] for row in rows) == counts(cli, sqlite_ledger, restored)
    assert {row["restore_id"] for row in rows} == {restored}
    assert all(row["event_version"].isdigit() for row in rows)
    assert {row["record"] for row in rows if row["kind"] == "created"} == {
        f"accounts.user ('{name}',)" for name in MISSING
    }
    assert "pbkdf2_" not in filed.read_text()


def test_the_json_report_round_trips_reconciles_and_is_recorded_in_the_ledger(
    restored: str, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    filed = tmp_path / "report.json"
    made = run(cli, "report", restored, "--ledger", sqlite_ledger, "--format", "json", "-o", filed, "--actor", "qa")
    assert made.exit_code == 0, made.output

    report = json.loads(filed.read_text())

    assert json.loads(json.dumps(report)) == report
    assert list(report) == ["header", "identity", "timeline", "source", "target", "reconciliation", "verify_with",
                            "secret_columns", "security_decisions", "decisions"]  # fmt: skip
    assert report["header"]["verified"]["ok"] is True and len(report["header"]["ledger"]["root"]) == 64
    assert report["identity"]["restore_id"] == restored
    assert Counter(d["kind"] for d in report["decisions"]) == counts(cli, sqlite_ledger, restored)
    assert {d["kind"] for d in report["security_decisions"]} >= {"created"}
    assert all(model["adds_up"] for model in report["reconciliation"]), report["reconciliation"]
    users = next(m for m in report["reconciliation"] if m["model"] == "accounts.user")
    assert users["created"] == len(MISSING)
    assert users["inserted"] + users["mapped"] + users["conflicts"] + users["skipped"] == users["in_backup"]
    shown = run(cli, "ledger", "show", restored, "--ledger", sqlite_ledger)
    assert "json report made" in shown.output and "by qa" in shown.output
    assert run(cli, "ledger", "verify", "--ledger", sqlite_ledger).exit_code == 0
