"""``restore-ledger compare``: the check after a disaster-recovery drill."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import run
from tests.edms import Source
from tests.targets import Target


def restored(source: Source, target: Target, ledger: str, cli: CliRunner) -> Path:
    package = source.backup()
    result = run(cli, "restore", package, "--target", target.url, "--ledger", ledger, "--media-root",
                 Path(ledger).parent / "media", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    return package


def test_compare_after_a_restore_reports_no_difference_but_the_recorded_decisions(
    source: Source, reinitialised: Target, tmp_path: Path, cli: CliRunner
) -> None:
    ledger = str(tmp_path / "ledger.sqlite3")
    package = restored(source, reinitialised, ledger, cli)

    result = run(cli, "compare", package, "--target", reinitialised.url, "--ledger", ledger, "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["differences"] == 0
    models = report["models"]
    assert models["documents.document"]["equal"] == 60
    assert models["documents.documentversion"]["equal"] == 127
    assert {row["decision"] for row in models["accounts.role"]["decided"]} == {"mapped"}
    assert all(
        row["fields"].keys() <= {"uuid", "description", "is_system"} for row in models["accounts.role"]["decided"]
    )


def test_compare_names_the_row_and_field_edited_by_hand(
    source: Source, reinitialised: Target, tmp_path: Path, cli: CliRunner
) -> None:
    ledger = str(tmp_path / "ledger.sqlite3")
    package = restored(source, reinitialised, ledger, cli)
    (number, title), *_ = reinitialised.query("SELECT number, title FROM documents_document ORDER BY number")
    reinitialised.execute(f"UPDATE documents_document SET title = 'edited by hand' WHERE number = '{number}'")

    text = run(cli, "compare", package, "--target", reinitialised.url, "--ledger", ledger)
    report = json.loads(
        run(cli, "compare", package, "--target", reinitialised.url, "--ledger", ledger, "--json").output
    )

    assert text.exit_code == 1
    assert f"different documents.document {number}: title: {title!r} in the backup, 'edited by hand'" in text.output
    assert "1 differences" in text.output
    assert report["differences"] == 1
    assert report["models"]["documents.document"]["different"] == [
        {"key": number, "fields": {"title": [title, "edited by hand"]}}
    ]


def test_compare_without_the_ledger_counts_missing_and_extra_rows(
    source: Source, target: Target, tmp_path: Path, cli: CliRunner
) -> None:
    package = source.backup()

    result = run(cli, "compare", package, "--target", target.url, "--json")

    assert result.exit_code == 1
    report = json.loads(result.output)
    assert len(report["models"]["documents.document"]["missing"]) == 60
    assert report["models"]["documents.document"]["equal"] == 0
