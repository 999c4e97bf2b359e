"""The README's one command for the console: examples/edms/console.sh serves the example."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from application.accounts import list_accounts
from tests.console import free_port
from tests.edms import ROOT


def test_console_script_serves_the_example_with_an_operator_and_an_auditor(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RESTORE_LEDGER_DEMO_DIR": str(tmp_path),
        "RESTORE_LEDGER_CONSOLE_PORT": str(port),
    }
    readme = (ROOT / "README.md").read_text()
    assert 'PATH="$PWD/.venv/bin:$PATH" sh examples/edms/console.sh' in readme
    with (tmp_path / "out.log").open("wb") as log:
        server = subprocess.Popen(["sh", "examples/edms/console.sh"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as page:
                    assert b"Log in" in page.read()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "out.log").read_text()
                time.sleep(0.3)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/restores", timeout=2)
        except urllib.error.HTTPError as error:
            assert error.code == 401
    finally:
        server.terminate()
        server.wait(10)
    accounts = {a["name"]: a["role"] for a in list_accounts(str(tmp_path / "restore-ledger.sqlite3"))}
    assert accounts == {"operator": "operator", "auditor": "auditor"}
    with zipfile.ZipFile(tmp_path / "edms-backup.zip") as archive:
        assert "manifest.json" in archive.namelist() and "data/dump.jsonl" in archive.namelist()
    assert "console: http://127.0.0.1:" in (tmp_path / "out.log").read_text()
