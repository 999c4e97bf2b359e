"""Replay a recorded restore into another target: the same rows, the same pks and UUIDs."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

from application.apply import Outcome, Refused, failure_of
from application.ledger import Ledger
from application.settle import settle
from infrastructure.target import connect, identity, locked, redact


def replay_restore(
    restore_id: str, target_url: str, ledger_url: str, actor: str, reason: str, media_root: Path | None
) -> Outcome:
    """Record the replay on the restore, let the other target's projection apply its decisions;
    refuse, naming them, when rows the restore mapped onto are not there with the same identity."""
    started = time.monotonic()
    ledger = Ledger(ledger_url)
    engine = connect(target_url)
    try:
        with locked(engine) as conn:
            target_id = identity(engine) or str(uuid4())
            settle(ledger, conn, target_id)
            run = ledger.get_run(restore_id)
            target = {"id": target_id, "url": redact(engine.url), "dialect": engine.dialect.name}
            if media_root is not None:
                target["media_root"] = str(media_root)
            try:
                run.request_replay(target, actor, reason)
            except ValueError as error:
                raise Refused(str(error)) from None
            ledger.save(run)
            failures = settle(ledger, conn, target_id).failures
    finally:
        engine.dispose()
    run = ledger.get_run(restore_id)
    if run.replays.get(target_id) != "replayed":
        raise failure_of(str(run.id), failures, f"the replay of {run.id} was {run.replays.get(target_id)}")
    return Outcome(str(run.id), "replayed", sum(run.recorded_rows.values()), round(time.monotonic() - started, 3))
