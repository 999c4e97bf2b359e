"""Recompute the ledger's chain from its stored events and name every disagreement.

The checks run over a stream of entries in notification-id order, each an event, its chain
row, or both; memory stays bounded by the number of runs and of findings. The same checks
serve the live ledger (both backends) and an exported file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

from domain.errors import RestoreError
from infrastructure.ledger_chain import GENESIS, ChainReader, Link, MerkleTree, chain_hash, leaf_hash

PAGE = 200
STATES_PAGE = 500  # a run's events per read when it is verified (row batches: tens of KB each)

CHANGED, DELETED, INSERTED, REORDERED, CHAIN, GAP, CHECKPOINT, TARGET = (
    "changed",
    "deleted",
    "inserted",
    "reordered",
    "chain broken",
    "version gap",
    "checkpoint",
    "target",
)


@dataclass(frozen=True)
class Stored:
    """An event as the ledger stores it."""

    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


@dataclass
class Finding:
    kind: str
    detail: str
    position: int | None = None
    notification_id: int | None = None
    restore_id: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        where = [
            f"position {self.position}" if self.position is not None else "",
            f"notification id {self.notification_id}" if self.notification_id is not None else "",
            f"restore {self.restore_id}" if self.restore_id else "",
            f"version {self.version}" if self.version is not None else "",
        ]
        place = ", ".join(w for w in where if w)
        return f"{self.kind}{f' at {place}' if place else ''}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LedgerTampered(RestoreError):
    """The ledger fails verification: no command acts on it."""

    stage = "verify"

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        shown = "; ".join(str(f) for f in findings[:3]) + (
            f"; and {len(findings) - 3} more" if len(findings) > 3 else ""
        )
        super().__init__(
            f"the ledger fails verification, so nothing was done: {shown} (see `restore-ledger ledger verify`)"
        )


def leaf_of(event: Stored, link: Link) -> bytes:
    return leaf_hash(
        event.topic, event.originator_id, event.originator_version, event.state, link.recorded_at, link.context
    )


def _name(topic: str) -> str:
    return topic.rsplit(".", 1)[-1]


@dataclass
class Verification:
    """Checks over entries in ledger order; ``tree`` is the Merkle tree of the recomputed leaves."""

    findings: list[Finding] = field(default_factory=list)
    tree: MerkleTree = field(default_factory=MerkleTree)
    covered: dict[int, dict[str, Any]] = field(default_factory=dict)  # a checkpoint's subtrees by last position
    differing: list[dict[str, Any]] = field(default_factory=list)
    events: int = 0
    position: int = 0
    previous: bytes = GENESIS
    versions: dict[str, int] = field(default_factory=dict)
    misplaced: dict[tuple[str, int], int] = field(default_factory=dict)  # (run, version) -> notification id
    linked_at: dict[tuple[str, int], int] = field(default_factory=dict)  # of chain rows naming another event

    def expect(self, subtrees: list[dict[str, Any]]) -> None:
        """A checkpoint's perfect subtrees, to compare as the leaves stream past their last position."""
        self.covered = {s["first"] + s["leaves"] - 1: s for s in subtrees}

    def _push(self, leaf: bytes) -> None:
        self.tree.push(leaf)
        signed = self.covered.get(self.tree.size)
        if signed is not None and self.tree.stack[-1][2].hex() != signed["hash"]:
            self.differing.append(signed)

    def add(self, event: Stored | None, link: Link | None) -> None:
        if event is not None:
            self.events += 1
        if link is None:
            assert event is not None
            self._finding(
                INSERTED,
                f"an event without a chain row: it was not recorded by restore-ledger ({_name(event.topic)})",
                None,
                event,
            )
            self._version(event.originator_id, event.originator_version, None, event.notification_id)
            return
        broken = self._link(link)
        if event is None:
            self._finding(
                DELETED, f"the chain records {_name(link.topic)} here; the ledger no longer holds it", link, None
            )
            self._push(link.leaf)
            self._version(link.originator_id, link.originator_version, link.position, link.notification_id)
            return
        leaf = leaf_of(event, link)
        self._push(leaf)
        if (event.originator_id, event.originator_version) != (link.originator_id, link.originator_version):
            self.misplaced[(event.originator_id, event.originator_version)] = event.notification_id
            self.linked_at[(link.originator_id, link.originator_version)] = link.position
            self._finding(
                CHANGED,
                f"the chain records version {link.originator_version} of restore "
                f"{link.originator_id} here, the ledger holds version {event.originator_version} of "
                f"restore {event.originator_id}",
                link,
                event,
            )
        elif event.topic != link.topic:
            self._finding(
                CHANGED, f"the event's type was changed from {_name(link.topic)} to {_name(event.topic)}", link, event
            )
        elif leaf != link.leaf:
            self._finding(
                CHANGED, f"the stored {_name(event.topic)} event was changed after it was recorded", link, event
            )
        elif broken:
            self._finding(
                CHAIN,
                f"the {_name(event.topic)} event and its leaf hash were changed together: the chain does not link here",
                link,
                event,
            )
        self._version(event.originator_id, event.originator_version, link.position, event.notification_id)

    def _link(self, link: Link) -> bool:
        """Check the row's place in the chain; re-synchronise on its stored hash. True when broken."""
        expected = self.position + 1
        broken = False
        if link.position > expected:
            self.findings.append(
                Finding(
                    DELETED, f"chain rows {expected} to {link.position - 1} and their events were removed", expected
                )
            )
        elif link.position < expected:
            self.findings.append(
                Finding(
                    REORDERED,
                    f"chain row {link.position} appears after row {self.position}",
                    link.position,
                    link.notification_id,
                    link.originator_id,
                )
            )
        else:
            broken = chain_hash(self.previous, link.leaf) != link.chain
        self.position, self.previous = max(self.position, link.position), link.chain
        return broken

    def _version(self, restore_id: str, version: int, position: int | None, notification_id: int) -> None:
        last = self.versions.get(restore_id, 0)
        if version > last + 1:
            self.findings.append(
                Finding(
                    GAP,
                    f"versions {last + 1} to {version - 1} of the restore are missing",
                    position,
                    notification_id,
                    restore_id,
                    version,
                )
            )
        elif version <= last:
            self.findings.append(
                Finding(
                    REORDERED,
                    f"version {version} follows version {last} of the restore",
                    position,
                    notification_id,
                    restore_id,
                    version,
                )
            )
        self.versions[restore_id] = max(last, version)

    def _finding(self, kind: str, detail: str, link: Link | None, event: Stored | None) -> None:
        restore_id = event.originator_id if event else link.originator_id if link else None
        version = event.originator_version if event else link.originator_version if link else None
        notification_id = event.notification_id if event else link.notification_id if link else None
        position = link.position if link else None
        self.findings.append(Finding(kind, detail, position, notification_id, restore_id, version))

    def finish(self) -> None:
        """Events found at another event's place in the chain were moved, not changed."""
        for finding in self.findings:
            key = (finding.restore_id or "", finding.version or 0)
            if finding.kind == CHANGED and key in self.misplaced and key in self.linked_at:
                finding.kind = REORDERED
                finding.detail = (
                    f"this event was recorded at position {self.linked_at[key]} and now stands at "
                    f"notification id {self.misplaced[key]}"
                )

    def check_checkpoint(self, size: int) -> None:
        """The ledger must still begin with exactly the events a signed checkpoint covered (``expect``
        was given its subtrees before the leaves streamed past)."""
        if self.differing:
            where = ", ".join(f"{s['first']} to {s['first'] + s['leaves'] - 1}" for s in self.differing)
            self.findings.append(
                Finding(
                    CHECKPOINT,
                    f"events the checkpoint signed differ (positions {where}): the chain was rewritten",
                    self.differing[0]["first"],
                )
            )
        elif self.tree.size < size:
            self.findings.append(
                Finding(
                    CHECKPOINT,
                    f"the ledger holds {self.tree.size} events, the checkpoint covers {size}: "
                    f"{size - self.tree.size} events it covered are gone (cut off after position "
                    f"{self.tree.size}, or removed and the chain renumbered)",
                    self.tree.size + 1,
                )
            )

    def check(self, entries: Iterable[tuple[Stored | None, Link | None]]) -> Verification:
        for event, link in entries:
            self.add(event, link)
        self.finish()
        return self


