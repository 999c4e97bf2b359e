"""The example EDMS backup, written by the real dumpdata, restored into an empty migrated target,
with target and ledger each on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from application.ledger import Ledger
from infrastructure.projection import Projection
from infrastructure.target import connect, identity, locked
from tests.conftest import run
from tests.edms import Source, digest, gzip_file, tar_package, zip_fixture, zip_package
from tests.targets import Target


def restore(cli: CliRunner, backup: Path, target: Target, ledger: str, *extra: object) -> str:
    result = run(
        cli,
        "restore",
        backup,
        "--target",
        target.url,
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
    source: Source, target: Target, ledger: str, cli: CliRunner
) -> None:
    output = restore(cli, source.fixture(), target, ledger)

    assert "0 differences" in source.compare(target.django)
    assert target.foreign_key_problems() == []
    assert "written empty first" not in output  # the cycle's references are checked at the commit, on both


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
    kind: str, source: Source, target: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    backup = BACKUPS[kind](source, tmp_path)
    media = tmp_path / "media"

    restore(cli, backup, target, sqlite_ledger, "--media-root", media)

    assert "0 differences" in source.compare(target.django)
    assert target.foreign_key_problems() == []
    if kind.startswith("package"):
        restored = sorted(p.relative_to(media) for p in media.rglob("*") if p.is_file())
        original = sorted(p.relative_to(source.media) for p in source.media.rglob("*") if p.is_file())
        assert restored == original and restored
        assert all(digest(media / p) == digest(source.media / p) for p in restored)


def test_ledger_show_names_actor_reason_backup_digest_and_counts(
    source: Source, target: Target, ledger: str, cli: CliRunner
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
    source: Source, target: Target, ledger: str, cli: CliRunner
) -> None:
    restore(cli, source.fixture(), target, ledger)
    before = target.snapshot()
    engine = connect(target.url)
    target_id = identity(engine)
    assert target_id is not None

    with locked(engine) as conn:
        applied = Projection(conn, Ledger(ledger), target_id).run()
    engine.dispose()

    assert applied == []
    assert target.snapshot() == before


def test_dry_run_writes_nothing_anywhere(source: Source, target: Target, tmp_path: Path, cli: CliRunner) -> None:
    before = target.snapshot()
    ledger = tmp_path / "ledger.sqlite3"

    result = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", ledger, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "dry run, nothing written" in result.output
    assert target.snapshot() == before
    assert not ledger.exists()


def test_a_second_restore_of_the_same_backup_is_refused_and_changes_nothing(
    source: Source, target: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    restore(cli, source.fixture(), target, sqlite_ledger)
    before = target.snapshot()

    result = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", sqlite_ledger, "--quiet")

    assert result.exit_code == 1, result.output
    assert "was restored into this target already by restore" in result.output
    assert target.snapshot() == before
    assert target.count("documents_document") == 60


def test_the_ledger_may_not_live_in_the_target(source: Source, target: Target, cli: CliRunner) -> None:
    result = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", target.url)

    assert result.exit_code == 2, result.output
    assert "the ledger must not live in the target database" in result.output
