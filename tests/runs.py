"""A restore run as the tests of the ledger start it, with no backup or target behind it."""

from __future__ import annotations

from domain.ledger import RestoreRun


def started() -> RestoreRun:
    return RestoreRun(
        backup={"sha256": "0" * 64},
        target={"id": "t1", "url": "sqlite:///x"},
        options={},
        actor="qa",
        reason="test",
        tool_version="0",
        profile_digest="d",
    )
