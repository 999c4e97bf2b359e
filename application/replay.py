"""Replay a recorded restore into another target: the same rows, the same pks and UUIDs."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

from application.apply import Outcome
from application.intents import carry_out
from application.ledger import Ledger
from application.progress import Progress
from infrastructure.projection import REPLAY
from infrastructure.target import connect, identity, redact


def replay_restore(
    restore_id: str,
    target_url: str,
    ledger_url: str,
    actor: str,
    reason: str,
    media_root: Path | None,
    progress: Progress | None = None,
) -> Outcome:
    """Record the replay on the restore, let the other target's projection apply its decisions;
    refuse, naming them, when rows the restore mapped onto are not there with the same identity."""
    started = time.monotonic()
    ledger = Ledger(ledger_url)
    engine = connect(target_url)
    try:
        target_id = identity(engine) or str(uuid4())
        target = {"id": target_id, "url": redact(engine.url), "dialect": engine.dialect.name}
        if media_root is not None:
            target["media_root"] = str(media_root.resolve())
        run = carry_out(
            ledger,
            engine,
            target_id,
            restore_id,
            REPLAY,
            lambda r: r.request_replay(target, actor, reason),
            lambda r: r.replays.get(target_id) == "replayed",
            actor,
            reason,
            progress,
        )
    finally:
        engine.dispose()
    return Outcome.of(run, "replayed", started)
