"""The state of every restore the ledger knows for a target, and for each the next command to run.

Read only: neither the ledger nor the target is created, migrated or written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from application.guard import identify
from application.ledger import Ledger
from application.report import summaries
from application.settle import target_id_for
from domain.ledger import APPLIED, APPLYING, FAILED, PLANNED, RECORDING, ROLLED_BACK, ROLLING_BACK
from infrastructure.projection import APPLY, Projection
from infrastructure.target import applied_in_target, connect, is_locked, redact


@dataclass
class TargetStatus:
    target_id: str | None
    url: str
    ledger: str
    busy: bool
    position: int  # the last ledger notification this target carried out
    ledger_head: int
    adopted_from: str | None = None
    warnings: list[str] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    restores: list[dict[str, Any]] = field(default_factory=list)


def target_status(target_url: str, ledger_url: str) -> TargetStatus:
    ledger = Ledger(ledger_url)
    engine = connect(target_url)
    url = redact(engine.url)
    try:
        target_id = target_id_for(ledger, engine)
        busy = is_locked(engine)
        applied = applied_in_target(engine)
        with engine.connect() as conn:
            identity = identify(ledger, conn, target_id)
            problem = identity.problem(ledger, url)
            projection = Projection(conn, ledger, target_id or "")
            position = projection.position()
            pending = [
                {"restore_id": str(event.originator_id), "action": action, "notification_id": notification_id}
                for notification_id, event, action in (projection.pending() if problem is None else ())
            ]
    finally:
        engine.dispose()
    runs = summaries(ledger)
    mine = _target_ids(ledger, runs, identity.fingerprint, target_id)
    status = TargetStatus(
        target_id,
        url,
        ledger.location,
        busy,
        position,
        ledger.recorder.max_notification_id() or 0,
        identity.registration.adopted_from if identity.registration else None,
        [problem] if problem else [],
        pending,
    )
    done = {(entry["restore_id"], entry["action"]) for entry in applied}
    for run in runs:
        replay = next((run["replays"][t] for t in mine if t in run["replays"]), None)
        if run["target"]["id"] in mine or (replay is None and run["target"]["url"] == url and target_id is None):
            status.restores.append(_restore_line(run, None, done, busy, url, ledger.location))
        elif replay is not None:
            status.restores.append(_restore_line(run, replay, done, busy, url, ledger.location))
    if problem is None:
        status.warnings += _disagreements(runs, applied, status.restores)
    else:
        for line in status.restores:
            line["next"] = ""
    return status


def _target_ids(ledger: Ledger, runs: list[dict[str, Any]], fingerprint: dict[str, Any], own: str | None) -> set[str]:
    """Every id the ledger gave to this database: its own, and those of restores that never reached it."""
    ids = {own} if own else set()
    for run in runs:
        for candidate in (run["target"]["id"], *run["replays"]):
            registration = ledger.registration(candidate)
            if registration is not None and registration.is_of(fingerprint):
                ids.add(candidate)
    return ids


def _restore_line(
    run: dict[str, Any], replay: dict[str, Any] | None, done: set[tuple[str, str]], busy: bool, url: str, ledger: str
) -> dict[str, Any]:
    restore_id, state = run["restore_id"], run["status"] if replay is None else f"replay {replay['status']}"
    where = f"--target '{url}' --ledger '{ledger}'"
    note, next_step = "", ""
    if replay is not None:
        if replay["status"] == "requested" and not busy:
            next_step = f"restore-ledger replay {restore_id} {where} --reason ..."
        elif replay["status"] == "refused":
            next_step = f"fix what the refusal names, then: restore-ledger replay {restore_id} {where} --reason ..."
    elif run["status"] == RECORDING:
        note = "recording now" if busy else "interrupted while recording"
        next_step = (
            "" if busy else f"restore-ledger restore {run['backup']['path']} {where} (records this one as failed)"
        )
    elif run["status"] == PLANNED:
        review = f"restore-ledger ledger show {restore_id} --decisions"
        next_step = f"review: {review}; then restore-ledger apply {restore_id} {where}"
    elif run["status"] in (APPLYING, ROLLING_BACK):
        action = "apply" if run["status"] == APPLYING else "rollback"
        if (restore_id, action) in done:
            note = "done in the target; the ledger records it at the next command on this target"
        elif not busy:
            note = "interrupted: the next command on this target finishes it"
        if not busy:
            next_step = f"restore-ledger {action} {restore_id} {where}"
    elif run["status"] == APPLIED:
        next_step = f"nothing to do; to undo it: restore-ledger rollback {restore_id} {where} --reason ..."
    elif run["status"] == ROLLED_BACK:
        next_step = f"nothing to do; to roll it forward: restore-ledger apply {restore_id} {where} --reason ..."
    elif run["status"] == FAILED:
        next_step = f"fix the cause, then: restore-ledger restore {run['backup']['path']} {where} --reason ..."
    refusal = next((h for h in reversed(run["history"]) if h["event"].endswith("Refused")), None)
    return {
        "restore_id": restore_id,
        "started_at": run["started_at"],
        "status": state,
        "actor": run["actor"],
        "reason": run["reason"],
        "backup": run["backup"].get("path"),
        "failure": run.get("failure"),
        "last_refusal": refusal,
        "note": note,
        "next": next_step,
    }


def _disagreements(
    runs: list[dict[str, Any]], applied: list[dict[str, Any]], listed: list[dict[str, Any]]
) -> list[str]:
    """Where the target and the ledger do not tell the same story."""
    warnings = []
    known = {run["restore_id"] for run in runs}
    strangers = sorted({entry["restore_id"] for entry in applied} - known)
    if strangers:
        warnings.append(
            f"the target holds {len(strangers)} restores this ledger does not know ({', '.join(strangers[:3])}"
            f"{' ...' if len(strangers) > 3 else ''}): they were applied through another ledger"
        )
    in_target = {entry["restore_id"] for entry in applied if entry["action"] == APPLY}
    missing = [r["restore_id"] for r in listed if r["status"] == APPLIED and r["restore_id"] not in in_target]
    if missing:
        warnings.append(
            f"the ledger records {len(missing)} restores as applied to this target that the target has no "
            f"record of ({', '.join(missing[:3])}): is this the database they were applied to?"
        )
    return warnings
