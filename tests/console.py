"""A console over an example target: targets file, accounts and tokens made with the real CLI,
and the app, for the test client, or served by `restore-ledger serve` for the browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from fastapi.testclient import TestClient

from cli.main import main
from tests.edms import EDMS
from web.app import create_app
from web.settings import Settings, load_targets

PASSWORDS = {"olga": "operator-password-1", "otto": "operator-password-2", "aldo": "auditor-password-1"}
ROLES = {"olga": "operator", "otto": "operator", "aldo": "auditor"}


@dataclass
class Console:
    root: Path
    ledger: str
    targets_file: Path
    tokens: dict[str, str]

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "ledger_url": self.ledger,
            "targets": load_targets(self.targets_file),
            "targets_file": self.targets_file,
            "jobs_dir": self.root / "jobs",
        } | overrides
        return Settings(**values)

    def client(self, **overrides: Any) -> TestClient:
        return TestClient(create_app(self.settings(**overrides)), follow_redirects=False)

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def upload(
        self, client: TestClient, backup: Path, name: str, reason: str = "restore after re-initialisation"
    ) -> Any:
        """POST the backup to the API as ``name``, for the target ``edms``."""
        return client.post(
            "/api/v1/restores",
            headers=self.bearer(name),
            files={"backup": (backup.name, backup.read_bytes())},
            data={"target": "edms", "reason": reason},
        )

    def log_in(self, client: TestClient, name: str) -> str:
        """Log ``name`` in on ``client``; the session's CSRF token."""
        form = client.get("/login")
        token = _hidden(form.text, "csrf")
        answer = client.post("/login", data={"csrf": token, "name": name, "password": PASSWORDS[name], "next": "/"})
        assert answer.status_code == 303, answer.text
        page = client.get("/restores")
        return _hidden(page.text, "csrf") if page.status_code == 200 else ""

    def cli(self, *args: str, stdin: str | None = None) -> str:
        result = CliRunner().invoke(main, [*args, "--ledger", self.ledger], input=stdin, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output


def _hidden(html: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def make_console(root: Path, target_url: str, ledger: str, **target: Any) -> Console:
    root.mkdir(parents=True, exist_ok=True)
    extra = "".join(
        f"{key} = {str(value).lower() if isinstance(value, bool) else repr(value)}\n" for key, value in target.items()
    )
    targets_file = root / "targets.toml"
    targets_file.write_text(
        f'[targets.edms]\nurl = "{target_url}"\nmedia_root = "media"\nprofile = "{EDMS / "profile.toml"}"\n{extra}'
    )
    console = Console(root, ledger, targets_file, {})
    for name, role in ROLES.items():
        console.cli(
            "accounts",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            "--actor",
            "admin",
            stdin=PASSWORDS[name] + "\n",
        )
        console.tokens[name] = console.cli("accounts", "tokens", "create", name).strip()
    return console


def wait_for(client: TestClient, restore_id: str, headers: dict[str, str], seconds: float = 60) -> dict[str, Any]:
    """Poll the API until the restore's job has finished; its state."""
    deadline = time.monotonic() + seconds
    while True:
        state: dict[str, Any] = client.get(f"/api/v1/restores/{restore_id}", headers=headers).json()
        job = state.get("job") or {}
        if job.get("state") not in ("queued", "running") or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(console: Console, log: Path) -> Iterator[str]:
    """`restore-ledger serve` in a process of its own; its base URL while the caller runs."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "restore-ledger"), "serve", "--ledger", console.ledger,
        "--targets", str(console.targets_file), "--jobs-dir", str(console.root / "jobs"), "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/login", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(log.read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(10)


HOSTILE = '<script>window.__xss=1</script>"><img src=x onerror="window.__xss=2">'
LEFT_OUT = "user00011"


def example_package(root: Path, hostile: bool = False) -> Path:
    """The example backup package as a .zip; ``hostile``: with user00011 left out (so that the restore
    creates it) and renamed, wherever it is referenced, to a value holding <script> and "><img onerror>."""
    import hashlib
    import json
    import shutil
    import zipfile

    package = shutil.copytree(EDMS / "backup", root / ("hostile" if hostile else "example"))
    if hostile:
        data = package / "data" / "dump.jsonl"
        records = [
            r
            for r in map(json.loads, data.read_text().splitlines())
            if not (r["model"] == "accounts.user" and r["fields"]["username"] == LEFT_OUT)
        ]
        lines = "".join(json.dumps(r) + "\n" for r in records)
        data.write_text(lines.replace(json.dumps(LEFT_OUT), json.dumps(HOSTILE)))
        manifest = json.loads((package / "manifest.json").read_text())
        for entry in manifest["files"]:
            if entry["path"] == "data/dump.jsonl":
                entry.update(sha256=hashlib.sha256(data.read_bytes()).hexdigest(), size=data.stat().st_size)
        (package / "manifest.json").write_text(json.dumps(manifest))
    archive = root / f"{package.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                out.write(path, path.relative_to(package).as_posix())
    return archive
