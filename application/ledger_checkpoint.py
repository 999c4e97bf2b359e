"""Signed checkpoints of the ledger: its size and Merkle root, signed with Ed25519, in a file kept
outside the ledger's database; and the key pair that signs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from application.ledger import Ledger, tool_version
from infrastructure.ledger_verify import LedgerTampered, Verification, ledger_entries
from infrastructure.signing import make_keys, sign
from infrastructure.target import redact


def keygen(private_file: Path, public_file: Path) -> str:
    return make_keys(private_file, public_file)


def make_checkpoint(ledger_url: str, key_file: Path, out: Path) -> dict[str, Any]:
    """Verify the whole ledger, then sign what it holds now. A ledger that fails is never signed."""
    ledger = Ledger(ledger_url)
    verification = Verification().check(ledger_entries(ledger.recorder))
    if verification.findings:
        raise LedgerTampered(verification.findings)
    payload = {
        "ledger": redact(ledger_url if "://" in ledger_url else f"sqlite:///{ledger_url}"),
        "size": verification.tree.size,
        "root": verification.tree.root().hex(),
        "subtrees": verification.tree.subtrees(),
        "hashing": "RFC 6962 Merkle tree, SHA-256",
        "created_at": datetime.now(UTC).isoformat(),
        "tool_version": tool_version(),
    }
    signed = sign(payload, key_file)
    out.write_text(json.dumps(signed, indent=2) + "\n")
    return signed
