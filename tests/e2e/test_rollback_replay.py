"""Roll back, replay and rebuild restores from the ledger, on SQLite and PostgreSQL targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner

from application.ledger import Ledger
from application.rollback import rollback_restore
from domain.ledger import RestoreRun
from infrastructure import footprint, projection_digest, projection_rollback
from infrastructure.footprint import digest
from infrastructure.projection import Projection
from tests.conftest import run
from tests.edms import Source
from tests.restores import Clone, media_files, restore, sequences_ahead
from tests.targets import Target


@pytest.mark.parametrize("on_conflict", ["keep-existing", "update"])
def test_restore_then_rollback_leaves_every_table_and_media_file_as_before(
    on_conflict: str, source: Source, reinitialised: Target, ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    before = reinitialised.data()
    media = tmp_path / "media"
    restore_id = restore(cli, source.package(), reinitialised, ledger, "--media-root", media,
                         "--on-conflict", on_conflict)  # fmt: skip
    assert reinitialised.data() != before and media_files(media)

    result = run(cli, "rollback", restore_id, "--ledger", ledger, "--reason", "wrong backup")

    assert result.exit_code == 0, result.output
    assert "rolled back" in result.output
    assert reinitialised.data() == before
    assert media_files(media) == {}
    assert sequences_ahead(reinitialised)
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", ledger, "--json").output)
    assert entry["status"] == "rolled back"
    assert [h["event"] for h in entry["history"]][-2:] == ["RollbackStarted", "RolledBack"]
    assert entry["history"][-2]["reason"] == "wrong backup"


def test_a_rolled_back_restore_can_be_rolled_forward(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    after = reinitialised.data()
    assert run(cli, "rollback", restore_id, "--ledger", ledger).exit_code == 0

    result = run(cli, "apply", restore_id, "--ledger", ledger, "--reason", "it was the right one")

    assert result.exit_code == 0, result.output
    assert reinitialised.data() == after
    shown = run(cli, "ledger", "show", restore_id, "--ledger", ledger, "--json")
    events = [e["event"] for e in json.loads(shown.output)["events"]]
    outcomes = [e for e in events if e != "RowsDigested"]
    assert outcomes[-6:] == ["ApplyRequested", "Applied", "RollbackStarted", "RolledBack", "ApplyRequested", "Applied"]
    assert events[-2] == "RowsDigested"  # each apply records what it wrote before its Applied


def test_a_rollback_reports_the_rows_it_removes_to_its_progress_bar(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    rows = sum(Ledger(ledger).get_run(restore_id).recorded_rows.values())
    reported: list[tuple[str, int, int | None]] = []

    def progress(stage: str, count: int, total: int | None = None) -> None:
        reported.append((stage, count, total))

    outcome = rollback_restore(restore_id, None, ledger, "alice", "drill", progress=progress)

    assert outcome.status == "rolled back"
    assert {stage for stage, _, _ in reported} == {"rollback"}
    assert {total for _, _, total in reported} == {rows}
    assert sum(count for _, count, _ in reported) == rows > 0  # every restored row, each once


def test_rollback_refuses_when_a_later_row_references_a_restored_row(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    [(user_id,)] = reinitialised.query("SELECT id FROM accounts_user WHERE username = 'user00003'")
    [(role_id,)] = reinitialised.query("SELECT id FROM accounts_role WHERE name = 'Administrator'")
    reinitialised.execute(
        "INSERT INTO accounts_userrole (assigned_at, user_id, role_id) "
        f"VALUES ('2026-01-01 00:00:00', {user_id}, {role_id})"
    )
    before = reinitialised.data()

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert "rows added after the restore depend on its rows" in result.output
    assert f"rollback of restore {restore_id} refused" in result.output and "failed at apply" not in result.output
    assert f"references accounts_user pk {user_id}" in result.output
    assert reinitialised.data() == before
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", ledger, "--json").output)
    assert entry["status"] == "applied"
    assert entry["history"][-1]["event"] == "RollbackRefused"


def test_rollback_refuses_when_a_restored_row_was_changed_after_the_restore(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    reinitialised.execute("UPDATE documents_document SET title = 'edited later' WHERE number LIKE '%-00007'")
    before = reinitialised.data()

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert "restored rows were changed after the restore" in result.output
    assert "documents_document pk" in result.output and "column title" in result.output
    assert reinitialised.data() == before


def test_rollback_refuses_when_a_restored_row_was_deleted_after_the_restore(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    [(pk,)] = reinitialised.query("SELECT MAX(id) FROM audit_auditentry")  # restored pks come after the target's
    reinitialised.execute(f"DELETE FROM audit_auditentry WHERE id = {pk}")
    before = reinitialised.data()

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert "1 restored rows were changed after the restore" in result.output
    assert f"audit_auditentry pk {pk} was deleted" in result.output
    assert reinitialised.data() == before


def spy_row_by_row(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record each rollback that compares the rows with the restore's row events."""
    calls: list[object] = []
    by_rows = projection_rollback.roll_back_by_rows

    def spied(projection: Projection, work: Any) -> None:
        calls.append(work.restore_id)
        by_rows(projection, work)

    monkeypatch.setattr(projection_rollback, "roll_back_by_rows", spied)
    return calls


