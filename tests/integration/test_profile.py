"""The restore profile: inferred from the target, printed as TOML, overridden by a file."""

from __future__ import annotations

import tomllib
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import run
from tests.edms import Source
from tests.targets import Target


def test_profile_show_prints_the_inferred_profile_as_toml_that_restores_the_same(
    source: Source, target: Target, tmp_path: Path, cli: CliRunner
) -> None:
    shown = run(cli, "profile", "show", "--target", target.url)
    assert shown.exit_code == 0, shown.output
    profile = tomllib.loads(shown.output)["models"]

    assert profile["accounts.userrole"]["natural_key"] == ["user", "role"]
    assert profile["auth.permission"]["natural_key"] == ["codename", "content_type"]
    assert profile["documents.document"]["many_to_many"]["tags"]["table"] == "documents_document_tags"
    assert profile["documents.document"]["foreign_keys"]["current_version"]["nullable"] is True
    assert profile["accounts.user"]["missing"] == "create"
    file = tmp_path / "profile.toml"
    file.write_text(shown.output)
    restored = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", tmp_path / "l.sqlite3",
                   "--profile", file, "--quiet")  # fmt: skip
    assert restored.exit_code == 0, restored.output
    assert "0 differences" in source.compare(target.django)


def test_a_profile_file_overrides_what_is_inferred(
    source: Source, target: Target, tmp_path: Path, cli: CliRunner
) -> None:
    file = tmp_path / "profile.toml"
    file.write_text('[models."documents.tag"]\nnatural_key = ["name", "id"]\n')

    shown = run(cli, "profile", "show", "--target", target.url, "--profile", file)

    assert tomllib.loads(shown.output)["models"]["documents.tag"]["natural_key"] == ["name", "id"]


def test_a_broken_profile_file_is_named(target: Target, tmp_path: Path, cli: CliRunner) -> None:
    file = tmp_path / "profile.toml"
    file.write_text('[models."accounts.role"]\npolicy = "merge"\n')

    shown = run(cli, "profile", "show", "--target", target.url, "--profile", file)

    assert shown.exit_code == 1
    assert (
        "model 'accounts.role' is incomplete or wrong (policy must be one of restore, map, not 'merge')" in shown.output
    )


def test_profile_show_with_a_backup_says_what_was_inferred_and_why(
    source: Source, target: Target, cli: CliRunner
) -> None:
    shown = run(cli, "profile", "show", "--target", target.url, "--backup", source.fixture())

    assert shown.exit_code == 0, shown.output
    profile = tomllib.loads(shown.output)["models"]
    assert "documents.document" in profile and "auth.permission" in profile
    instance = shown.output.split('[models."workflows.workflowinstance"]')[1].split("\n[models.")[0]
    assert "# natural key ['uuid']: its unique UUID column" in instance
    assert "# backup: 44 records, 44 without pk" in instance.replace(
        str(source.query("SELECT COUNT(*) FROM workflows_workflowinstance")[0][0]), "44"
    )
    assert "as a UUID natural key" in instance
    audit = shown.output.split('[models."audit.auditentry"]')[1].split("\n[models.")[0]
    assert "# soft references ['object_uuid']: non-unique UUID columns" in audit
    assert "# generic foreign key content_object: content_type (content type) + object_id" in audit
    assert profile["audit.auditentry"]["uuid_fields"] == ["uuid"]
    assert profile["audit.auditentry"]["soft_uuids"] == ["object_uuid"]
