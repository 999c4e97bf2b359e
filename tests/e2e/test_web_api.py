"""The REST API over the example package, target and ledger on SQLite and on PostgreSQL: the ledger
names the authenticated account as actor and signer; four-eyes; paging; reports; states."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.timeline import timeline_of
from tests.console import example_package, make_console, wait_for
from tests.targets import PostgresTarget, Target, pg_admin
from web import jobs


@pytest.fixture
def same_kind_ledger(reinitialised: Target, tmp_path: Path) -> Iterator[str]:
    """A ledger on the target's kind of database: SQLite with SQLite, PostgreSQL with PostgreSQL."""
    if reinitialised.dialect == "sqlite":
        yield str(tmp_path / "ledger.sqlite3")
        return
    created = PostgresTarget(f"rl_ledger_{os.urandom(6).hex()}")
    pg_admin(f"CREATE DATABASE {created.name}")
    yield created.url
    created.drop()


def test_a_restore_through_the_api_names_the_account_as_actor_and_signer(
    reinitialised: Target, same_kind_ledger: str, tmp_path: Path
) -> None:
    ledger = same_kind_ledger
    console = make_console(tmp_path / "console", reinitialised.url, ledger)
    client = console.client()
    olga, aldo = console.bearer("olga"), console.bearer("aldo")
    backup = example_package(tmp_path)
    before = reinitialised.count("documents_document")
    upload = console.upload(client, backup, "olga", "restore after re-initialisation")
    assert upload.status_code == 202, upload.text
    restore_id = upload.json()["restore_id"]
    planned = wait_for(client, restore_id, olga)
    assert planned["status"] == "planned", planned
    assert planned["actor"] == "olga" and planned["target"] == "edms"
    assert planned["job"]["counts"]["read"] == sum(planned["counts"].values())
    assert reinitialised.count("documents_document") == before  # planned only

    first = client.get(f"/api/v1/restores/{restore_id}/decisions", headers=aldo, params={"limit": 10}).json()
    assert len(first["items"]) == 10 and first["next_cursor"]
    assert first["items"][0]["security"]  # security-relevant first
    second = client.get(
        f"/api/v1/restores/{restore_id}/decisions", headers=aldo, params={"limit": 10, "cursor": first["next_cursor"]}
    ).json()
    assert not {i["text"] for i in first["items"]} & {i["text"] for i in second["items"]}
    roles = client.get(
        f"/api/v1/restores/{restore_id}/decisions", headers=aldo, params={"kind": "mapped", "model": "accounts.role"}
    ).json()["items"]
    assert any('"Administrator"' in item["text"] for item in roles)
    conflicts = client.get(f"/api/v1/restores/{restore_id}/decisions", headers=aldo, params={"kind": "conflict"})
    admin = conflicts.json()["items"][0]
    assert admin["details"]["differing"]["password"] == "<redacted>"  # secrets never shown

    wrong = client.post(
        f"/api/v1/restores/{restore_id}/apply", headers=olga, json={"password": "x" * 12, "reason": "r"}
    )
    assert wrong.status_code == 403 and "signature refused" in wrong.json()["detail"]
    no_reason = client.post(
        f"/api/v1/restores/{restore_id}/apply", headers=olga, json={"password": "operator-password-1", "reason": " "}
    )
    assert no_reason.status_code == 422
    too_early = client.post(
        f"/api/v1/restores/{restore_id}/rollback", headers=olga, json={"password": "operator-password-1", "reason": "r"}
    )
    assert too_early.status_code == 409 and "only a applied restore can be rolled back" in too_early.json()["detail"]
    applied = client.post(
        f"/api/v1/restores/{restore_id}/apply",
        headers=olga,
        json={"password": "operator-password-1", "reason": "QA ok"},
    )
    assert applied.status_code == 202, applied.text
    assert wait_for(client, restore_id, olga)["status"] == "applied"
    assert reinitialised.count("documents_document") == before + 60

    report = client.get(f"/api/v1/restores/{restore_id}/report", headers=aldo, params={"format": "json"})
    assert report.status_code == 200 and json.loads(report.content)["identity"]["status"] == "applied"
    for fmt, marker in (("csv", "restore_id,event_version,kind,model"), ("html", "<h1>Restore")):
        answer = client.get(f"/api/v1/restores/{restore_id}/report", headers=aldo, params={"format": fmt})
        assert marker in answer.text

    rolled = client.post(
        f"/api/v1/restores/{restore_id}/rollback",
        headers=olga,
        json={"password": "operator-password-1", "reason": "undo"},
    )
    assert rolled.status_code == 202, rolled.text
    assert wait_for(client, restore_id, olga)["status"] == "rolled back"
    assert reinitialised.count("documents_document") == before

    events = timeline_of(ledger, restore_id)
    started = events[0]
    assert started["event"] == "Started" and started["actor"] == "olga"
    signed = [(e["actor"], e["what"], e["reason"]) for e in events if e["event"] == "Signed"]
    assert signed == [
        ("olga", "signed electronically: applied", "QA ok"),
        ("olga", "signed electronically: rolled back", "undo"),
    ]
    names = [e["event"] for e in events]
    assert names[names.index("Signed") + 1] == "ApplyRequested"
    assert [e["actor"] for e in events if e["event"] in ("ApplyRequested", "RollbackStarted")] == ["olga", "olga"]
    listed = client.get("/api/v1/restores", headers=aldo).json()
    assert [r["restore_id"] for r in listed] == [restore_id]
    console.log_in(client, "aldo")
    shown = client.get(f"/restores/{restore_id}").text.split('id="timeline"')[1]  # the console's timeline
    for entry in events:
        assert f"<td>{entry['what']}</td>" in shown and entry["who"] in shown
    assert "signed electronically: rolled back" in shown and "<td>undo</td>" in shown


