"""References inside a cycle of foreign keys (a document's current version, its parent) are written with
their row wherever the target checks them at the commit (SQLite under the restore's lock, PostgreSQL's
DEFERRABLE INITIALLY DEFERRED keys, as Django declares them); only a key checked as each row is written
makes the restore write them empty first, then set them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.conftest import run
from tests.edms import Source
from tests.restores import PROFILE
from tests.targets import PostgresTarget, Target

CURRENT_VERSION_KEY = (
    "SELECT k.conname FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
    "WHERE k.conrelid = 'documents_document'::regclass AND k.contype = 'f' AND a.attname = 'current_version_id'"
)


def restored(cli: CliRunner, source: Source, target: Target, ledger: str) -> dict[str, object]:
    result = run(
        cli, "restore", source.fixture(), "--target", target.url, "--ledger", ledger, "--profile", PROFILE,
        "--quiet", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    outcome: dict[str, object] = json.loads(result.output)
    return outcome


def test_references_in_a_cycle_are_written_with_their_row_where_the_target_checks_them_at_the_commit(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    outcome = restored(cli, source, reinitialised, ledger)

    assert outcome["deferred"] == {}
    assert reinitialised.query("SELECT count(*) FROM documents_document WHERE current_version_id IS NULL") == [(0,)]
    result = run(cli, "rollback", outcome["restore_id"], "--ledger", ledger, "--reason", "drill")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("reinitialised", ["postgresql"], indirect=True)
def test_a_reference_the_target_checks_as_each_row_is_written_is_written_empty_then_set(
    source: Source, reinitialised: PostgresTarget, ledger: str, cli: CliRunner
) -> None:
    [(name,)] = reinitialised.query(CURRENT_VERSION_KEY)
    reinitialised.execute(f"ALTER TABLE documents_document ALTER CONSTRAINT {name} NOT DEFERRABLE")
    before = reinitialised.data()

    outcome = restored(cli, source, reinitialised, ledger)

    assert outcome["deferred"] == {"documents.document": ["current_version"]}
    assert reinitialised.query("SELECT count(*) FROM documents_document WHERE current_version_id IS NULL") == [(0,)]
    assert reinitialised.data() != before
    restored_data = reinitialised.data()

    # the rollback deletes the versions first, which that key refuses row by row: named, nothing removed
    result = run(cli, "rollback", outcome["restore_id"], "--ledger", ledger, "--reason", "drill")
    assert result.exit_code == 1, result.output
    assert "the target refused the rollback's deletes" in result.output and name in result.output
    assert reinitialised.data() == restored_data
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", ledger, "--json").output)
    assert entry["status"] == "applied" and entry["history"][-1]["event"] == "RollbackRefused"
