"""Restores into a re-initialised example EDMS: the seed ran again, so roles, document and
workflow types and ``admin`` exist with new UUIDs and other pks than in the backup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import run
from tests.edms import EDMS, Source
from tests.targets import Target

PROFILE = EDMS / "profile.toml"
SEEDED = {"accounts_role": "name", "documents_documenttype": "code", "workflows_workflowtype": "code"}
BUSINESS_ONLY = [
    "--exclude", "accounts.role",
    "--exclude", "documents.documenttype",
    "--exclude", "workflows.workflowtype",
    "--skip", "accounts.user=admin",
]  # fmt: skip


def restore(cli: CliRunner, backup: Path, target: Target, ledger: str, *extra: object) -> str:
    result = run(
        cli, "restore", backup, "--target", target.url, "--ledger", ledger, "--profile", PROFILE, "--quiet", *extra
    )
    assert result.exit_code == 0, result.output
    return result.output.split()[1]


def decisions(cli: CliRunner, ledger: str, restore_id: str, *filters: str) -> list[dict[str, Any]]:
    result = run(cli, "ledger", "show", restore_id, "--ledger", ledger, "--decisions", "--json", *filters)
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.output)
    return found


def seeded(target: Target, only: dict[str, list[tuple[Any, ...]]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """The seeded rows, whole: they must keep their UUIDs, pks and values (``only``: the rows of then)."""
    tables = {table: target.query(f'SELECT * FROM "{table}" ORDER BY id') for table in SEEDED}
    tables["accounts_user"] = target.query("SELECT * FROM accounts_user WHERE username = 'admin'")
    if only is not None:
        tables = {t: [row for row in rows if row[0] in {r[0] for r in only[t]}] for t, rows in tables.items()}
    return tables


def test_backup_into_reinitialised_target_maps_seeded_rows_and_restores_every_business_row(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    before = seeded(reinitialised)
    role_ids = {name: pk for pk, name in reinitialised.query("SELECT id, name FROM accounts_role")}

    restore(cli, source.fixture(), reinitialised, ledger)

    assert seeded(reinitialised, before) == before
    for table, key in SEEDED.items():
        assert reinitialised.query(f'SELECT {key} FROM "{table}" GROUP BY {key} HAVING COUNT(*) > 1') == []
    user_roles = reinitialised.query(
        "SELECT r.name, r.id FROM accounts_userrole ur JOIN accounts_role r ON r.id = ur.role_id"
    )
    assert user_roles and all(role_ids.get(name, pk) == pk for name, pk in user_roles)
    assert "0 differences" in source.compare(reinitialised.django, *BUSINESS_ONLY)
    assert reinitialised.foreign_key_problems() == []


def test_the_ledger_lists_exactly_the_decisions_computed_from_the_two_databases(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    target_roles = {
        name: (uuid, pk) for pk, uuid, name in reinitialised.query("SELECT id, uuid, name FROM accounts_role")
    }
    source_roles = {name: uuid.replace("-", "") for name, uuid in source.query("SELECT name, uuid FROM accounts_role")}
    expected_mappings = {
        (name, source_roles[name], *target_roles[name]) for name in source_roles.keys() & target_roles.keys()
    }
    target_users = {u for (u,) in reinitialised.query("SELECT username FROM accounts_user")}
    source_users = {u for (u,) in source.query("SELECT username FROM accounts_user")}

    restore_id = restore(cli, source.fixture(), reinitialised, sqlite_ledger)

    mapped = decisions(cli, sqlite_ledger, restore_id, "--kind", "mapped", "--model", "accounts.role")
    found = {
        (d["details"]["key"][0], d["details"]["backup_uuid"].replace("-", ""), d["details"]["uuid"].replace("-", ""),
         d["details"]["pk"]) for d in mapped
    }  # fmt: skip
    assert found == expected_mappings and len(found) == 5
    conflicts = decisions(cli, sqlite_ledger, restore_id, "--kind", "conflict")
    assert {d["details"]["key"][0] for d in conflicts} == source_users & target_users == {"admin"}
    assert "email" in conflicts[0]["details"]["differing"]
    assert decisions(cli, sqlite_ledger, restore_id, "--kind", "created") == []
    assert decisions(cli, sqlite_ledger, restore_id, "--kind", "uuid") == []
    assert decisions(cli, sqlite_ledger, restore_id, "--kind", "pk") == []
    [*evidence] = decisions(cli, sqlite_ledger, restore_id, "--kind", "reinitialised")
    assert {d["model"] for d in evidence} == {"accounts.role", "documents.documenttype", "workflows.workflowtype"}


def test_pk_only_backup_never_overwrites_a_seeded_row(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    before = seeded(reinitialised)
    target_pks = {pk for (pk,) in reinitialised.query("SELECT id FROM accounts_role")}
    target_names = {name for (name,) in reinitialised.query("SELECT name FROM accounts_role")}
    expected = {
        (name, pk) for pk, name in source.query("SELECT id, name FROM accounts_role")
        if name not in target_names and pk in target_pks
    }  # fmt: skip

    restore_id = restore(cli, source.fixture("plain.json", "--plain-pks"), reinitialised, sqlite_ledger)

    assert seeded(reinitialised, before) == before
    assert "0 differences" in source.compare(reinitialised.django, *BUSINESS_ONLY)
    moved = decisions(cli, sqlite_ledger, restore_id, "--kind", "pk", "--model", "accounts.role")
    assert {(d["text"].split('"')[1], d["details"]["old"]) for d in moved} == expected and expected
    assert all(d["details"]["new"] not in target_pks for d in moved)


def test_a_seeded_row_keeps_a_uuid_the_backup_gives_to_another_row(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    [(qa_uuid,)] = source.query("SELECT uuid FROM accounts_role WHERE name = 'QA Lead'")
    stored = f"'{qa_uuid}'" if reinitialised.dialect == "sqlite" else f"'{qa_uuid}'::uuid"
    reinitialised.execute(f"UPDATE accounts_role SET uuid = {stored} WHERE name = 'Reader'")

    restore_id = restore(cli, source.fixture(), reinitialised, sqlite_ledger)

    assert reinitialised.query("SELECT uuid FROM accounts_role WHERE name = 'Reader'") == [(qa_uuid.replace("-", ""),)]
    [(new_uuid,)] = reinitialised.query("SELECT uuid FROM accounts_role WHERE name = 'QA Lead'")
    assert new_uuid != qa_uuid.replace("-", "")
    [decision] = decisions(cli, sqlite_ledger, restore_id, "--kind", "uuid")
    assert decision["details"]["old"].replace("-", "") == qa_uuid.replace("-", "")
    assert decision["details"]["new"].replace("-", "") == new_uuid
    assert "used by another row of the target" in decision["text"]
    qa_members = (
        "SELECT COUNT(*) FROM accounts_userrole ur JOIN accounts_role r ON r.id = ur.role_id WHERE r.name = 'QA Lead'"
    )
    assert reinitialised.query(qa_members) == [tuple(source.query(qa_members)[0])]


def without_users(source: Source, tmp_path: Path, *usernames: str) -> Path:
    data = json.loads(source.fixture().read_text())
    kept = [r for r in data if not (r["model"] == "accounts.user" and r["fields"]["username"] in usernames)]
    path = tmp_path / "without-users.json"
    path.write_text(json.dumps(kept))
    return path


def test_missing_referenced_users_are_created_inactive_and_named_in_the_ledger(
    source: Source, reinitialised: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    backup = without_users(source, tmp_path, "user00001", "user00002")

    restore_id = restore(cli, backup, reinitialised, sqlite_ledger)

    created = reinitialised.query(
        "SELECT username, is_active, is_staff, is_superuser, password FROM accounts_user "
        "WHERE username IN ('user00001', 'user00002') ORDER BY username"
    )
    assert [row[:4] for row in created] == [("user00001", 0, 0, 0), ("user00002", 0, 0, 0)]
    assert all(row[4].startswith("!") and len(row[4]) > 20 for row in created)
    made = decisions(cli, sqlite_ledger, restore_id, "--kind", "created")
    assert sorted(d["details"]["key"][0] for d in made) == ["user00001", "user00002"]
    owned = (
        "SELECT COUNT(*) FROM documents_document d JOIN accounts_user u ON u.id = d.owner_id "
        "WHERE u.username = 'user00001'"
    )
    referrers = sum(1 for d in made for _ in d["details"]["referenced_by"] if d["details"]["key"] == ["user00001"])
    assert reinitialised.query(owned) == [tuple(source.query(owned)[0])]
    assert referrers >= source.query(owned)[0][0]


def test_missing_users_fail_refuses_and_lists_them(
    source: Source, reinitialised: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    backup = without_users(source, tmp_path, "user00001", "user00002")
    before = reinitialised.snapshot()

    result = run(
        cli, "restore", backup, "--target", reinitialised.url, "--ledger", sqlite_ledger,
        "--profile", PROFILE, "--missing-users", "fail",
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "2 referenced rows are missing" in result.output
    assert "('user00001',)" in result.output and "('user00002',)" in result.output
    assert reinitialised.snapshot() == before


def test_on_conflict_update_takes_the_backups_values_and_keeps_the_before_image(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, sqlite_ledger, "--on-conflict", "update")

    [(email,)] = reinitialised.query("SELECT email FROM accounts_user WHERE username = 'admin'")
    assert email == "qa.admin@edms.example"
    [update] = decisions(cli, sqlite_ledger, restore_id, "--kind", "updated")
    assert update["details"]["before"]["email"] == "admin@edms.example"
    assert update["details"]["after"]["email"] == "qa.admin@edms.example"
    assert "uuid" not in update["details"]["after"]


@pytest.fixture
def planned(source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner) -> str:
    before = reinitialised.snapshot()
    result = run(
        cli, "plan", source.fixture(), "--target", reinitialised.url, "--ledger", sqlite_ledger,
        "--profile", PROFILE, "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "planned (not applied)" in result.output
    assert reinitialised.snapshot() == before
    return result.output.split()[1]


def test_plan_writes_nothing_and_apply_after_an_unrelated_change_succeeds(
    planned: str, source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    reinitialised.execute("UPDATE accounts_user SET last_name = 'Changed' WHERE username = 'admin'")

    result = run(cli, "apply", planned, "--target", reinitialised.url, "--ledger", sqlite_ledger)

    assert result.exit_code == 0, result.output
    assert "0 differences" in source.compare(reinitialised.django, *BUSINESS_ONLY)


def test_apply_refuses_when_a_mapped_row_is_gone(
    planned: str, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    reinitialised.execute("DELETE FROM accounts_role WHERE name = 'Author'")
    before = reinitialised.snapshot()

    result = run(cli, "apply", planned, "--target", reinitialised.url, "--ledger", sqlite_ledger)

    assert result.exit_code == 1, result.output
    assert "missing from 'accounts_role' since planning: record" in result.output
    assert '(accounts.role "Author")' in result.output
    assert reinitialised.snapshot() == before


def test_apply_refuses_when_an_allocated_pk_is_taken(
    planned: str, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    [(next_pk,)] = reinitialised.query("SELECT COALESCE(MAX(id), 0) + 1 FROM documents_tag")
    reinitialised.execute(f"INSERT INTO documents_tag (id, name) VALUES ({next_pk}, 'added-after-planning')")
    before = reinitialised.snapshot()

    result = run(cli, "apply", planned, "--target", reinitialised.url, "--ledger", sqlite_ledger)

    assert result.exit_code == 1, result.output
    assert f"documents.tag: id {next_pk} in 'documents_tag' is taken since planning" in result.output
    assert reinitialised.snapshot() == before
