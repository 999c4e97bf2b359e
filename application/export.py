"""Export the ledger as JSON Lines with every event's chain row, and verify such a file offline."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from application.ledger import Ledger
from application.verify import VerifyResult, _result, load_checkpoint
from infrastructure.ledger_chain import Link
from infrastructure.ledger_verify import Stored, Verification, ledger_entries
from infrastructure.signing import SigningError

FORMAT = "restore-ledger export 1"


def export_ledger(ledger_url: str, out: Path) -> dict[str, Any]:
    """One line per event, in ledger order: the stored event (state base64) and its chain row."""
    ledger = Ledger(ledger_url)
    verification = Verification()
    with out.open("w") as sink:
        sink.write(json.dumps({"format": FORMAT}) + "\n")
        for event, link in ledger_entries(ledger.recorder):
            verification.add(event, link)
            line: dict[str, Any] = {}
            if event is not None:
                line["event"] = {
                    "notification_id": event.notification_id,
                    "originator_id": event.originator_id,
                    "originator_version": event.originator_version,
                    "topic": event.topic,
                    "state": base64.b64encode(event.state).decode(),
                }
            if link is not None:
                line["chain"] = {
                    "position": link.position,
                    "notification_id": link.notification_id,
                    "originator_id": link.originator_id,
                    "originator_version": link.originator_version,
                    "topic": link.topic,
                    "recorded_at": link.recorded_at,
                    "context": link.context,
                    "leaf": link.leaf.hex(),
                    "chain": link.chain.hex(),
                }
            sink.write(json.dumps(line, separators=(",", ":")) + "\n")
    return {"events": verification.events, "size": verification.tree.size, "root": verification.tree.root().hex()}


def _entries(path: Path) -> Iterator[tuple[Stored | None, Link | None]]:
    with path.open() as source:
        header = json.loads(source.readline() or "{}")
        if header.get("format") != FORMAT:
            raise SigningError(f"{str(path)!r} is not a restore-ledger export")
        for number, text in enumerate(source, start=2):
            try:
                line = json.loads(text)
                event, chain = line.get("event"), line.get("chain")
                yield (
                    Stored(
                        event["notification_id"],
                        event["originator_id"],
                        event["originator_version"],
                        event["topic"],
                        base64.b64decode(event["state"]),
                    )
                    if event
                    else None,
                    Link(
                        chain["position"],
                        chain["notification_id"],
                        chain["originator_id"],
                        chain["originator_version"],
                        chain["topic"],
                        chain["recorded_at"],
                        chain["context"],
                        bytes.fromhex(chain["leaf"]),
                        bytes.fromhex(chain["chain"]),
                    )
                    if chain
                    else None,
                )
            except (ValueError, KeyError, TypeError) as error:
                raise SigningError(f"line {number} of {str(path)!r} is not an exported event: {error}") from None


def verify_export(path: Path, checkpoint: Path | None = None, public_key: Path | None = None) -> VerifyResult:
    """The checks of ``ledger verify``, on an exported file, without the database."""
    signed = load_checkpoint(checkpoint, public_key) if checkpoint and public_key else None
    verification = Verification()
    if signed:
        verification.expect(signed["subtrees"])
    try:
        verification.check(_entries(path))
    except OSError as error:
        raise SigningError(f"the export {str(path)!r} cannot be read: {error.strerror}") from None
    if signed:
        verification.check_checkpoint(signed["size"])
    return _result(verification, signed, None)
