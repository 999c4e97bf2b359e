"""A ledger a compliance officer can trust: a forged before image is refused, the full history is
shown with every actor and reason, concurrent restores leave a ledger that verifies, and the target
agrees with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from infrastructure.ledger_codec import ZstdCompressor
from tests.conftest import run
from tests.edms import Source
from tests.ledger_sql import RawLedger
from tests.restores import Clone, restore
from tests.targets import Target

CLI = str(Path(sys.executable).parent / "restore-ledger")


def raw_of(ledger: str) -> RawLedger:
    return RawLedger(ledger if "://" in ledger else f"sqlite:///{ledger}")


def test_a_forged_before_image_makes_rollback_refuse_naming_the_event(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger, "--on-conflict", "update")
    raw = raw_of(ledger)
    [(nid, version)] = raw.sql(
        "SELECT {nid}, originator_version FROM {events} WHERE topic = ? ORDER BY {nid}",
        "domain.ledger:RestoreRun.RowsUpdated",
    )[:1]
    codec = ZstdCompressor()
    state = json.loads(codec.decompress(raw.event(nid)[3]))
    admin = next(u for u in state["updates"] if "admin" in u["record"])
    admin["before"]["email"] = "mallory@evil.example"
    raw.set_state(nid, codec.compress(json.dumps(state).encode()))
    raw.close()
    before = reinitialised.data()

    result = run(cli, "rollback", restore_id, "--ledger", ledger, "--reason", "undo")

    assert result.exit_code == 1, result.output
    assert "fails verification" in result.output and "changed" in result.output
    assert f"version {version}" in result.output and "RowsUpdated" in result.output
    assert reinitialised.data() == before
    assert "mallory" not in str(reinitialised.query("SELECT email FROM accounts_user"))
    raw = raw_of(ledger)
    recorded = raw.sql("SELECT COUNT(*) FROM {events} WHERE topic = ?", "domain.ledger:RestoreRun.RollbackStarted")
    raw.close()
    assert recorded == [(0,)]  # nothing was recorded for the refused rollback either


def test_ledger_show_names_every_actor_and_reason_of_apply_rollback_roll_forward_and_replay(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner, clone: Clone
) -> None:
    copy = clone(reinitialised, "copy")
    restore_id = restore(cli, source.fixture(), reinitialised, ledger, "--actor", "alice", "--reason", "DR test")
    steps = [
        ("rollback", "bob", "wrong backup"),
        ("apply", "carol", "it was the right one"),
        ("replay", "dave", "staging copy"),
    ]
    for command, actor, reason in steps:
        extra = ("--target", copy.url) if command == "replay" else ()
        result = run(cli, command, restore_id, "--ledger", ledger, "--actor", actor, "--reason", reason, *extra)
        assert result.exit_code == 0, result.output
        assert "ledger " in result.output and "root " in result.output

    shown = run(cli, "ledger", "show", restore_id, "--ledger", ledger)

    assert shown.exit_code == 0, shown.output
    timeline = shown.output.split("timeline:")[1].split("events:")[0]
    for actor, reason in [("alice", "DR test"), *((a, r) for _c, a, r in steps)]:
        assert actor in timeline and f"why: {reason}" in timeline
    assert "roll forward requested" in timeline and "rolled back" in timeline and "replayed" in timeline
    assert copy.url.split("@")[-1] in timeline or copy.url in timeline
    assert "+00:00" in timeline
    assert f"as {os.getenv('USER', '')}" in timeline or "as " in timeline
    assert run(cli, "ledger", "verify", "--ledger", ledger, "--target", reinitialised.url).exit_code == 0
    assert run(cli, "ledger", "verify", "--ledger", ledger, "--target", copy.url).exit_code == 0


def test_two_concurrent_restores_into_two_targets_leave_a_shared_ledger_that_verifies(
    source: Source, second_source: Path, reinitialised: Target, ledger: str, clone: Clone
) -> None:
    other = clone(reinitialised, "other")
    processes = [
        subprocess.Popen(
            [CLI, "restore", str(backup), "--target", target.url, "--ledger", ledger, "--quiet", "--reason", "drill",
             "--profile", str(Path("examples/edms/profile.toml").resolve())],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        )
        for backup, target in ((source.fixture(), reinitialised), (second_source, other))
    ]  # fmt: skip
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs

    result = subprocess.run([CLI, "ledger", "verify", "--ledger", ledger, "--json", "--target", other.url],
                            capture_output=True, text=True)  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["findings"] == []


def test_a_target_whose_applied_rows_disagree_with_the_ledger_is_named(
    source: Source, reinitialised: Target, ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    reinitialised.execute("UPDATE restore_ledger_applied SET notification_id = notification_id + 1000")

    result = run(cli, "ledger", "verify", "--ledger", ledger, "--target", reinitialised.url, "--json")

    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert {f["kind"] for f in findings} == {"target"}
    assert all(f["restore_id"] == restore_id for f in findings)


def test_a_changed_ledger_is_not_listed_and_an_empty_reason_is_refused(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, sqlite_ledger)
    refused = run(cli, "rollback", restore_id, "--ledger", sqlite_ledger, "--reason", "  ")
    assert refused.exit_code == 2 and "may not be empty" in refused.output
    raw = raw_of(sqlite_ledger)
    # the restore's first event (the ledger's own identity comes before it)
    [(first,)] = raw.sql("SELECT {nid} FROM {events} WHERE topic LIKE ? ORDER BY {nid} LIMIT 1", "%RestoreRun.Started%")
    position = raw.ids().index(first) + 1
    state = raw.event(first)[3]
    raw.set_state(first, state[:-1] + bytes([state[-1] ^ 1]))
    raw.close()

    listed = run(cli, "ledger", "list", "--ledger", sqlite_ledger)
    shown = run(cli, "ledger", "show", restore_id, "--ledger", sqlite_ledger)

    assert listed.exit_code == 1 and "fails verification" in listed.output
    assert f"changed at position {position}" in listed.output
    assert shown.exit_code == 1 and "fails verification" in shown.output and "Started" in shown.output


def test_rebuild_is_recorded_with_its_actor_and_reason(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner, clone: Clone
) -> None:
    fresh = clone(reinitialised, "fresh")
    restore_id = restore(cli, source.fixture(), reinitialised, sqlite_ledger)

    rebuilt = run(cli, "rebuild", "--target", fresh.url, "--ledger", sqlite_ledger, "--actor", "erin",
                  "--reason", "rebuild drill")  # fmt: skip

    assert rebuilt.exit_code == 0, rebuilt.output
    timeline = run(cli, "ledger", "show", restore_id, "--ledger", sqlite_ledger).output.split("timeline:")[1]
    assert "replay requested" in timeline and "by erin" in timeline  # a rebuild replays each restore
    assert "why: rebuild drill" in timeline
