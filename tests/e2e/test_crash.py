"""A restore, apply or rollback killed (SIGKILL, a real subprocess) at any point leaves the target
as before or as after, never in between; ``status`` shows it; the same command again finishes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from infrastructure.checkpoints import KILL_AT
from tests.conftest import run
from tests.edms import EDMS, Source
from tests.targets import PostgresTarget, SqliteTarget, Target

PROFILE = EDMS / "profile.toml"
CLI = str(Path(sys.executable).parent / "restore-ledger")


def command(*args: object, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, KILL_AT: kill_at} if kill_at else {k: v for k, v in os.environ.items() if k != KILL_AT}
    return subprocess.run([CLI, *map(str, args)], env=env, capture_output=True, text=True, timeout=300)


def expected_after(source: Source, target: Target, tmp_path: Path, cli: CliRunner) -> dict[str, Any]:
    """The target as an uninterrupted restore leaves it, made on a copy of it."""
    copy: Target = target.copy(tmp_path / "reference.sqlite3") if isinstance(target, SqliteTarget) else target.copy()  # type: ignore[attr-defined]
    try:
        result = run(cli, "restore", source.fixture(), "--target", copy.url, "--ledger", tmp_path / "reference.ledger",
                     "--profile", PROFILE, "--quiet")  # fmt: skip
        assert result.exit_code == 0, result.output
        return copy.data()
    finally:
        if isinstance(copy, PostgresTarget):
            copy.drop()


def status(target: Target, ledger: str) -> dict[str, Any]:
    found = command("status", "--target", target.url, "--ledger", ledger, "--json")
    assert found.returncode == 0, found.stderr
    state: dict[str, Any] = json.loads(found.stdout)
    return state


@pytest.mark.parametrize(
    ("point", "lands"),
    [
        ("read", "before"),
        ("record", "before"),
        ("apply-writing", "before"),
        ("apply-before-commit", "before"),
        ("apply-committed", "after"),
    ],
)
def test_a_killed_restore_leaves_the_target_before_or_after_and_running_it_again_finishes_it(
    point: str, lands: str, source: Source, reinitialised: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    before = reinitialised.data()
    after = expected_after(source, reinitialised, tmp_path, cli)
    restore = ("restore", source.fixture(), "--target", reinitialised.url, "--ledger", sqlite_ledger,
               "--profile", PROFILE, "--quiet")  # fmt: skip

    killed = command(*restore, kill_at=point)

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert reinitialised.data() == (before if lands == "before" else after)
    [interrupted] = status(reinitialised, sqlite_ledger)["restores"]
    assert "interrupted" in interrupted["note"] or "done in the target" in interrupted["note"]

    again = command(*restore)

    assert again.returncode == 0, again.stdout + again.stderr
    assert reinitialised.data() == after
    runs = json.loads(command("ledger", "list", "--ledger", sqlite_ledger, "--json").stdout)
    if point in ("read", "record"):
        assert [r["status"] for r in runs] == ["failed", "applied"]
        assert runs[0]["failure"]["stage"] == "interrupted"
    else:
        assert [r["status"] for r in runs] == ["applied"]
        assert "it is now finished" in again.stdout


@pytest.mark.parametrize(("point", "lands"), [("rollback-before-commit", "restored"), ("rollback-committed", "before")])
def test_a_killed_rollback_leaves_the_target_before_or_after_and_running_it_again_finishes_it(
    point: str, lands: str, source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    before = reinitialised.data()
    result = run(cli, "restore", source.fixture(), "--target", reinitialised.url, "--ledger", sqlite_ledger,
                 "--profile", PROFILE, "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    restore_id = result.output.split()[1]
    restored = reinitialised.data()

    killed = command("rollback", restore_id, "--ledger", sqlite_ledger, kill_at=point)

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert reinitialised.data() == (restored if lands == "restored" else before)
    assert status(reinitialised, sqlite_ledger)["restores"][0]["status"] == "rolling back"

    again = command("rollback", restore_id, "--ledger", sqlite_ledger)

    assert again.returncode == 0, again.stdout + again.stderr
    assert reinitialised.data() == before
    [entry] = json.loads(command("ledger", "list", "--ledger", sqlite_ledger, "--json").stdout)
    assert entry["status"] == "rolled back"
