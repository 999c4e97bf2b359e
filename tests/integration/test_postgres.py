"""PostgreSQL specifics: sequences, a shared ledger, credentials, and a large restore."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from tests.conftest import run
from tests.edms import EDMS, Source, build_source, manage
from tests.targets import PG_SERVER, PostgresTarget

PROFILE = EDMS / "profile.toml"


def restored_tables(target: PostgresTarget) -> list[str]:
    return [
        table
        for (table,) in target.query(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id' "
            "AND is_identity = 'YES' ORDER BY 1"
        )
        if target.count(table)
    ]


def test_after_a_restore_every_table_takes_an_insert_without_pk(
    source: Source, pg_reinitialised_template: str, sqlite_ledger: str, cli: CliRunner
) -> None:
    """Sequences are PostgreSQL's (SQLite's AUTOINCREMENT follows MAX(rowid) by itself)."""
    reinitialised = PostgresTarget.create(pg_reinitialised_template)
    result = run(
        cli, "restore", source.fixture("plain.json", "--plain-pks"), "--target", reinitialised.url,
        "--ledger", sqlite_ledger, "--profile", PROFILE, "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    tables = restored_tables(reinitialised)
    assert "documents_document" in tables and "accounts_user_groups" in tables

    try:
        with psycopg.connect(reinitialised.url) as conn:
            for table in tables:
                [(maximum,)] = conn.execute(f'SELECT MAX(id) FROM "{table}"').fetchall()  # type: ignore[arg-type]
                [(next_id,)] = conn.execute(
                    f"SELECT nextval(pg_get_serial_sequence('\"{table}\"', 'id'))"  # type: ignore[arg-type]
                ).fetchall()
                assert next_id > maximum, table
    finally:
        reinitialised.drop()


def test_a_postgresql_ledger_shared_by_two_targets_lists_the_restores_of_both(
    source: Source, pg_template: str, tmp_path: Path, cli: CliRunner
) -> None:
    first, second = PostgresTarget.create(pg_template), PostgresTarget.create(pg_template)
    ledger = PostgresTarget.create(pg_template)
    ledger_url = f"{ledger.url}?schema=audit_ledger"
    try:
        for target in (first, second):
            result = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", ledger_url, "--quiet")
            assert result.exit_code == 0, result.output

        listed = json.loads(run(cli, "ledger", "list", "--ledger", ledger_url, "--json").output)
    finally:
        for database in (first, second, ledger):
            database.drop()

    assert [entry["target"]["url"] for entry in listed] == [first.url, second.url]
    assert len({entry["target"]["id"] for entry in listed}) == 2
    assert all(entry["status"] == "applied" for entry in listed)


def test_passwords_never_reach_the_ledger_or_messages(
    source: Source, pg_template: str, tmp_path: Path, cli: CliRunner
) -> None:
    target = PostgresTarget.create(pg_template)
    ledger = tmp_path / "ledger.sqlite3"
    with_password = target.url.replace("postgres@", "postgres:s3cret-Pa55@")
    try:
        restored = run(cli, "restore", source.fixture(), "--target", with_password, "--ledger", ledger, "--quiet")
        listed = run(cli, "ledger", "list", "--ledger", ledger, "--json")
        shown = run(cli, "ledger", "show", json.loads(listed.output)[0]["restore_id"], "--ledger", ledger, "--json")
        unreachable = run(
            cli, "restore", source.fixture(), "--target", "postgresql://postgres:s3cret-Pa55@127.0.0.1:1/none",
            "--ledger", ledger,
        )  # fmt: skip
    finally:
        target.drop()

    assert restored.exit_code == 0, restored.output
    assert unreachable.exit_code == 1 and "cannot be opened" in unreachable.output
    for output in (
        restored.output,
        listed.output,
        shown.output,
        unreachable.output,
        ledger.read_bytes().decode("latin-1"),
    ):
        assert "s3cret-Pa55" not in output
    assert "postgres:***@" in listed.output


@pytest.fixture(scope="module")
def large_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real dumpdata backup of about 50,000 objects from the example project."""
    source = build_source(tmp_path_factory.mktemp("large"), documents=7000)
    backup = source.work / "large.json"
    manage("make_backup", str(backup), db=source.db, media=source.media)
    return backup


def test_a_restore_of_50000_rows_completes_with_target_and_ledger_on_postgresql(
    large_source: Path, pg_template: str, cli: CliRunner
) -> None:
    target, ledger = PostgresTarget.create(pg_template), PostgresTarget.create(pg_template)
    try:
        result = run(cli, "restore", large_source, "--target", target.url, "--ledger", ledger.url, "--quiet")
        documents = target.count("documents_document")
        listed = json.loads(run(cli, "ledger", "list", "--ledger", ledger.url, "--json").output)
    finally:
        target.drop()
        ledger.drop()

    assert result.exit_code == 0, result.output
    rows = int(result.output.split("rows written: ")[1].split()[0])
    assert rows >= 50_000
    assert documents == 7000
    assert listed[0]["status"] == "applied"


def test_pg_server_is_the_local_one() -> None:
    assert PG_SERVER.startswith("postgresql://")
