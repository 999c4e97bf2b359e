"""The apply writes a table's consecutive row events in one bulk write (PostgreSQL: one COPY, the server
writing while the next event is read): every row lands, and a value taken since planning in any of the
events of such a write is named, with nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from application import recording
from application.ledger import Ledger
from domain.ledger import RestoreRun
from infrastructure import projection
from infrastructure.dialects import PostgresWriter, SqliteWriter
from tests.conftest import run
from tests.edms import EDMS, Source
from tests.restores import restore
from tests.targets import Target

PROFILE = EDMS / "profile.toml"
BUSINESS_ONLY = [
    "--exclude", "accounts.role",
    "--exclude", "documents.documenttype",
    "--exclude", "workflows.workflowtype",
    "--skip", "accounts.user=admin",
]  # fmt: skip


@pytest.fixture
def streams(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Row events of 2 rows, 3 to a bulk write; each bulk write's table and batches, as written."""
    monkeypatch.setattr(recording, "BATCH_ROWS", 2)
    monkeypatch.setattr(projection, "STREAM_EVENTS", 3)
    written: list[tuple[str, int]] = []
    for writer in (SqliteWriter, PostgresWriter):
        insert_batches = writer.insert_batches

        def counted(self: Any, conn: Any, table: str, columns: Any, batches: Any, insert: Any = insert_batches) -> None:
            seen: list[int] = []

            def passed() -> Any:
                for rows in batches:
                    seen.append(len(rows))
                    yield rows

            insert(self, conn, table, columns, passed())
            written.append((table, len(seen)))

        monkeypatch.setattr(writer, "insert_batches", counted)
    return written


def test_a_tables_row_events_are_written_a_few_at_once_and_every_row_lands(
    streams: list[tuple[str, int]], source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore(cli, source.fixture(), reinitialised, ledger)

    assert "0 differences" in source.compare(reinitialised.django, *BUSINESS_ONLY)
    documents = [batches for table, batches in streams if table == "documents_document"]
    assert documents[:-1] and set(documents[:-1]) == {3}  # 3 events to a write, the last write the rest
    assert 1 <= documents[-1] <= 3


def test_a_pk_taken_since_planning_in_a_later_event_of_a_bulk_write_is_named_and_nothing_written(
    streams: list[tuple[str, int]], source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    planned = run(
        cli, "plan", source.fixture(), "--target", reinitialised.url, "--ledger", ledger, "--profile", PROFILE,
        "--quiet",
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output
    restore_id = planned.output.split()[1]
    recorded = Ledger(ledger)
    tags = [
        event
        for event in map(
            recorded.mapper.to_domain_event, recorded.recorder.select_events(recorded.get_run(restore_id).id)
        )
        if isinstance(event, RestoreRun.RowsRecorded) and event.table == "documents_tag"
    ]
    assert len(tags) >= 3  # the third is the last event of the table's first bulk write
    pk, name = tags[2].rows[0]
    reinitialised.execute(f"INSERT INTO documents_tag (id, name) VALUES ({pk}, '{name}')")
    before = reinitialised.snapshot()

    result = run(cli, "apply", restore_id, "--target", reinitialised.url, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert f"documents.tag: id {pk} in 'documents_tag' is taken since planning" in result.output
    assert reinitialised.snapshot() == before
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", ledger, "--json").output)
    assert entry["status"] == "failed" and entry["history"][-1]["event"] == "Failed", entry
