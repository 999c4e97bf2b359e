"""The example EDMS backup, written by the real dumpdata, restored into an empty migrated target."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from application.ledger import Ledger
from infrastructure.projection import Projection
from infrastructure.target import connect, identity
from tests.conftest import run
from tests.edms import Source, digest, foreign_key_problems, gzip_file, tar_package, zip_fixture, zip_package


def restore(cli: CliRunner, backup: Path, target: Path, ledger: Path, *extra: str) -> str:
    result = run(
        cli,
        "restore",
        backup,
        "--target",
        f"sqlite:///{target}",
        "--ledger",
        ledger,
        "--quiet",
        "--actor",
        "qa-admin",
        "--reason",
        "restore after re-initialisation",
        *extra,
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_natural_key_backup_restores_every_row_as_in_the_source(
    source: Source, target: Path, ledger: Path, cli: CliRunner
) -> None:
    output = restore(cli, source.fixture(), target, ledger)

    assert "compared" in source.compare(target)
    assert foreign_key_problems(target) == []
    assert "documents.document: current_version, parent written empty first" in output


BACKUPS: dict[str, Callable[[Source, Path], Path]] = {
    "plain pks": lambda s, _t: s.fixture("plain.json", "--plain-pks"),
    "json.gz": lambda s, t: gzip_file(s.fixture(), t / "natural.json.gz"),
    "jsonl": lambda s, _t: s.fixture("natural.jsonl", "--format", "jsonl"),
    "zip": lambda s, t: zip_fixture(s.fixture(), t / "natural.zip"),
    "package directory": lambda s, _t: s.package(),
    "package zip": lambda s, t: zip_package(s.package(), t / "package.zip"),
    "package tar.gz": lambda s, t: tar_package(s.package(), t / "package.tar.gz"),
}


@pytest.mark.parametrize("kind", BACKUPS)
def test_every_backup_form_gives_the_same_result(
    kind: str, source: Source, target: Path, ledger: Path, tmp_path: Path, cli: CliRunner
) -> None:
    backup = BACKUPS[kind](source, tmp_path)
    media = tmp_path / "media"

    restore(cli, backup, target, ledger, "--media-root", media)

    source.compare(target)
    assert foreign_key_problems(target) == []
    if kind.startswith("package"):
        restored = sorted(p.relative_to(media) for p in media.rglob("*") if p.is_file())
        original = sorted(p.relative_to(source.media) for p in source.media.rglob("*") if p.is_file())
        assert restored == original and restored
        assert all(digest(media / p) == digest(source.media / p) for p in restored)


def test_ledger_show_names_actor_reason_backup_digest_and_counts(
    source: Source, target: Path, ledger: Path, cli: CliRunner
) -> None:
    backup = source.fixture()
    restore(cli, backup, target, ledger)
    listed = run(cli, "ledger", "list", "--ledger", ledger, "--json")
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.output)

    shown = run(cli, "ledger", "show", entry["restore_id"], "--ledger", ledger)

    assert shown.exit_code == 0, shown.output
    assert "applied" in shown.output
    assert "qa-admin" in shown.output and "restore after re-initialisation" in shown.output
    assert digest(backup) in shown.output
    assert "documents.document" in shown.output and " 60" in shown.output
    assert entry["counts"]["documents.documentversion"] == sum(
        1 for r in json.loads(backup.read_text()) if r["model"] == "documents.documentversion"
    )


def test_running_the_projection_again_changes_nothing(
    source: Source, target: Path, ledger: Path, cli: CliRunner
) -> None:
    restore(cli, source.fixture(), target, ledger)
    before = digest(target)
    engine = connect(f"sqlite:///{target}")
    target_id = identity(engine)
    assert target_id is not None

    applied = Projection(engine, Ledger(str(ledger)), target_id).run()

    assert applied == []
    assert digest(target) == before


def test_dry_run_writes_nothing_anywhere(source: Source, target: Path, ledger: Path, cli: CliRunner) -> None:
    before = digest(target)

    result = run(cli, "restore", source.fixture(), "--target", target, "--ledger", ledger, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "dry run, nothing written" in result.output
    assert digest(target) == before
    assert not ledger.exists()


def test_a_second_restore_of_the_same_backup_is_refused_and_changes_nothing(
    source: Source, target: Path, ledger: Path, cli: CliRunner
) -> None:
    restore(cli, source.fixture(), target, ledger)
    before = digest(target)

    result = run(cli, "restore", source.fixture(), "--target", target, "--ledger", ledger, "--quiet")

    assert result.exit_code == 1, result.output
    assert "exists in the target already" in result.output
    assert digest(target) == before
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT COUNT(*) FROM documents_document").fetchone() == (60,)