def merge(events: Iterator[Stored], links: Iterator[Link]) -> Iterator[tuple[Stored | None, Link | None]]:
    """Events and chain rows side by side, by notification id."""
    event, link = next(events, None), next(links, None)
    while event is not None or link is not None:
        if link is not None and (event is None or link.notification_id < event.notification_id):
            yield None, link
            link = next(links, None)
        elif event is not None and (link is None or event.notification_id < link.notification_id):
            yield event, None
            event = next(events, None)
        else:
            yield event, link
            event, link = next(events, None), next(links, None)


def stored_events(recorder: Any) -> Iterator[Stored]:
    position = 0
    while page := recorder.select_notifications(position, PAGE, inclusive_of_start=False):
        for n in page:
            yield Stored(n.id, str(UUID(str(n.originator_id))), n.originator_version, n.topic, n.state)
            position = n.id


def chain_rows(recorder: ChainReader) -> Iterator[Link]:
    position = 0
    while page := recorder.chain_page(position, PAGE):
        yield from page
        position = page[-1].position


def ledger_entries(recorder: Any) -> Iterator[tuple[Stored | None, Link | None]]:
    return merge(stored_events(recorder), chain_rows(recorder))


def run_findings(recorder: Any, restore_id: UUID) -> list[Finding]:
    """Verify one restore's events and their places in the chain (commands do before using them)."""
    if not isinstance(recorder, ChainReader):
        return []  # the in-memory ledger of a dry run
    links = {link.originator_version: link for link in recorder.chain_of(restore_id)}
    neighbours = recorder.chain_at(sorted({link.position - 1 for link in links.values()} - {0}))
    findings: list[Finding] = []
    rid = str(restore_id)
    version = 0
    while page := recorder.states(restore_id, version, STATES_PAGE):
        for item in page:
            if item.originator_version != version + 1:
                findings.append(
                    Finding(
                        GAP,
                        f"versions {version + 1} to {item.originator_version - 1} of the restore are missing",
                        None,
                        None,
                        rid,
                        item.originator_version,
                    )
                )
            version = item.originator_version
            link = links.pop(version, None)
            topic = item.topic.rsplit(".", 1)[-1]
            if link is None:
                findings.append(Finding(INSERTED, f"an event without a chain row ({topic})", None, None, rid, version))
                continue
            event = Stored(link.notification_id, rid, version, item.topic, item.state)
            previous = neighbours[link.position - 1].chain if link.position > 1 else GENESIS
            if item.topic != link.topic or leaf_of(event, link) != link.leaf:
                findings.append(
                    Finding(
                        CHANGED,
                        f"the stored {topic} event was changed after it was recorded",
                        link.position,
                        link.notification_id,
                        rid,
                        version,
                    )
                )
            elif link.position > 1 and link.position - 1 not in neighbours:
                findings.append(
                    Finding(
                        DELETED,
                        "the chain row before this event's was removed",
                        link.position,
                        link.notification_id,
                        rid,
                        version,
                    )
                )
            elif chain_hash(previous, link.leaf) != link.chain:
                findings.append(
                    Finding(
                        CHAIN,
                        f"the {topic} event and its leaf hash were changed together",
                        link.position,
                        link.notification_id,
                        rid,
                        version,
                    )
                )
    for link in links.values():
        findings.append(
            Finding(
                DELETED,
                f"the chain records {_name(link.topic)} here; the ledger no longer holds it",
                link.position,
                link.notification_id,
                rid,
                link.originator_version,
            )
        )
    return findings


def check_run(recorder: Any, restore_id: UUID) -> None:
    """Refuse, naming the findings, to use a restore whose events fail verification."""
    findings = run_findings(recorder, restore_id)
    if findings:
        raise LedgerTampered(findings)
