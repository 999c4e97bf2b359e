"""Rebuild: every restore of a target that is applied now, roll-forwards included, into a fresh
database with its own id and media root, all or nothing, recorded in the ledger."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import run
from tests.edms import Source
from tests.restores import Clone, media_files, restore, sequences_ahead
from tests.targets import Target, sqlite_target


def test_rebuild_of_a_restore_rolled_back_and_forward_and_a_second_restore_equals_the_original(
    source: Source,
    second_source: Path,
    reinitialised: Target,
    ledger: str,
    tmp_path: Path,
    cli: CliRunner,
    clone: Clone,
) -> None:
    fresh = clone(reinitialised, "fresh")
    media = tmp_path / "media"
    first = restore(cli, source.package(), reinitialised, ledger, "--media-root", media)
    assert run(cli, "rollback", first, "--ledger", ledger).exit_code == 0
    assert run(cli, "apply", first, "--ledger", ledger, "--reason", "roll forward").exit_code == 0
    second = restore(cli, second_source, reinitialised, ledger)
    backups = tmp_path / "backups"
    backups.mkdir()
    shutil.copytree(source.package(), backups / "renamed-package")
    rebuilt_media = tmp_path / "rebuilt-media"

    result = run(cli, "rebuild", "--target", fresh.url, "--ledger", ledger, "--media-root", rebuilt_media,
                 "--backup-dir", backups, "--actor", "qa", "--reason", "DR drill")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "2 restores" in result.output
    assert fresh.data() == reinitialised.data()
    assert media_files(rebuilt_media) == media_files(media) != {}
    assert sequences_ahead(fresh, reinitialised)
    runs = {r["restore_id"]: r for r in json.loads(run(cli, "ledger", "list", "--ledger", ledger, "--json").output)}
    for restore_id in (first, second):
        [replay] = runs[restore_id]["replays"].values()
        assert replay["status"] == "replayed"
        assert runs[restore_id]["status"] == "applied"
    state = json.loads(run(cli, "status", "--target", fresh.url, "--ledger", ledger, "--json").output)
    assert state["warnings"] == [] and state["target_id"] not in (None, runs[first]["target"]["id"])
    assert [r["status"] for r in state["restores"]] == ["replay replayed", "replay replayed"]


def test_a_rebuild_that_must_refuse_leaves_the_new_target_and_media_root_as_they_were(
    source: Source,
    second_source: Path,
    reinitialised: Target,
    sqlite_ledger: str,
    tmp_path: Path,
    cli: CliRunner,
    clone: Clone,
) -> None:
    fresh = clone(reinitialised, "fresh")
    restore(cli, second_source, reinitialised, sqlite_ledger)
    restore(cli, source.package(), reinitialised, sqlite_ledger, "--media-root", tmp_path / "media")
    before = fresh.snapshot()
    empty = tmp_path / "no-backups"
    empty.mkdir()
    rebuilt_media = tmp_path / "rebuilt-media"

    result = run(cli, "rebuild", "--target", fresh.url, "--ledger", sqlite_ledger, "--media-root", rebuilt_media,
                 "--backup-dir", empty)  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "rebuild refused at restore" in result.output and "no backup with sha256" in result.output
    assert "Traceback" not in result.output
    assert fresh.snapshot() == before
    assert media_files(rebuilt_media) == {}
    runs = json.loads(run(cli, "ledger", "list", "--ledger", sqlite_ledger, "--json").output)
    assert [[r["status"] for r in run_["replays"].values()] for run_ in runs] == [["refused"], ["refused"]]

    into_original = run(cli, "rebuild", "--target", reinitialised.url, "--ledger", sqlite_ledger)
    assert into_original.exit_code == 1 and "a rebuild goes into a fresh database" in into_original.output


def test_a_rebuild_takes_media_from_the_media_store_when_the_backup_is_gone(
    source: Source, sqlite_ledger: str, tmp_path: Path, cli: CliRunner, clone: Clone
) -> None:
    reinitialised = sqlite_target(tmp_path / "reinitialised.sqlite3", reinitialised=True)  # the store is backend-free
    fresh = clone(reinitialised, "fresh")
    backup = tmp_path / "package"
    shutil.copytree(source.package(), backup)
    media = tmp_path / "media"
    restore(cli, backup, reinitialised, sqlite_ledger, "--media-root", media)
    store = tmp_path / "media-store"
    stored = run(cli, "store-media", backup, "--media-store", store)
    assert stored.exit_code == 0, stored.output
    shutil.rmtree(backup)
    gone = run(cli, "rebuild", "--target", fresh.url, "--ledger", sqlite_ledger, "--media-root", tmp_path / "m1")
    assert gone.exit_code == 1 and "is not there or was changed" in gone.output

    result = run(cli, "rebuild", "--target", fresh.url, "--ledger", sqlite_ledger, "--media-root", tmp_path / "m2",
                 "--media-store", store)  # fmt: skip

    assert result.exit_code == 0, result.output
    assert media_files(tmp_path / "m2") == media_files(media) != {}
    assert fresh.data() == reinitialised.data()
