"""A SQLite rollback's digests of the tables it empties at once, read by two processes: the same digests
the apply recorded, a row changed in either half found, nothing forked once its connection has written,
and a reading process that stops is an error, not a pass."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Connection

from application.ledger import Ledger
from domain.errors import ApplyError
from domain.ledger import RestoreRun
from infrastructure import parallel_digests
from infrastructure.table_keys import pk_columns
from infrastructure.target import connect, locked
from tests.conftest import run
from tests.edms import Source
from tests.restores import restore
from tests.targets import SqliteTarget, sqlite_target


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], list[int]]]:
    """Two processes from the first row (the example's tables are small); each split, as made."""
    monkeypatch.setattr(parallel_digests, "MIN_ROWS", 1)
    splits: list[tuple[list[int], list[int]]] = []
    halves = parallel_digests._halves

    def recorded(parts: Any) -> tuple[list[int], list[int]]:
        splits.append(halves(parts))
        return splits[-1]

    monkeypatch.setattr(parallel_digests, "_halves", recorded)
    return splits


@pytest.fixture
def restored(source: Source, tmp_path: Path, sqlite_ledger: str, cli: CliRunner) -> tuple[SqliteTarget, str]:
    target = sqlite_target(tmp_path / "reinitialised.sqlite3", reinitialised=True)
    return target, restore(cli, source.fixture(), target, sqlite_ledger)


def digests_recorded(ledger: str, restore_id: str) -> list[Any]:
    recorded = Ledger(ledger)
    events = map(recorded.mapper.to_domain_event, recorded.recorder.select_events(recorded.get_run(restore_id).id))
    return [event for event in events if isinstance(event, RestoreRun.RowsDigested)]


@pytest.fixture
def rollback_lock(restored: tuple[SqliteTarget, str]) -> Iterator[Connection]:
    """The target's write lock, as a rollback holds it."""
    engine = connect(restored[0].url)
    with locked(engine) as conn:
        yield conn
    engine.dispose()


def test_two_processes_read_the_digests_the_apply_recorded(
    forks: list[Any], restored: tuple[SqliteTarget, str], sqlite_ledger: str, rollback_lock: Connection
) -> None:
    parts = digests_recorded(sqlite_ledger, restored[1])
    keys = pk_columns(rollback_lock)

    found = parallel_digests.digest_parts(rollback_lock, parts, keys.__getitem__)

    assert found == [(d.count, d.sha256) for d in parts]
    assert len(forks) == 1 and all(forks[0])  # each process read some of them


def test_a_row_changed_in_either_processs_half_is_found(
    forks: list[Any], restored: tuple[SqliteTarget, str], sqlite_ledger: str, cli: CliRunner
) -> None:
    target, restore_id = restored
    parts = digests_recorded(sqlite_ledger, restore_id)
    mine, theirs = parallel_digests._halves(parts)
    changed = {parts[mine[0]].table, parts[theirs[0]].table}
    for table in changed:
        target.execute(f'UPDATE "{table}" SET id = id + 1000000 WHERE id = (SELECT max(id) FROM "{table}")')
    engine = connect(target.url)
    with locked(engine) as conn:
        found = parallel_digests.digest_parts(conn, parts, pk_columns(conn).__getitem__)
    engine.dispose()

    differing = {d.table for d, digest in zip(parts, found, strict=True) if digest != (d.count, d.sha256)}
    assert differing == changed
    before = target.data()
    result = run(cli, "rollback", restore_id, "--ledger", sqlite_ledger, "--reason", "drill")
    assert result.exit_code == 1, result.output
    assert target.data() == before


def test_nothing_is_forked_once_the_lock_holder_has_written(
    forks: list[Any], restored: tuple[SqliteTarget, str], sqlite_ledger: str, rollback_lock: Connection
) -> None:
    parts = digests_recorded(sqlite_ledger, restored[1])
    rollback_lock.exec_driver_sql("UPDATE documents_document SET title = title")  # unseen by another reader

    found = parallel_digests.digest_parts(rollback_lock, parts, pk_columns(rollback_lock).__getitem__)

    assert found == [(d.count, d.sha256) for d in parts]
    assert forks == []


def test_a_reading_process_that_stops_is_an_error(
    forks: list[Any],
    restored: tuple[SqliteTarget, str],
    sqlite_ledger: str,
    rollback_lock: Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parts = digests_recorded(sqlite_ledger, restored[1])
    monkeypatch.setattr(parallel_digests, "_digest_in_child", lambda *args: os._exit(3))

    with pytest.raises(ApplyError, match=r"the process reading the restored rows stopped \(exit code 3\)"):
        parallel_digests.digest_parts(rollback_lock, parts, pk_columns(rollback_lock).__getitem__)


def test_a_rollback_through_two_processes_leaves_the_target_as_before_the_restore(
    forks: list[Any], source: Source, tmp_path: Path, sqlite_ledger: str, cli: CliRunner
) -> None:
    target = sqlite_target(tmp_path / "reinitialised.sqlite3", reinitialised=True)
    before = target.data()
    restore_id = restore(cli, source.fixture(), target, sqlite_ledger)

    result = run(cli, "rollback", restore_id, "--ledger", sqlite_ledger, "--reason", "drill")

    assert result.exit_code == 0, result.output
    assert target.data() == before
    assert forks and all(forks[0])


def test_a_reader_whose_rollback_stopped_ends_quietly(
    restored: tuple[SqliteTarget, str], sqlite_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = digests_recorded(sqlite_ledger, restored[1])
    engine = connect(restored[0].url)
    with engine.connect() as conn:
        keys = {d.table: pk_columns(conn)[d.table] for d in parts}
    engine.dispose()
    receiving, sending = multiprocessing.Pipe(duplex=False)
    receiving.close()  # as when the rollback was killed
    monkeypatch.setattr(parallel_digests.signal, "signal", lambda *args: None)  # this process keeps its Ctrl-C

    parallel_digests._digest_in_child(str(restored[0].path), parts, keys, sending)  # no BrokenPipeError


def test_a_rollback_whose_reading_process_stops_is_refused_and_recorded_with_the_target_untouched(
    forks: list[Any],
    restored: tuple[SqliteTarget, str],
    sqlite_ledger: str,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target, restore_id = restored
    before = target.data()
    monkeypatch.setattr(parallel_digests, "_digest_in_child", lambda *args: os._exit(3))

    result = run(cli, "rollback", restore_id, "--ledger", sqlite_ledger, "--reason", "drill")

    assert result.exit_code == 1, result.output
    assert "the process reading the restored rows stopped (exit code 3)" in result.output
    assert "Traceback" not in result.output
    assert target.data() == before
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", sqlite_ledger, "--json").output)
    assert entry["status"] == "applied" and entry["history"][-1]["event"] == "RollbackRefused"
