"""Restores, rollbacks and projections running at once against one target never interleave."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from click.testing import CliRunner

from application.ledger import Ledger
from application.settle import target_id_for
from infrastructure.projection import Done, Projection
from infrastructure.target import connect, locked
from tests.conftest import run
from tests.edms import EDMS, Source
from tests.targets import Target

PROFILE = EDMS / "profile.toml"
CLI = str(Path(sys.executable).parent / "restore-ledger")
BUSY = "holds this target's lock"


def test_two_concurrent_restores_run_one_after_the_other_or_one_is_refused(
    source: Source, second_source: Path, reinitialised: Target, sqlite_ledger: str
) -> None:
    processes = [
        subprocess.Popen(
            [
                CLI,
                "restore",
                str(backup),
                "--target",
                reinitialised.url,
                "--ledger",
                sqlite_ledger,
                "--profile",
                str(PROFILE),
                "--quiet",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for backup in (source.fixture(), second_source)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    codes = [process.returncode for process in processes]

    assert all(code == 0 or (code == 1 and BUSY in err) for code, (_out, err) in zip(codes, outputs, strict=True)), (
        outputs
    )
    runs = json.loads(subprocess.run([CLI, "ledger", "list", "--ledger", sqlite_ledger, "--json"],
                                     capture_output=True, text=True, check=True).stdout)  # fmt: skip
    applied = [r for r in runs if r["status"] == "applied"]
    assert len(applied) == codes.count(0) >= 1
    assert all(r["status"] in ("applied", "failed") for r in runs)
    assert reinitialised.foreign_key_problems() == []
    assert reinitialised.query("SELECT number FROM documents_document GROUP BY number HAVING COUNT(*) > 1") == []
    numbers = [
        {r["fields"]["number"] for r in json.loads(backup.read_text()) if r["model"] == "documents.document"}
        for backup, code in zip((source.fixture(), second_source), codes, strict=True)
        if code == 0
    ]
    assert {n for (n,) in reinitialised.query("SELECT number FROM documents_document")} == set().union(*numbers)


def test_two_projections_of_one_ledger_never_write_a_restore_twice(
    source: Source, reinitialised: Target, sqlite_ledger: str, cli: CliRunner
) -> None:
    planned = run(cli, "plan", source.fixture(), "--target", reinitialised.url, "--ledger", sqlite_ledger,
                  "--profile", PROFILE, "--quiet")  # fmt: skip
    assert planned.exit_code == 0, planned.output
    ledger = Ledger(sqlite_ledger)
    restore = ledger.get_run(planned.output.split()[1])
    restore.request_apply("tester", "two projections at once")
    ledger.save(restore)
    engine = connect(reinitialised.url)
    target_id = target_id_for(ledger, engine)
    assert target_id is not None
    done: list[list[Done]] = []

    def project() -> None:
        with locked(engine) as conn:
            done.append(Projection(conn, Ledger(sqlite_ledger), target_id).run())

    threads = [threading.Thread(target=project) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    engine.dispose()

    assert sorted(len(d) for d in done) == [0, 1]
    assert reinitialised.count("documents_document") == 60


def test_commands_creating_one_new_ledger_at_the_same_moment_all_open_it(ledger: str) -> None:
    """Each process makes the ledger's schema and tables if missing: they queue, none fails on another's DDL
    (CREATE SCHEMA IF NOT EXISTS alone races: 4 of 120 such processes failed before it took the lock)."""
    code = "import sys; from application.ledger import Ledger; print(Ledger(sys.argv[1], create=True).ledger_id())"
    new_ledgers = [f"{ledger}?schema=round{n}" for n in range(3)] if ledger.startswith("postgresql") else [ledger]
    for url in new_ledgers:
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(8)
        ]
        outputs = [process.communicate(timeout=120) for process in processes]

        assert [p.returncode for p in processes] == [0] * 8, outputs
        assert len({out.strip() for out, _ in outputs}) == 1  # one ledger, one identity