def test_four_eyes_the_account_that_planned_cannot_apply(tmp_path: Path) -> None:
    from tests.targets import sqlite_target

    target = sqlite_target(tmp_path / "target.sqlite3", reinitialised=True)
    ledger = str(tmp_path / "ledger.sqlite3")
    console = make_console(tmp_path / "console", target.url, ledger, require_second_person=True)
    client = console.client()
    backup = example_package(tmp_path)
    upload = console.upload(client, backup, "olga", "DR drill")
    restore_id = upload.json()["restore_id"]
    assert wait_for(client, restore_id, console.bearer("olga"))["status"] == "planned"
    same = client.post(
        f"/api/v1/restores/{restore_id}/apply",
        headers=console.bearer("olga"),
        json={"password": "operator-password-1", "reason": "mine"},
    )
    assert same.status_code == 403
    assert "requires a second person" in same.json()["detail"]
    other = client.post(
        f"/api/v1/restores/{restore_id}/apply",
        headers=console.bearer("otto"),
        json={"password": "operator-password-2", "reason": "second person"},
    )
    assert other.status_code == 202, other.text
    assert wait_for(client, restore_id, console.bearer("otto"))["status"] == "applied"
    signers = [(e["event"], e["actor"]) for e in timeline_of(ledger, restore_id)]
    assert ("Started", "olga") in signers and ("Signed", "otto") in signers


def test_a_job_whose_worker_died_reads_as_interrupted(tmp_path: Path) -> None:
    from tests.console import Console

    console = Console(tmp_path, str(tmp_path / "ledger.sqlite3"), tmp_path / "targets.toml", {})
    (tmp_path / "targets.toml").write_text('[targets.t]\nurl = "sqlite:///x"\n')
    settings = console.settings()
    restore_id = "0b6f3c1e-0000-4000-8000-000000000000"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    directory = jobs.job_dir(settings, restore_id)
    directory.mkdir(parents=True)
    state = {"action": "plan", "state": "running", "pid": int(dead.stdout), "started_at": time.time()}
    jobs.write_state(directory / "plan.json", state)
    read = jobs.read_state(settings, restore_id, "plan")
    assert read is not None and read["state"] == "interrupted"
    assert "the next command on this target settles the run" in read["error"]["message"]
    jobs.write_state(directory / "plan.json", state | {"pid": os.getpid()})
    assert jobs.running(settings, restore_id)
