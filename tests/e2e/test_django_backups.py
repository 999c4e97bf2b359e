"""Real dumps of the example EDMS, as Django's documentation recommends making them and as
administrators do, restored with no profile file: references of every kind still point at
the right rows, and every assumption is a decision in the ledger."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.conftest import run
from tests.e2e.test_reinitialised import BUSINESS_ONLY, PROFILE, decisions
from tests.edms import Source, zip_fixture
from tests.targets import Target

RECOMMENDED = ("--exclude", "contenttypes", "--exclude", "auth.permission")
# an audit entry is about the document its object_repr names: by object_uuid and by content type + object id
AUDIT_BY_UUID = (
    "SELECT COUNT(*) FROM audit_auditentry a JOIN documents_document d ON d.uuid = a.object_uuid "
    "WHERE d.number = a.object_repr"
)
AUDIT_BY_ID = (
    "SELECT COUNT(*) FROM audit_auditentry a JOIN django_content_type ct ON ct.id = a.content_type_id "
    "JOIN documents_document d ON CAST(d.id AS varchar(64)) = a.object_id "
    "WHERE ct.app_label = 'documents' AND ct.model = 'document' AND d.number = a.object_repr"
)


def restore(cli: CliRunner, backup: Path, target: Target, ledger: str, *extra: object) -> str:
    result = run(cli, "restore", backup, "--target", target.url, "--ledger", ledger, "--quiet", *extra)
    assert result.exit_code == 0, result.output
    return result.output.split()[1]


def audit_entries(target: Target) -> int:
    return target.count("audit_auditentry")


def test_djangos_recommended_dump_restores_with_no_profile_into_a_reinitialised_target(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    backup = source.fixture("recommended.json", *RECOMMENDED)
    assert not {r["model"] for r in json.loads(backup.read_text())} & {"contenttypes.contenttype", "auth.permission"}

    restore(cli, backup, reinitialised, sqlite_ledger)

    assert "0 differences" in source.compare(reinitialised.django, *BUSINESS_ONLY)
    assert reinitialised.foreign_key_problems() == []
    permissions = (
        "SELECT p.codename FROM auth_group_permissions gp JOIN auth_permission p ON p.id = gp.permission_id ORDER BY 1"
    )
    assert reinitialised.query(permissions) == [tuple(str(v) for v in row) for row in source.query(permissions)]
    assert reinitialised.query(AUDIT_BY_UUID) == [(audit_entries(reinitialised),)]


def test_workflow_instances_are_known_by_their_uuid_natural_key_with_no_profile(
    source: Source, target: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    records = json.loads(source.fixture().read_text())
    instances = [r for r in records if r["model"] == "workflows.workflowinstance"]
    transitions = [r for r in records if r["model"] == "workflows.workflowtransition"]
    assert instances and all("pk" not in r for r in instances)
    assert transitions and all(isinstance(r["fields"]["instance"], list) for r in transitions)

    shown = run(cli, "profile", "show", "--target", target.url)
    assert tomllib.loads(shown.output)["models"]["workflows.workflowinstance"]["natural_key"] == ["uuid"]
    restore(cli, source.fixture(), target, sqlite_ledger)

    assert "0 differences" in source.compare(target.django)


def test_a_partial_backup_creates_the_missing_users_and_is_applied(
    source: Source, reinitialised: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    entries = [r for r in json.loads(source.fixture().read_text()) if r["model"] == "audit.auditentry"]
    partial = [r for r in entries if r["fields"]["actor"]][:3]
    backup = tmp_path / "partial.json"
    backup.write_text(json.dumps(partial))

    restore_id = restore(cli, backup, reinitialised, sqlite_ledger)

    listed = run(cli, "ledger", "list", "--ledger", sqlite_ledger)
    assert f"{restore_id}" in listed.output and "applied" in listed.output
    made = decisions(cli, sqlite_ledger, restore_id, "--kind", "created")
    assert sorted(tuple(d["details"]["key"]) for d in made) == sorted({tuple(r["fields"]["actor"]) for r in partial})
    assert audit_entries(reinitialised) == 3


def test_soft_uuid_references_keep_shared_values_and_follow_reassigned_uuids(
    source: Source, target: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    shared = source.query("SELECT COUNT(*) FROM audit_auditentry GROUP BY object_uuid HAVING COUNT(*) > 1")
    assert shared, "the example must have audit entries sharing one object_uuid"

    restore_id = restore(cli, source.fixture(), target, sqlite_ledger, "--uuids", "regenerate")

    documents = dict(source.query("SELECT number, uuid FROM documents_document"))
    restored = dict(target.query("SELECT number, uuid FROM documents_document"))
    assert all(restored[number] != documents[number].replace("-", "") for number in documents)
    assert target.query(AUDIT_BY_UUID) == [(audit_entries(target),)]
    followed = decisions(cli, sqlite_ledger, restore_id, "--kind", "soft reference")
    assert len(followed) == audit_entries(target)
    assert {d["details"]["field"] for d in followed} == {"object_uuid"}
    assert {d["details"]["model"] for d in followed} == {"documents.document"}


def test_soft_uuid_references_are_kept_when_nothing_is_reassigned(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, sqlite_ledger)

    by_entry = source.query("SELECT uuid, object_uuid FROM audit_auditentry")
    assert sorted(reinitialised.query("SELECT uuid, object_uuid FROM audit_auditentry")) == sorted(
        (u.replace("-", ""), o.replace("-", "")) for u, o in by_entry
    )
    assert decisions(cli, sqlite_ledger, restore_id, "--kind", "soft reference") == []
    assert decisions(cli, sqlite_ledger, restore_id, "--kind", "uuid") == []


def test_generic_foreign_keys_follow_documents_that_get_other_pks(
    source: Source, second_source: Path, target: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    restore(cli, second_source, target, sqlite_ledger)  # documents 1..12 are taken now
    before = audit_entries(target)

    restore_id = restore(cli, source.fixture("plain.json", "--plain-pks"), target, sqlite_ledger)

    assert target.query(AUDIT_BY_ID) == [(audit_entries(target),)]
    assert audit_entries(target) == before + source.query("SELECT COUNT(*) FROM audit_auditentry")[0][0]
    followed = decisions(cli, sqlite_ledger, restore_id, "--kind", "generic reference")
    assert followed and {d["details"]["model"] for d in followed} == {"documents.document"}
    assert all(d["details"]["old"] != d["details"]["new"] for d in followed)


def without(source: Source, tmp_path: Path, name: str, *models: str, plain: bool = True) -> Path:
    backup = source.fixture("plain.json", "--plain-pks") if plain else source.fixture()
    records = [r for r in json.loads(backup.read_text()) if r["model"] not in models]
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def test_pk_only_references_to_rows_not_in_the_backup_are_bound_and_recorded(
    source: Source, reinitialised: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    backup = without(source, tmp_path, "no-types.json", "documents.documenttype")
    target_types = {int(pk): code for pk, code in reinitialised.query("SELECT id, code FROM documents_documenttype")}
    used = {int(pk) for (pk,) in source.query("SELECT DISTINCT document_type_id FROM documents_document")}

    restore_id = restore(cli, backup, reinitialised, sqlite_ledger)  # no profile: nothing is known seeded

    bound = decisions(cli, sqlite_ledger, restore_id, "--kind", "bound", "--model", "documents.documenttype")
    assert {(d["details"]["pk"], d["details"]["key"][0]) for d in bound} == {(pk, target_types[pk]) for pk in used}
    assert all(d["details"]["referenced_by"] and d["details"]["references"] >= 1 for d in bound)
    assert "bound by pk to the target's row ('" in bound[0]["text"]
    bound_to = "SELECT d.number, d.document_type_id FROM documents_document d ORDER BY 1"
    assert reinitialised.query(bound_to) == [(n, int(t)) for n, t in source.query(bound_to)]  # as loaddata binds


def test_pk_only_references_to_seeded_rows_of_a_reinitialised_target_are_refused_unless_trusted(
    source: Source, reinitialised: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    backup = without(source, tmp_path, "no-types.json", "documents.documenttype")
    before = reinitialised.snapshot()

    refused = run(cli, "restore", backup, "--target", reinitialised.url, "--ledger", sqlite_ledger,
                  "--profile", PROFILE, "--quiet")  # fmt: skip

    assert refused.exit_code == 1, refused.output
    assert "the target was re-initialised" in refused.output and "--trust-pks" in refused.output
    assert "documents.documenttype pk=" in refused.output and "(now ('" in refused.output
    assert reinitialised.snapshot() == before

    restore_id = restore(cli, backup, reinitialised, sqlite_ledger, "--profile", PROFILE, "--trust-pks")
    assert decisions(cli, sqlite_ledger, restore_id, "--kind", "bound", "--model", "documents.documenttype")


def test_the_same_data_twice_changes_nothing_and_says_so(
    source: Source, target: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    restore(cli, source.fixture(), target, sqlite_ledger)
    before = target.data()

    again = run(cli, "restore", zip_fixture(source.fixture(), tmp_path / "natural.zip"), "--target", target.url,
                "--ledger", sqlite_ledger, "--quiet")  # fmt: skip

    assert again.exit_code == 0, again.output
    assert "every record of the backup is in the target already" in again.output
    assert target.data() == before
    restore_id = again.output.split()[1]
    unchanged = decisions(cli, sqlite_ledger, restore_id, "--kind", "unchanged")
    mapped = decisions(cli, sqlite_ledger, restore_id, "--kind", "mapped")  # content types and permissions
    assert {d["model"] for d in mapped} == {"contenttypes.contenttype", "auth.permission"}
    assert len(unchanged) + len(mapped) == len(json.loads(source.fixture().read_text()))


def test_the_same_pk_only_data_twice_changes_nothing(
    source: Source, target: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    plain = source.fixture("plain.json", "--plain-pks")
    restore(cli, plain, target, sqlite_ledger)
    before = target.data()

    again = run(cli, "restore", zip_fixture(plain, tmp_path / "plain.zip"), "--target", target.url,
                "--ledger", sqlite_ledger, "--quiet")  # fmt: skip

    assert again.exit_code == 0, again.output
    assert target.data() == before


def details(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d["details"] for d in found]


def test_a_matched_group_gets_the_permissions_the_backup_gives_it(
    source: Source, reinitialised: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    backup = source.fixture("recommended.json", *RECOMMENDED)
    restore(cli, backup, reinitialised, sqlite_ledger)
    permissions = (
        "SELECT g.name, p.codename FROM auth_group_permissions gp JOIN auth_permission p ON p.id = gp.permission_id "
        "JOIN auth_group g ON g.id = gp.group_id ORDER BY 1, 2"
    )
    expected = reinitialised.query(permissions)
    reinitialised.execute(
        "DELETE FROM auth_group_permissions WHERE permission_id IN "
        "(SELECT id FROM auth_permission WHERE codename LIKE 'delete_%')"
    )
    removed = len(expected) - len(reinitialised.query(permissions))
    assert removed > 0

    restore_id = restore(cli, zip_fixture(backup, tmp_path / "again.zip"), reinitialised, sqlite_ledger)

    assert reinitialised.query(permissions) == expected
    added = decisions(cli, sqlite_ledger, restore_id, "--kind", "link")
    assert len(added) == removed
    assert all(d["model"] == "auth.group" and d["details"]["to"][0].startswith("delete_") for d in added)


def test_with_update_a_matched_group_loses_the_permissions_the_backup_does_not_give_it_until_rolled_back(
    source: Source, reinitialised: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    """``--on-conflict update`` leaves a matched row with the backup's links exactly, as loaddata's ``set()``
    does: each link removed is a decision, and a rollback writes it back with its id."""
    backup = source.fixture("recommended.json", *RECOMMENDED)
    restore(cli, backup, reinitialised, sqlite_ledger)
    links = "SELECT id, group_id, permission_id FROM auth_group_permissions ORDER BY 1"
    expected = reinitialised.query(links)
    [(group_id, group)] = reinitialised.query("SELECT id, name FROM auth_group ORDER BY id LIMIT 1")
    extra = reinitialised.query(
        f"SELECT id, codename FROM auth_permission WHERE id NOT IN (SELECT permission_id FROM auth_group_permissions "
        f"WHERE group_id = {group_id}) ORDER BY id LIMIT 2"
    )
    next_id = max(row[0] for row in expected) + 1
    for offset, (permission_id, _) in enumerate(extra):
        reinitialised.execute(
            f"INSERT INTO auth_group_permissions (id, group_id, permission_id) "
            f"VALUES ({next_id + offset}, {group_id}, {permission_id})"
        )
    before = reinitialised.query(links)

    again = zip_fixture(backup, tmp_path / "again.zip")
    restore_id = restore(cli, again, reinitialised, sqlite_ledger, "--on-conflict", "update")

    assert reinitialised.query(links) == expected
    removed = decisions(cli, sqlite_ledger, restore_id, "--kind", "link removed")
    assert sorted((d["model"], d["details"]["source"], d["details"]["target"]) for d in removed) == [
        ("auth.group", group_id, permission_id) for permission_id, _ in extra
    ]
    assert all(group in d["text"] and "link removed" in d["text"] for d in removed)

    rolled = run(cli, "rollback", restore_id, "--ledger", sqlite_ledger, "--reason", "the links were wanted")

    assert rolled.exit_code == 0, rolled.output
    assert reinitialised.query(links) == before
