"""Every user-facing error is a message with the documented exit code, never a traceback:
1 for a refusal or failure, 2 for a usage error."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from eventsourcing.persistence import OperationalError

from infrastructure import target as target_module
from tests.conftest import run
from tests.edms import Source
from tests.targets import PG_SERVER, Target

CLI = str(Path(sys.executable).parent / "restore-ledger")


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--reason", "restore\nforged line", "control character U+000A"),
        ("--reason", "bell\x07", "control character U+0007"),
        ("--actor", "admin\r", "control character U+000D"),
        ("--reason", "right-to-left \u202e override", "U+202E"),
    ],
)
def test_free_text_with_control_characters_is_a_usage_error(
    option: str, value: str, expected: str, source: Source, tmp_path: Path, cli: CliRunner
) -> None:
    result = run(cli, "plan", source.fixture(), "--target", f"sqlite:///{tmp_path / 'absent.sqlite3'}",
                 "--ledger", tmp_path / "ledger.sqlite3", option, value)  # fmt: skip

    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert expected in result.output
    assert not (tmp_path / "ledger.sqlite3").exists()


def test_free_text_that_is_not_utf8_is_a_usage_error(source: Source, tmp_path: Path) -> None:
    result = subprocess.run(
        [CLI, "plan", str(source.fixture()), "--target", "sqlite:///absent.sqlite3", "--reason", b"Pr\xfcfung"],
        capture_output=True,
        cwd=tmp_path,
    )

    assert result.returncode == 2, result.stderr
    assert b"is not valid UTF-8" in result.stderr
    assert b"Traceback" not in result.stderr


def test_free_text_is_stored_as_given(source: Source, target: Target, sqlite_ledger: str, cli: CliRunner) -> None:
    reason = "Prüfung nach Neuinstallation — Ticket #42 ✓"

    result = run(cli, "plan", source.fixture(), "--target", target.url, "--ledger", sqlite_ledger,
                 "--actor", "Zoë", "--reason", reason, "--quiet")  # fmt: skip

    assert result.exit_code == 0, result.output
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", sqlite_ledger, "--json").output)
    assert (entry["actor"], entry["reason"]) == ("Zoë", reason)


@pytest.mark.parametrize("which", ["--target", "--ledger"])
def test_a_url_with_a_port_that_is_no_number_is_a_usage_error(
    which: str, source: Source, tmp_path: Path, cli: CliRunner
) -> None:
    urls = {"--target": f"sqlite:///{tmp_path / 'target.sqlite3'}", "--ledger": str(tmp_path / "ledger.sqlite3")}
    urls[which] = "postgresql://postgres@127.0.0.1:notaport/edms"
    (tmp_path / "target.sqlite3").touch()

    result = run(cli, "plan", source.fixture(), "--target", urls["--target"], "--ledger", urls["--ledger"])

    assert result.exit_code == 2, result.output
    assert "postgresql://postgres@127.0.0.1:notaport/edms' is not a database URL" in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[models."documents.document"]\nfields = 3\n', "'fields' must be a table, got 3"),
        (b'[models."documents.document"]\nfields = { title = 3 }\n', "is incomplete or wrong"),
        (b'[models."documents.document"]\ntable = "documents_document" # \xe9t\xe9\n', "cannot be read"),
        (b"models = 3\n", "'models' must be a table"),
    ],
)
def test_a_wrong_profile_file_is_refused_with_a_message(
    content: bytes, expected: str, source: Source, target: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_bytes(content)

    result = run(cli, "plan", source.fixture(), "--target", target.url, "--ledger", sqlite_ledger,
                 "--profile", profile)  # fmt: skip

    assert result.exit_code == 1, result.output
    assert expected in result.output


def test_a_ledger_that_is_no_database_is_refused_with_a_message(
    source: Source, target: Target, tmp_path: Path, cli: CliRunner
) -> None:
    ledger = tmp_path / "notes.txt"
    ledger.write_text("these are my notes, not a ledger\n" * 100)
    before = ledger.read_bytes()

    result = run(cli, "plan", source.fixture(), "--target", target.url, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert f"the SQLite ledger {str(ledger)!r} cannot be opened: file is not a database" in result.output
    assert ledger.read_bytes() == before


def test_a_plain_path_to_the_target_as_ledger_is_refused(
    source: Source, target: Target, tmp_path: Path, cli: CliRunner
) -> None:
    if target.dialect != "sqlite":
        pytest.skip("a plain path names a SQLite file")
    before = target.snapshot()
    path = str(target.url).removeprefix("sqlite:///")

    result = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", path)

    assert result.exit_code == 2, result.output
    assert "the ledger must not live in the target database" in result.output
    assert target.snapshot() == before


def test_a_ledger_that_fills_up_midway_gives_a_message_and_the_next_command_records_the_run(
    source: Source, target: Target, sqlite_ledger: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from application.ledger import Ledger
    from domain.ledger import RestoreRun

    save = Ledger.save

    def save_until_full(self: Ledger, *args: Any, **kwargs: Any) -> Any:
        """The disk fills up once the run has started: its next save fails."""
        if any(isinstance(item, RestoreRun) and item.version > 1 for item in args):
            raise OperationalError("database or disk is full")
        return save(self, *args, **kwargs)

    before = target.snapshot()
    with monkeypatch.context() as patched:
        patched.setattr(Ledger, "save", save_until_full)
        result = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", sqlite_ledger, "--quiet")

    assert result.exit_code == 1, result.output
    assert "database or disk is full" in result.output
    assert "the next command on this target records the run as interrupted" in result.output
    assert target.snapshot() == before
    status = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", sqlite_ledger, "--quiet")
    assert status.exit_code == 0, status.output
    runs = json.loads(run(cli, "ledger", "list", "--ledger", sqlite_ledger, "--json").output)
    assert [r["status"] for r in runs] == ["failed", "applied"]
    assert runs[0]["failure"]["stage"] == "interrupted"


def test_a_lock_held_by_the_application_is_not_blamed_on_another_restore(
    source: Source, target: Target, sqlite_ledger: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(target_module.locked.__wrapped__, "__defaults__", (1,))  # type: ignore[attr-defined]
    # the same lock taken on another database of the server (another target) is not this target's holder
    elsewhere = None
    if target.dialect == "postgresql":
        elsewhere = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, application_name="other-target")
        elsewhere.execute(f"SELECT pg_advisory_lock({target_module.RESTORE_LOCK})")
    if target.dialect == "sqlite":
        application = sqlite3.connect(str(target.url).removeprefix("sqlite:///"), isolation_level=None)
        application.execute("BEGIN IMMEDIATE")
        expected = "or the application using the database"
    else:
        application = psycopg.connect(target.url, autocommit=True, application_name="edms-web")  # type: ignore[assignment]
        application.execute(f"SELECT pg_advisory_lock({target_module.RESTORE_LOCK})")
        expected = "(edms-web)"
    try:
        result = run(cli, "restore", source.fixture(), "--target", target.url, "--ledger", sqlite_ledger, "--quiet")
    finally:
        application.close()
        if elsewhere is not None:
            elsewhere.close()

    assert result.exit_code == 1, result.output
    assert "holds this target's lock" in result.output
    assert expected in result.output
    assert "waited 1s" in result.output
    listed = run(cli, "ledger", "list", "--ledger", sqlite_ledger, "--json")
    assert all(r["status"] != "recording" for r in json.loads(listed.output or "[]"))
