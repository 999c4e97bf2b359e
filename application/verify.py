"""Verify the ledger: recompute its chain from the stored events, check a signed checkpoint, and
compare a target's record of what it carried out with the ledger's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from application.ledger import Ledger
from domain.ledger import RestoreRun
from infrastructure.ledger_chain import ChainReader
from infrastructure.ledger_verify import TARGET, Finding, Stored, Verification, ledger_entries, run_findings
from infrastructure.signing import SigningError, verified_payload
from infrastructure.target import applied_in_target, connect, identity

INTENTS = {
    get_topic(RestoreRun.ApplyRequested): "apply",
    get_topic(RestoreRun.RollbackStarted): "rollback",
    get_topic(RestoreRun.ReplayRequested): "replay",
}
OUTCOMES = {
    get_topic(cls) for cls in (RestoreRun.Started, RestoreRun.Applied, RestoreRun.RolledBack, RestoreRun.Replayed)
}


@dataclass
class VerifyResult:
    size: int
    root: str
    events: int
    findings: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    target: str | None = None

    @property
    def ok(self) -> bool:
        return not self.findings


def load_checkpoint(checkpoint: Path, public_key: Path) -> dict[str, Any]:
    try:
        signed = json.loads(checkpoint.read_text())
    except (OSError, ValueError) as error:
        raise SigningError(f"the checkpoint {str(checkpoint)!r} cannot be read: {error}") from None
    return verified_payload(signed, public_key)


def verify_ledger(
    ledger_url: str, target_url: str | None = None, checkpoint: Path | None = None, public_key: Path | None = None
) -> VerifyResult:
    """Every event against its chain row, the chain itself, each run's versions; optionally a
    signed checkpoint (consistency) and a target's ``restore_ledger_applied`` rows."""
    signed = load_checkpoint(checkpoint, public_key) if checkpoint and public_key else None
    ledger = Ledger(ledger_url)
    verification = Verification()
    if signed:
        verification.expect(signed["subtrees"])
    record = _TargetRecord(ledger) if target_url else None
    for event, link in ledger_entries(ledger.recorder):
        verification.add(event, link)
        if record is not None and event is not None:
            record.see(event)
    verification.finish()
    if signed:
        verification.check_checkpoint(signed["size"])
    if record is not None and target_url is not None:
        verification.findings += record.compare(target_url)
    return _result(verification, signed, target_url)


def _result(verification: Verification, signed: dict[str, Any] | None, target: str | None) -> VerifyResult:
    return VerifyResult(
        size=verification.tree.size,
        root=verification.tree.root().hex(),
        events=verification.events,
        findings=[f.to_dict() for f in verification.findings],
        checkpoint={k: signed[k] for k in ("size", "root", "created_at")} if signed else None,
        target=target,
    )


class _TargetRecord:
    """What the ledger says was carried out where, to hold a target's own record against."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.intents: dict[int, tuple[str, str]] = {}  # notification id -> (restore id, action)
        self.targets: dict[str, str] = {}  # restore id -> its target id
        self.final: dict[tuple[str, str], tuple[str, int]] = {}  # (restore, target) -> (state, position)

    def see(self, stored: Stored) -> None:
        if stored.topic in INTENTS:
            self.intents[stored.notification_id] = (stored.originator_id, INTENTS[stored.topic])
        if stored.topic not in OUTCOMES:
            return
        event: Any = self.ledger.mapper.to_domain_event(_notification(stored))
        rid = stored.originator_id
        if isinstance(event, RestoreRun.Started):
            self.targets[rid] = event.target["id"]
        elif isinstance(event, RestoreRun.Applied):
            self.final[(rid, self.targets.get(rid, ""))] = ("apply", event.position)
        elif isinstance(event, RestoreRun.RolledBack):
            self.final[(rid, self.targets.get(rid, ""))] = ("rollback", event.position)
        elif isinstance(event, RestoreRun.Replayed):
            self.final[(rid, event.target_id)] = ("replay", event.position)

    def compare(self, target_url: str) -> list[Finding]:
        engine = connect(target_url)
        try:
            target_id = identity(engine)
            rows = applied_in_target(engine)
        finally:
            engine.dispose()
        findings = []
        done = {(row["restore_id"], row["action"], int(row["notification_id"])) for row in rows}
        for rid, action, position in sorted(done, key=lambda item: item[2]):
            if self.intents.get(position) != (rid, action):
                findings.append(
                    Finding(
                        TARGET,
                        f"the target records that it carried out {action} of this restore "
                        f"at ledger position {position}; the ledger holds no such intent there",
                        None,
                        position,
                        rid,
                    )
                )
        for (rid, tid), (action, position) in self.final.items():
            if tid == target_id and action in ("apply", "replay") and (rid, action, position) not in done:
                findings.append(
                    Finding(
                        TARGET,
                        f"the ledger records {action} of this restore into this target at "
                        f"ledger position {position}; the target has no record of it",
                        None,
                        position,
                        rid,
                    )
                )
        return findings


def _notification(stored: Stored) -> Any:
    from eventsourcing.persistence import Notification

    return Notification(
        id=stored.notification_id,
        originator_id=UUID(stored.originator_id),
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=stored.state,
    )


def verify_run(ledger: Ledger, restore_id: UUID) -> list[Finding]:
    return run_findings(ledger.recorder, restore_id)


def ledger_head(ledger: Ledger) -> tuple[int, str]:
    """The size and Merkle root of the ledger as its chain records it (cheap: stored leaves)."""
    from infrastructure.ledger_chain import MerkleTree
    from infrastructure.ledger_verify import chain_rows

    tree = MerkleTree()
    if isinstance(ledger.recorder, ChainReader):
        for link in chain_rows(ledger.recorder):
            tree.push(link.leaf)
    return tree.size, tree.root().hex()


def head_of(ledger_url: str) -> dict[str, Any]:
    size, root = ledger_head(Ledger(ledger_url))
    return {"size": size, "root": root}


def seal_ledger(ledger_url: str) -> int:
    """Chain every event of a ledger recorded before chains existed (none may be chained yet): its
    tamper evidence starts now, and the chain rows say by whom. The number of events chained."""
    ledger = Ledger(ledger_url)
    if not isinstance(ledger.recorder, ChainReader):
        return 0
    return ledger.recorder.seal()
