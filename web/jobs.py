"""Jobs: a restore's plan, apply or rollback runs in a worker process of its own, never inside a
request. The worker writes the job's state and progress to a small JSON file that requests read;
the restore's own state is always read from the ledger.

A job directory per restore (named by the restore id the server chose) holds the uploaded backup
(the projection reads media files from it when applying) and one state file per action.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from web.settings import Settings

ACTIONS = ("plan", "apply", "rollback")
RUNNING = ("queued", "running")
STARTING_SECONDS = 60


class JobBusy(Exception):
    """A job of this restore is running already."""


def job_dir(settings: Settings, restore_id: UUID | str) -> Path:
    return settings.jobs_dir / str(UUID(str(restore_id)))


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file whole, so that a reader never sees half of it."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(state, default=str), encoding="utf-8")
    os.replace(partial, path)


def read_state(settings: Settings, restore_id: str, action: str) -> dict[str, Any] | None:
    """The job's last state; a job whose worker is gone without finishing is ``interrupted``."""
    path = job_dir(settings, restore_id) / f"{action}.json"
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if state["state"] in RUNNING and not _alive(int(state.get("pid") or 0), state["started_at"]):
        state["state"] = "interrupted"
        state["error"] = {
            "message": "the worker stopped before it finished; the next command on this target settles the run",
            "status": 409,
        }
    return state


def latest(settings: Settings, restore_id: str) -> dict[str, Any] | None:
    """The most recently started job of the restore (none for an id that is no UUID)."""
    try:
        UUID(restore_id)
    except ValueError:
        return None
    states = [s for action in ACTIONS if (s := read_state(settings, restore_id, action)) is not None]
    return max(states, key=lambda s: s["started_at"]) if states else None


def running(settings: Settings, restore_id: str) -> bool:
    state = latest(settings, restore_id)
    return state is not None and state["state"] in RUNNING


def start(settings: Settings, restore_id: str, action: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Start the worker for ``action`` on the restore; its first state."""
    if running(settings, restore_id):
        raise JobBusy(f"restore {restore_id} has a job running already; wait for it to finish")
    directory = job_dir(settings, restore_id)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{action}.spec.json").write_text(json.dumps(spec, default=str), encoding="utf-8")
    state_file = directory / f"{action}.json"
    state: dict[str, Any] = {"action": action, "state": "queued", "pid": None, "started_at": time.time()}
    state.update(counts={}, totals={})
    write_state(state_file, state)
    env = {**os.environ, "RESTORE_LEDGER_URL": settings.ledger_url}
    with (directory / "worker.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "web.worker", str(directory), action],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a worker outlives a server stopped by Ctrl-C; the ledger settles the rest
        )
    state["pid"] = process.pid
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    return state


def wait(settings: Settings, restore_id: str, action: str, seconds: float) -> dict[str, Any] | None:
    """Wait up to ``seconds`` for the job to finish, so that quick refusals answer the request itself."""
    deadline = time.monotonic() + seconds
    while True:
        state = read_state(settings, restore_id, action)
        if state is None or state["state"] not in RUNNING or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def _alive(pid: int, started_at: float) -> bool:
    if pid <= 0:
        return time.time() - started_at < STARTING_SECONDS  # queued: the worker has not written its pid yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
