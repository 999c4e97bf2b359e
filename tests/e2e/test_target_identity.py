"""A copy of a target, a second ledger, a relative path: rollback, replay, apply and restore can
never hurt another target. Target identity is the database's, found after connecting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import run
from tests.edms import Source
from tests.restores import PROFILE, Clone, media_files, restore
from tests.targets import PostgresTarget, Target, sqlite_target

CLI = str(Path(sys.executable).parent / "restore-ledger")


def history(cli: CliRunner, ledger: str) -> list[tuple[str, str, list[str]]]:
    runs = json.loads(run(cli, "ledger", "list", "--ledger", ledger, "--json").output)
    return [(r["restore_id"], r["status"], [h["event"] for h in r["history"]]) for r in runs]


def test_a_copy_of_a_restored_target_is_refused_naming_the_original_until_it_is_adopted(
    source: Source,
    second_source: Path,
    reinitialised: Target,
    sqlite_ledger: str,
    tmp_path: Path,
    cli: CliRunner,
    clone: Clone,
) -> None:
    media = tmp_path / "media"
    restore_id = restore(cli, source.package(), reinitialised, sqlite_ledger, "--media-root", media)
    copy = clone(reinitialised, "copy")
    original, original_media, copied = reinitialised.data(), media_files(media), copy.data()
    recorded = history(cli, sqlite_ledger)
    [(original_id,)] = reinitialised.query("SELECT id FROM restore_ledger_target")

    attempts = [
        ("rollback", restore_id, "--target", copy.url),
        ("replay", restore_id, "--target", copy.url),
        ("apply", restore_id, "--target", copy.url),
        ("restore", second_source, "--target", copy.url, "--profile", PROFILE, "--quiet"),
    ]
    for attempt in attempts:
        result = run(cli, *attempt, "--ledger", sqlite_ledger)
        assert result.exit_code == 1, (attempt, result.output)
        assert "is a copy of target" in result.output, result.output
        assert reinitialised.url.split("///")[-1].split("/")[-1] in result.output
        assert "Traceback" not in result.output and "failed at apply" not in result.output

    assert reinitialised.data() == original and media_files(media) == original_media
    assert copy.data() == copied
    assert history(cli, sqlite_ledger) == recorded
    shown = json.loads(run(cli, "status", "--target", copy.url, "--ledger", sqlite_ledger, "--json").output)
    assert shown["pending"] == [] and "is a copy of target" in shown["warnings"][0]

    adopted = run(cli, "target", "adopt", "--target", copy.url, "--ledger", sqlite_ledger, "--reason", "staging")
    assert adopted.exit_code == 0, adopted.output
    assert "a copy of target" in adopted.output
    again = run(cli, "target", "adopt", "--target", reinitialised.url, "--ledger", sqlite_ledger, "--reason", "x")
    assert again.exit_code == 1 and "itself, not a copy" in again.output

    same_again = run(cli, "restore", source.package(), "--target", copy.url, "--ledger", sqlite_ledger,
                     "--profile", PROFILE, "--media-root", tmp_path / "copy-media", "--quiet")  # fmt: skip
    assert same_again.exit_code == 1 and "was restored into this target already" in same_again.output
    second = restore(cli, second_source, copy, sqlite_ledger, "--media-root", tmp_path / "copy-media")
    assert run(cli, "rollback", second, "--ledger", sqlite_ledger).exit_code == 0
    assert copy.data() == copied
    assert run(cli, "rollback", restore_id, "--target", copy.url, "--ledger", sqlite_ledger).exit_code == 1
    assert reinitialised.data() == original and media_files(media) == original_media
    assert history(cli, sqlite_ledger)[0] == recorded[0]
    state = json.loads(run(cli, "status", "--target", copy.url, "--ledger", sqlite_ledger, "--json").output)
    assert state["adopted_from"].replace("-", "") == original_id and state["warnings"] == []


def test_a_second_ledger_on_a_restored_target_is_refused_before_writing(
    source: Source,
    second_source: Path,
    reinitialised: Target,
    tmp_path: Path,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = tmp_path / "first"
    other = tmp_path / "other"
    first.mkdir()
    other.mkdir()
    monkeypatch.chdir(first)
    restore_id = restore(cli, source.fixture(), reinitialised, "restore-ledger.sqlite3")
    before = reinitialised.data()
    monkeypatch.chdir(other)  # the default ledger path now names another ledger

    for attempt in [
        ("restore", second_source, "--target", reinitialised.url, "--profile", PROFILE, "--quiet"),
        ("restore", source.fixture(), "--target", reinitialised.url, "--profile", PROFILE, "--quiet"),
        ("plan", second_source, "--target", reinitialised.url, "--profile", PROFILE, "--quiet"),
    ]:
        result = run(cli, *attempt)
        assert result.exit_code == 1, result.output
        assert "belongs to ledger" in result.output and str(first / "restore-ledger.sqlite3") in result.output
        assert str(other / "restore-ledger.sqlite3") in result.output

    assert not (other / "restore-ledger.sqlite3").exists()

    elsewhere = sqlite_target(tmp_path / "elsewhere.sqlite3", reinitialised=True)
    planned = run(cli, "plan", second_source, "--target", elsewhere.url, "--profile", PROFILE, "--quiet")
    assert planned.exit_code == 0, planned.output
    theirs = planned.output.split()[1]
    result = run(cli, "restore", second_source, "--target", reinitialised.url, "--profile", PROFILE, "--quiet")
    assert result.exit_code == 1 and "belongs to ledger" in result.output, result.output
    for attempt in [("apply", theirs), ("rollback", theirs), ("apply", restore_id)]:
        result = run(cli, *attempt, "--target", reinitialised.url)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output

    assert reinitialised.data() == before
    assert [status for _, status, _ in history(cli, "restore-ledger.sqlite3")] == ["planned"]
    monkeypatch.chdir(first)
    assert run(cli, "rollback", restore_id).exit_code == 0


def test_two_ledgers_restoring_into_one_target_at_once_never_both_apply(
    source: Source, reinitialised: Target, tmp_path: Path
) -> None:
    before = reinitialised.data()
    commands = [
        subprocess.Popen(
            [
                CLI,
                "restore",
                str(source.fixture()),
                "--target",
                reinitialised.url,
                "--ledger",
                str(tmp_path / f"ledger-{n}.sqlite3"),
                "--profile",
                str(PROFILE),
                "--quiet",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    outcomes = [(c.wait(timeout=300), c.communicate()) for c in commands]

    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 1], outcomes
    refused = next(err for code, (_, err) in outcomes if code == 1)
    assert "belongs to ledger" in refused and "Traceback" not in refused
    assert reinitialised.count("documents_document") == len(before["documents_document"]) + 60


def test_a_rollback_from_another_directory_removes_exactly_the_media_a_relative_media_root_received(
    source: Source,
    reinitialised: Target,
    sqlite_ledger: str,
    tmp_path: Path,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    (elsewhere / "media").mkdir(parents=True)
    (elsewhere / "media" / "keep.txt").write_text("not the restore's")
    (here / "media").mkdir()
    (here / "media" / "mine.txt").write_text("not the restore's either")
    monkeypatch.chdir(here)
    restore_id = restore(cli, source.package(), reinitialised, sqlite_ledger, "--media-root", "media")
    assert len(media_files(here / "media")) > 1
    monkeypatch.chdir(elsewhere)

    result = run(cli, "rollback", restore_id, "--ledger", sqlite_ledger)

    assert result.exit_code == 0, result.output
    assert media_files(here / "media") == {"mine.txt": media_files(here / "media")["mine.txt"]}
    assert list(media_files(elsewhere / "media")) == ["keep.txt"]
    shown = json.loads(run(cli, "ledger", "show", restore_id, "--ledger", sqlite_ledger, "--json").output)
    assert shown["options"]["media_root"] == str(here / "media")
    assert Path(shown["backup"]["path"]).is_absolute()


def test_a_refused_roll_forward_leaves_the_restore_rolled_back_and_a_later_one_succeeds(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    before = reinitialised.data()
    restore_id = restore(cli, source.fixture(), reinitialised, sqlite_ledger)
    after = reinitialised.data()
    [(tag,)] = reinitialised.query("SELECT MAX(id) FROM documents_tag")
    assert run(cli, "rollback", restore_id, "--ledger", sqlite_ledger).exit_code == 0
    reinitialised.execute(f"INSERT INTO documents_tag (id, name) VALUES ({tag}, 'added meanwhile')")

    refused = run(cli, "apply", restore_id, "--ledger", sqlite_ledger, "--reason", "roll forward")

    assert refused.exit_code == 1, refused.output
    assert "roll forward of restore" in refused.output and "stays rolled back" in refused.output
    assert "is taken since planning" in refused.output
    [(_, status, events)] = history(cli, sqlite_ledger)
    assert status == "rolled back" and events[-1] == "RollForwardRefused"
    reinitialised.execute(f"DELETE FROM documents_tag WHERE id = {tag}")
    assert reinitialised.data() == before

    again = run(cli, "apply", restore_id, "--ledger", sqlite_ledger, "--reason", "cause removed")

    assert again.exit_code == 0, again.output
    assert reinitialised.data() == after
    assert history(cli, sqlite_ledger)[0][1] == "applied"


def test_status_shows_a_failed_restore_with_its_reason_and_the_next_step(
    source: Source, target: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    broken = tmp_path / "broken.json"
    records = json.loads(source.fixture().read_text())
    records.append({"model": "nothere.model", "pk": 1, "fields": {"name": "x"}})
    broken.write_text(json.dumps(records))
    failed = run(cli, "restore", broken, "--target", target.url, "--ledger", sqlite_ledger, "--profile", PROFILE,
                 "--quiet")  # fmt: skip
    assert failed.exit_code == 1, failed.output
    restore_id = failed.output.split()[2]

    shown = run(cli, "status", "--target", target.url, "--ledger", sqlite_ledger, "--json")

    assert shown.exit_code == 0, shown.output
    [line] = json.loads(shown.output)["restores"]
    assert line["restore_id"] == restore_id and line["status"] == "failed"
    assert line["failure"]["reason"] and line["started_at"].endswith("+00:00")
    assert line["next"].startswith("fix the cause, then: restore-ledger restore ")
    text = run(cli, "status", "--target", target.url, "--ledger", sqlite_ledger).output
    assert "failed at" in text and "next: fix the cause" in text and "position" not in text


@pytest.mark.parametrize(
    "command",
    [("ledger", "list"), ("ledger", "show", "0b6f3c1e-0000-0000-0000-000000000000"), ("status", "--target", "T"),
     ("apply", "0b6f3c1e-0000-0000-0000-000000000000"), ("rollback", "0b6f3c1e-0000-0000-0000-000000000000")],
)  # fmt: skip
def test_a_mistyped_ledger_is_a_usage_error_and_creates_no_file(
    command: tuple[str, ...], tmp_path: Path, cli: CliRunner
) -> None:
    target = sqlite_target(tmp_path / "target.sqlite3")  # the ledger is the subject: one backend is enough
    typo = tmp_path / "legder.sqlite3"
    args = [target.url if a == "T" else a for a in command]

    result = run(cli, *args, "--ledger", typo)

    assert result.exit_code == 2, result.output
    assert str(typo) in result.output and "no ledger" in result.output
    assert not typo.exists()


def test_a_ledger_in_the_target_is_refused_whatever_the_url_says(
    source: Source, target: Target, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = target.snapshot()
    if isinstance(target, PostgresTarget):
        same = target.url.replace("127.0.0.1", "localhost")
    else:
        monkeypatch.chdir(target.path.parent)  # type: ignore[attr-defined]  # a plain relative path, no URL at all
        same = target.path.name
    assert same != target.url

    result = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", same, "--profile", PROFILE)

    assert result.exit_code == 2, result.output
    assert "the ledger must not live in the target database" in result.output
    assert target.snapshot() == before


def test_ledger_show_options_that_do_nothing_without_decisions_are_a_usage_error(
    tmp_path: Path, cli: CliRunner
) -> None:
    for extra in (("--kind", "mapped"), ("--model", "documents.document"), ("--csv",)):
        result = run(cli, "ledger", "show", "0b6f3c1e-0000-0000-0000-000000000000", "--ledger", tmp_path / "l", *extra)
        assert result.exit_code == 2, result.output
        assert "go with --decisions" in result.output
