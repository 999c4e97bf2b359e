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
