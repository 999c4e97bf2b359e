"""The worker process of one job: ``python -m web.worker JOB_DIR ACTION``.

It runs one use case (plan, apply or rollback) as the CLI would, with the account of the request
as actor, and writes its state and progress to ``JOB_DIR/ACTION.json``. The ledger URL comes from
the environment (RESTORE_LEDGER_URL), the target's URL from the server's targets file, by name.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.errors import RestoreError
from web.errors import message_of, status_of
from web.jobs import write_state
from web.settings import load_targets

WRITE_EVERY = 0.25


class JobProgress:
    """The use case's progress callback: counts per stage, written to the state file now and then."""

    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.path = path
        self.state = state
        self.written = 0.0

    def __call__(self, stage: str, count: int, total: int | None = None) -> None:
        counts = self.state["counts"]
        counts[stage] = counts.get(stage, 0) + count
        self.state["stage"] = stage
        if total is not None:
            self.state["totals"][stage] = total
        now = time.monotonic()
        if now - self.written > WRITE_EVERY:
            self.written = now
            write_state(self.path, self.state)


def run(directory: Path, action: str) -> int:
    spec = json.loads((directory / f"{action}.spec.json").read_text(encoding="utf-8"))
    path = directory / f"{action}.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    state.update(state="running", pid=os.getpid(), stage="start")
    write_state(path, state)
    progress = JobProgress(path, state)
    ledger_url = os.environ["RESTORE_LEDGER_URL"]
    try:
        target = load_targets(Path(spec["targets_file"]))[spec["target"]]
        outcome = _run(action, spec, ledger_url, target.url, target.media_root, target.profile, progress)
    except RestoreError as error:
        state.update(state="failed", error={"message": message_of(error), "status": status_of(error)})
    else:
        state.update(state="done", outcome=outcome)
    state["finished_at"] = time.time()
    write_state(path, state)
    return 0 if state["state"] == "done" else 1


def _run(
    action: str,
    spec: dict[str, Any],
    ledger_url: str,
    target_url: str,
    media_root: Path | None,
    profile: Path | None,
    progress: JobProgress,
) -> dict[str, Any]:
    if action == "plan":
        from application.restore import RestoreRequest, restore

        request = RestoreRequest(
            backup=Path(spec["backup"]),
            target_url=target_url,
            ledger_url=ledger_url,
            actor=spec["actor"],
            reason=spec["reason"],
            profile_file=profile,
            media_root=media_root,
            apply=False,
            on_conflict=spec["on_conflict"],
            missing_users=spec["missing_users"],
            uuids=spec["uuids"],
            restore_id=UUID(spec["restore_id"]),
        )
        return dataclasses.asdict(restore(request, progress))
    if action == "apply":
        from application.apply import apply_restore

        outcome = apply_restore(
            spec["restore_id"], target_url, ledger_url, spec["actor"], spec["reason"], True, progress
        )
        return dataclasses.asdict(outcome)
    from application.rollback import rollback_restore

    outcome = rollback_restore(spec["restore_id"], target_url, ledger_url, spec["actor"], spec["reason"], True)
    return dataclasses.asdict(outcome)


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), sys.argv[2]))
