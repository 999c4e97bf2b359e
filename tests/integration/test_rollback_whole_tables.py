"""A rollback empties at once each table that holds only the rows it removes (SQLite's truncate
optimisation, PostgreSQL's TRUNCATE), after their digests are checked; where emptying would skip what
deleting each row does (a trigger), or the table holds other rows, it deletes row by row."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from infrastructure import parallel_digests, pg_constraints
from infrastructure.dialects import PostgresWriter, SqliteWriter
from tests.conftest import run
from tests.edms import Source
from tests.restores import restore
from tests.targets import Target

TRIGGERS = {
    "sqlite": [
        "CREATE TABLE deleted_log (document_id integer)",
        "CREATE TRIGGER log_delete AFTER DELETE ON documents_document "
        "BEGIN INSERT INTO deleted_log VALUES (old.id); END",
    ],
    "postgresql": [
        "CREATE TABLE deleted_log (document_id integer)",
        "CREATE FUNCTION log_delete() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO deleted_log VALUES (old.id); RETURN old; END $$",
        "CREATE TRIGGER log_delete AFTER DELETE ON documents_document FOR EACH ROW EXECUTE FUNCTION log_delete()",
    ],
}


@pytest.fixture
def emptied(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables a rollback empties at once; on PostgreSQL from the first row (the example's tables are
    small), as a restore of 1,000 rows or more per table does; on SQLite their digests read by two
    processes, as for 20,000 rows or more."""
    monkeypatch.setattr(pg_constraints, "MIN_ROWS", 1)
    monkeypatch.setattr(parallel_digests, "MIN_ROWS", 1)
    tables: list[str] = []
    for writer in (SqliteWriter, PostgresWriter):
        empty = writer.empty

        def recorded(self: Any, conn: Any, table: str, empty: Any = empty) -> None:
            tables.append(table)
            empty(self, conn, table)

        monkeypatch.setattr(writer, "empty", recorded)
    return tables


def dialect(target: Target) -> str:
    return "postgresql" if target.url.startswith("postgresql") else "sqlite"


def test_the_tables_that_hold_only_restored_rows_are_emptied_at_once_and_the_rest_kept(
    emptied: list[str], source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    before = reinitialised.data()
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)

    result = run(cli, "rollback", restore_id, "--ledger", ledger, "--reason", "drill")

    assert result.exit_code == 0, result.output
    assert reinitialised.data() == before
    assert "documents_document" in emptied and "audit_auditentry" in emptied
    assert "accounts_role" not in emptied  # the target's seeded roles stay: their table is not only the restore's


def test_a_row_added_since_to_a_restored_table_keeps_it_from_being_emptied_and_stays(
    emptied: list[str], source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    uuid = "gen_random_uuid()" if dialect(reinitialised) == "postgresql" else "lower(hex(randomblob(16)))"
    reinitialised.execute(
        "INSERT INTO audit_auditentry (uuid, at, action, object_id, object_repr, changes, actor_id) "
        f"SELECT {uuid}, at, 'added later', object_id, object_repr, changes, NULL "
        "FROM audit_auditentry WHERE id = (SELECT min(id) FROM audit_auditentry)"
    )
    later = reinitialised.query("SELECT action FROM audit_auditentry WHERE action = 'added later'")

    result = run(cli, "rollback", restore_id, "--ledger", ledger, "--reason", "drill")

    assert result.exit_code == 0, result.output
    assert "audit_auditentry" not in emptied and "documents_document" in emptied
    assert reinitialised.query("SELECT action FROM audit_auditentry") == later


def test_a_delete_trigger_still_runs_for_every_row_the_rollback_removes(
    emptied: list[str], source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    for statement in TRIGGERS[dialect(reinitialised)]:
        reinitialised.execute(statement)
    restored = reinitialised.query("SELECT id FROM documents_document ORDER BY id")

    result = run(cli, "rollback", restore_id, "--ledger", ledger, "--reason", "drill")

    assert result.exit_code == 0, result.output
    assert reinitialised.query("SELECT document_id FROM deleted_log ORDER BY document_id") == restored
    if dialect(reinitialised) == "postgresql":
        assert "documents_document" not in emptied  # TRUNCATE would not run the trigger


def test_a_changed_row_in_a_table_that_would_be_emptied_is_named_and_nothing_is_removed(
    emptied: list[str], source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    reinitialised.execute("UPDATE documents_document SET title = 'edited later' WHERE number LIKE '%-00007'")
    before = reinitialised.data()

    result = run(cli, "rollback", restore_id, "--ledger", ledger, "--reason", "drill")

    assert result.exit_code == 1, result.output
    assert "documents_document pk" in result.output and "column title" in result.output
    assert reinitialised.data() == before