def test_a_rollback_checks_the_digests_without_reading_the_row_events(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = reinitialised.data()
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    row_by_row = spy_row_by_row(monkeypatch)

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 0, result.output
    assert reinitialised.data() == before
    assert row_by_row == []


def test_a_restore_applied_without_digests_is_rolled_back_row_by_row(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = reinitialised.data()
    with monkeypatch.context() as older_version:  # applies as a version before RowsDigested did
        older_version.setattr(Projection, "_digest_written", lambda self, work: None)
        restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    shown = run(cli, "ledger", "show", restore_id, "--ledger", ledger, "--json")
    assert "RowsDigested" not in [e["event"] for e in json.loads(shown.output)["events"]]
    row_by_row = spy_row_by_row(monkeypatch)

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 0, result.output
    assert reinitialised.data() == before
    assert row_by_row == [UUID(restore_id)]


def test_replay_into_a_copy_of_the_original_target_yields_the_same_rows(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner, clone: Clone
) -> None:
    copy = clone(reinitialised, "copy")
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)

    result = run(cli, "replay", restore_id, "--target", copy.url, "--ledger", ledger, "--reason", "staging")

    assert result.exit_code == 0, result.output
    assert copy.data() == reinitialised.data()
    assert sequences_ahead(copy)
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", ledger, "--json").output)
    assert [replay["status"] for replay in entry["replays"].values()] == ["replayed"]


def test_replay_refuses_naming_mapped_rows_missing_in_the_other_target(
    source: Source, reinitialised: Target, target: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    before = target.data()

    result = run(cli, "replay", restore_id, "--target", target.url, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert "are missing from 'accounts_role' with the same pk and UUID" in result.output
    assert f"replay of restore {restore_id} refused" in result.output and "failed at apply" not in result.output
    assert '(accounts.role "Administrator")' in result.output
    assert target.data() == before


def test_rebuild_after_two_restores_and_one_rollback_equals_the_original_target(
    source: Source,
    second_source: Path,
    reinitialised: Target,
    ledger: str,
    cli: CliRunner,
    clone: Clone,
) -> None:
    fresh = clone(reinitialised, "fresh")
    restore(cli, source.fixture(), reinitialised, ledger)
    second = restore(cli, second_source, reinitialised, ledger)
    assert run(cli, "rollback", second, "--ledger", ledger).exit_code == 0

    result = run(cli, "rebuild", "--target", fresh.url, "--ledger", ledger)

    assert result.exit_code == 0, result.output
    assert "1 restores" in result.output
    assert fresh.data() == reinitialised.data()
    assert sequences_ahead(fresh, reinitialised)


def test_status_shows_each_restore_and_what_is_pending(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    applied = restore(cli, source.fixture(), reinitialised, ledger)

    result = run(cli, "status", "--target", reinitialised.url, "--ledger", ledger, "--json")

    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert [(r["restore_id"], r["status"]) for r in state["restores"]] == [(applied, "applied")]
    assert state["pending"] == [] and state["busy"] is False
    assert 0 < state["position"] <= state["ledger_head"]


def spy_single_pass(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Record each (table, form) the rollback deletes and digests in one pass."""
    calls: list[tuple[str, str]] = []
    delete_digested = footprint.delete_digested

    def spied(conn: Any, mark: str, digested: Any, delete: bool = True) -> tuple[int, str]:
        calls.append((digested.table, digested.form))
        return delete_digested(conn, mark, digested, delete)

    monkeypatch.setattr(footprint, "delete_digested", spied)
    return calls


def digest_forms(ledger: str, restore_id: str) -> set[str]:
    run = Ledger(ledger)
    found = [run.mapper.to_domain_event(e) for e in run.recorder.select_events(UUID(restore_id))]
    run.close()
    return {e.form for e in found if isinstance(e, RestoreRun.RowsDigested)}


def test_an_apply_on_sqlite_digests_the_rows_as_written_and_on_postgresql_reads_them_back(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_back = []
    monkeypatch.setattr(footprint, "digest", lambda *args: read_back.append(args[2]) or digest(*args))

    restore_id = restore(cli, source.fixture(), reinitialised, ledger)

    if reinitialised.dialect == "sqlite":
        assert digest_forms(ledger, restore_id) == {"written"} and read_back == []
    else:
        assert digest_forms(ledger, restore_id) == {"read"} and "documents_document" in read_back


def test_a_row_changed_in_a_deferred_reference_is_named_and_the_deletes_of_the_single_pass_undone(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    [(pk,)] = reinitialised.query(
        "SELECT MAX(id) FROM documents_document WHERE current_version_id IS NOT NULL"
    )  # set after the insert, by a deferred reference
    reinitialised.execute(f"UPDATE documents_document SET current_version_id = NULL WHERE id = {pk}")
    before = reinitialised.data()
    single_pass = spy_single_pass(monkeypatch)
    row_by_row = spy_row_by_row(monkeypatch)

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert f"documents_document pk {pk} column current_version_id" in result.output
    assert ("documents_document", "written" if reinitialised.dialect == "sqlite" else "read") in single_pass
    assert row_by_row == [UUID(restore_id)]
    assert reinitialised.data() == before  # what the single pass deleted is back


def test_a_restore_digested_by_reading_back_as_before_version_2_rolls_back_in_one_pass(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = reinitialised.data()
    with monkeypatch.context() as older_version:  # every table read back, as every apply did before
        older_version.setattr(projection_digest, "hash_written", lambda hashed, event, rows: None)
        restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    assert digest_forms(ledger, restore_id) == {"read"}
    single_pass = spy_single_pass(monkeypatch)
    row_by_row = spy_row_by_row(monkeypatch)

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 0, result.output
    assert reinitialised.data() == before
    assert row_by_row == [] and {form for _, form in single_pass} == {"read"}


def test_a_row_the_restore_updated_and_changed_since_is_named_by_the_rollback(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger, "--on-conflict", "update")
    opened = Ledger(ledger)
    stored = opened.recorder.select_events(UUID(restore_id))
    [updated, *_] = [
        e for e in map(opened.mapper.to_domain_event, stored) if isinstance(e, RestoreRun.RowsUpdated) and e.updates
    ]
    opened.close()
    first = updated.updates[0]
    column = next(c for c in sorted(first["after"]) if updated.kinds[c] == "text")
    reinitialised.execute(
        f"UPDATE {updated.table} SET {column} = 'changed since' WHERE {updated.pk_column} = {first['pk']}"
    )
    before = reinitialised.data()

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert f"{updated.table} pk {first['pk']} (updated by the restore)" in result.output
    assert reinitialised.data() == before
