"""Security of the console and the API, over HTTP with the test client."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from application.accounts import list_accounts
from application.ledger import Ledger
from application.report import list_restores
from domain.accounts import account_id
from tests.console import Console, example_package, make_console
from tests.targets import sqlite_target
from web import jobs

PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/api/v1/openapi.json")}


@pytest.fixture
def console(tmp_path: Path) -> Console:
    target = sqlite_target(tmp_path / "target.sqlite3", reinitialised=True)
    return make_console(tmp_path / "console", target.url, str(tmp_path / "ledger.sqlite3"))


def routes(app: object) -> list[tuple[str, str]]:
    """Every (method, path) of the console and the mounted API, path parameters filled in."""
    found: list[tuple[str, str]] = []

    def walk(routes: list[object], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                walk(list(route.routes), prefix + route.path)
            elif hasattr(route, "original_router"):  # FastAPI's included router
                walk(list(route.original_router.routes), prefix)
            elif isinstance(route, APIRoute | Route):
                found.extend((m, prefix + route.path) for m in route.methods or ())

    walk(list(app.app.routes), "")  # type: ignore[attr-defined]
    some_id = str(uuid.uuid4())
    return sorted((m, re.sub(r"\{[^}]+\}", some_id, p)) for m, p in found if m != "HEAD")


def test_every_route_without_a_session_answers_401_or_redirects_to_log_in(console: Console) -> None:
    client = console.client()
    checked = routes(client.app)
    assert len(checked) >= 15, checked
    for method, path in checked:
        if (method, path) in PUBLIC:
            continue
        answer = client.request(method, path)
        if path.startswith("/api/"):
            assert answer.status_code == 401, (method, path, answer.status_code)
            assert answer.headers["www-authenticate"] == "Bearer"
        else:
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/login?next=")
    assert client.get("/static/console.css").status_code == 200  # assets, served locally


def test_an_auditor_may_not_upload_apply_or_roll_back(console: Console, tmp_path: Path) -> None:
    client = console.client()
    auditor = console.bearer("aldo")
    backup = example_package(tmp_path)
    restore_id = str(uuid.uuid4())
    upload = console.upload(client, backup, "aldo", "x")
    assert upload.status_code == 403, upload.text
    assert "aldo (auditor) may not upload and plan a restore" in upload.json()["detail"]
    signature = {"password": "auditor-password-1", "reason": "x"}
    for action in ("apply", "rollback"):
        answer = client.post(f"/api/v1/restores/{restore_id}/{action}", headers=auditor, json=signature)
        assert answer.status_code == 403, answer.text
    csrf = console.log_in(client, "aldo")
    assert client.get("/restores/new").status_code == 403
    form = {"csrf": csrf, "target": "edms", "reason": "x"}
    assert client.post("/restores", data=form, files={"backup": (backup.name, backup.read_bytes())}).status_code == 403
    for action in ("apply", "rollback"):
        answer = client.post(f"/restores/{restore_id}/{action}", data=form | {"password": "auditor-password-1"})
        assert answer.status_code == 403
        assert "may not" in answer.text
    assert list(console.root.joinpath("jobs").iterdir()) == []
    assert list_restores(console.ledger) == []
    operator = {"password": "operator-password-1", "reason": "x"}
    not_a_restore = client.post(
        f"/api/v1/restores/{account_id('olga')}/apply", headers=console.bearer("olga"), json=operator
    )
    assert not_a_restore.status_code == 404  # an account's id is no restore's


def test_a_form_post_without_the_csrf_token_is_refused(console: Console, tmp_path: Path) -> None:
    client = console.client()
    fresh = console.client()
    assert fresh.post("/login", data={"name": "olga", "password": "operator-password-1"}).status_code == 403
    csrf = console.log_in(client, "olga")
    backup = example_package(tmp_path)
    for data in ({}, {"csrf": "forged"}):
        form = data | {"target": "edms", "reason": "x"}
        answer = client.post("/restores", data=form, files={"backup": (backup.name, backup.read_bytes())})
        assert answer.status_code == 403
        assert "CSRF token is missing or wrong" in answer.text
        assert (
            client.post(f"/restores/{uuid.uuid4()}/apply", data=data | {"password": "p", "reason": "r"}).status_code
            == 403
        )
        assert client.post("/logout", data=data).status_code == 403
    assert list(console.root.joinpath("jobs").iterdir()) == []
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    cookie = client.cookies.get("rl_session")
    assert cookie is None


def test_session_cookies_are_http_only_and_same_site_strict(console: Console) -> None:
    client = console.client()
    page = client.get("/login")
    assert re.search(r"rl_login_csrf=[^;]+;.*HttpOnly.*SameSite=strict", page.headers["set-cookie"], re.I)
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    console.log_in(client, "olga")
    assert client.get("/restores").status_code == 200
    idle = console.client(idle_seconds=0)
    console.log_in(idle, "olga")
    assert idle.get("/restores").status_code == 303  # idle longer than the time-out


def test_six_wrong_passwords_lock_the_account_in_the_ledger(console: Console) -> None:
    client = console.client()
    for _ in range(6):
        form = client.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        answer = client.post("/login", data={"csrf": token[1], "name": "olga", "password": "wrong", "next": "/"})
        assert answer.status_code == 401
        assert "wrong account name or password" in answer.text
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    right = client.post("/login", data={"csrf": token[1], "name": "olga", "password": "operator-password-1"})
    assert right.status_code == 401
    assert "account olga is locked" in right.text
    assert {a["name"]: a["state"] for a in list_accounts(console.ledger)}["olga"] == "locked"
    recorded = Ledger(console.ledger)  # held while its events are read: a collected Ledger closes its connections
    names = [type(e).__name__ for e in recorded.events.get(account_id("olga"))]
    assert names.count("LoginFailed") == 6
    assert names.index("LockedOut") == names.index("LoginFailed") + 5
    console.cli("accounts", "enable", "olga", "--actor", "admin")
    console.log_in(client, "olga")


def test_an_upload_over_the_size_limit_answers_413_and_stores_nothing(console: Console, tmp_path: Path) -> None:
    client = console.client(max_upload_bytes=10_000)
    backup = example_package(tmp_path)
    headers = console.bearer("olga")
    declared = console.upload(client, backup, "olga", "x")
    assert declared.status_code == 413, declared.text
    assert "larger than the limit of 10,000 bytes" in declared.json()["detail"]
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="target"\r\n\r\nedms\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="reason"\r\n\r\nx\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="backup"; filename="b.zip"\r\n\r\n'
        ).encode()
        + backup.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> object:  # no Content-Length: the limit holds while the body streams
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    streamed = client.post(
        "/api/v1/restores",
        headers=headers | {"content-type": f"multipart/form-data; boundary={boundary}"},
        content=chunks(),  # type: ignore[arg-type]
    )
    assert streamed.status_code == 413, streamed.text
    assert list(console.root.joinpath("jobs").iterdir()) == []
    assert list_restores(console.ledger) == []


def test_path_traversal_inside_an_uploaded_package_is_refused_as_on_the_cli(console: Console, tmp_path: Path) -> None:
    import json
    import zipfile

    package = example_package(tmp_path)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(evil, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["files"].append({"path": "../evil.txt", "sha256": "0" * 64, "size": 4})
                data = json.dumps(manifest).encode()
            out.writestr(item.filename, data)
        out.writestr("../evil.txt", "evil")
    client = console.client()
    headers = console.bearer("olga")
    answer = console.upload(client, evil, "olga", "x")
    message = "package entry '../evil.txt' leaves the package"
    if answer.status_code == 202:  # the worker was slower than the request's short wait
        restore_id = answer.json()["restore_id"]
        jobs.wait(console.settings(), restore_id, "plan", 60)
        state = client.get(f"/api/v1/restores/{restore_id}", headers=headers).json()
        assert state["status"] == "failed"
        assert message in state["job"]["error"]["message"]
    else:
        assert answer.status_code == 422, answer.text
        assert message in answer.json()["detail"]
    assert not (console.root / "evil.txt").exists() and not (console.root / "jobs" / "evil.txt").exists()
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "restore-ledger"), "plan", str(evil), "--target",
         console.settings().targets["edms"].url, "--ledger", str(tmp_path / "cli-ledger.sqlite3"), "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert cli.returncode == 1
    assert message in cli.stderr


def test_the_verification_page_shows_a_clean_ledger_and_names_a_changed_event(console: Console) -> None:
    import sqlite3

    client = console.client()
    console.log_in(client, "aldo")
    clean = client.get("/verify")
    assert clean.status_code == 200, clean.text
    assert "Verified: no finding" in clean.text
    with sqlite3.connect(console.ledger) as db:  # an auditor's nightmare: one event's stored state edited
        [(nid, state)] = db.execute("SELECT rowid, state FROM stored_events ORDER BY rowid LIMIT 1").fetchall()
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (bytes(state) + b"x", nid))
    changed = client.get("/verify")
    assert changed.status_code == 200
    assert "findings: the ledger was changed" in changed.text and "changed" in changed.text
