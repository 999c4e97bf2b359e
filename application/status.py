"""The state of each restore of a target, and how far its projection is behind the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from application.ledger import Ledger
from application.report import summaries
from application.settle import target_id_for
from domain.ledger import APPLYING, RECORDING, ROLLING_BACK
from infrastructure.projection import Projection
from infrastructure.target import applied_in_target, connect, is_locked


@dataclass
class TargetStatus:
    target_id: str | None
    busy: bool
    position: int
    ledger_head: int
    pending: list[dict[str, Any]] = field(default_factory=list)
    restores: list[dict[str, Any]] = field(default_factory=list)


def target_status(target_url: str, ledger_url: str) -> TargetStatus:
    ledger = Ledger(ledger_url)
    engine = connect(target_url)
    try:
        target_id = target_id_for(ledger, engine)
        busy = is_locked(engine)
        done = {(e["restore_id"], e["action"]) for e in applied_in_target(engine)}
        with engine.connect() as conn:
            projection = Projection(conn, ledger, target_id or "")
            position = projection.position()
            pending = [
                {"restore_id": str(event.originator_id), "action": action, "notification_id": notification_id}
                for notification_id, event, action in projection.pending()
            ]
    finally:
        engine.dispose()
    restores = []
    for run in summaries(ledger):
        replay = run["replays"].get(target_id or "")
        if run["target"]["id"] != target_id and replay is None:
            continue
        state = run["status"] if replay is None else f"replay {replay['status']}"
        note = ""
        if run["status"] == RECORDING and not busy:
            note = "interrupted: the next restore, apply or rollback of this target records it as failed"
        elif run["status"] in (APPLYING, ROLLING_BACK):
            action = "apply" if run["status"] == APPLYING else "rollback"
            if (run["restore_id"], action) in done:
                note = "done in the target; the ledger records it at the next command on this target"
            elif not busy:
                note = "interrupted: the next command on this target finishes it"
        restores.append(
            {"restore_id": run["restore_id"], "started_at": run["started_at"], "status": state, "note": note}
        )
    head = ledger.recorder.max_notification_id() or 0
    return TargetStatus(target_id, busy, position, head, pending, restores)
