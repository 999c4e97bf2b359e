"""The ledger application: where restore runs are recorded, in its own database."""

from __future__ import annotations

import zlib
from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.errors import RestoreError
from domain.ledger import STATELESS, RestoreRun
from domain.targets import LEDGER_IDENTITY, LedgerIdentity, TargetRegistration
from infrastructure.ledger_chain import run_topics, stored_at
from infrastructure.ledger_store import KEY_FILE_VARIABLE, KEY_VARIABLE, ledger_location, ledger_settings
from infrastructure.ledger_verify import check_run

READ_PAGE = 100
_STATELESS_TOPICS = frozenset(get_topic(cls) for cls in STATELESS)
_ROWS_TOPIC = get_topic(RestoreRun.RowsRecorded)
_NOT_DECODED = _STATELESS_TOPICS | {_ROWS_TOPIC}


class RestoreNotFoundError(RestoreError):
    stage = "ledger"

    def __init__(self, restore_id: str) -> None:
        super().__init__(f"no restore {restore_id} in this ledger")


class LedgerKeyError(RestoreError):
    stage = "ledger"


class Ledger(Application[UUID]):
    """Restore runs, each an aggregate whose events are the restore's decisions."""

    name = "RestoreLedger"

    def __init__(self, url: str, create: bool = False) -> None:
        """The ledger at ``url``; unless ``create``, it must exist (a typo creates nothing)."""
        with ledger_settings(url, create) as env:
            super().__init__(env=env)
        self.url = url
        self.location = ledger_location(url)
        if create and url != "memory:":
            self.ledger_id()

    def ledger_id(self) -> str:
        """The ledger's own id, made the first time a command writes through it."""
        found = self.known_ledger_id()
        if found is not None:
            return found
        with suppress(IntegrityError):  # another process may make it first
            self.save(LedgerIdentity.new())
        identity: LedgerIdentity = self.repository.get(LEDGER_IDENTITY)
        return identity.ledger_id

    def known_ledger_id(self) -> str | None:
        try:
            identity: LedgerIdentity = self.repository.get(LEDGER_IDENTITY)
        except AggregateNotFoundError:
            return None
        return identity.ledger_id

    def registration(self, target_id: str) -> TargetRegistration | None:
        """The database the target id was given to, if the ledger registered it."""
        try:
            found: TargetRegistration = self.repository.get(UUID(target_id))
        except (AggregateNotFoundError, ValueError):
            return None
        return found if isinstance(found, TargetRegistration) else None

    def check_readable(self, restore_id: UUID | None = None) -> None:
        """The first event (of the ledger, or of a restore) decodes: else that event was changed (its
        finding is named), or the ledger is encrypted and no key, or another key, was given.
        Verification itself needs no key."""
        probe = (
            self.recorder.select_events(restore_id, limit=1)
            if restore_id
            else self.recorder.select_notifications(None, 1)
        )
        for first in probe:
            try:
                self.mapper.to_domain_event(first)
            except (ValueError, zlib.error):
                check_run(self.recorder, UUID(str(first.originator_id)))
                raise LedgerKeyError(
                    f"the ledger's events cannot be read: it is encrypted, and {KEY_VARIABLE} or {KEY_FILE_VARIABLE} "
                    "gives no key or another key than the one it was written with"
                ) from None

    def get_run(self, restore_id: UUID | str) -> RestoreRun:
        key = _key(restore_id)
        try:
            run = self._read_run(key)
        except (ValueError, TypeError, KeyError, zlib.error):
            check_run(self.recorder, key)  # an event that cannot be read was changed: name it
            self.check_readable(key)
            raise
        if not isinstance(run, RestoreRun):
            raise RestoreNotFoundError(str(restore_id))
        return run

    def _read_run(self, key: UUID) -> Any:
        """The aggregate from its events, page by page, decoding only the events that change its state:
        the row events are most of a run, and of the time reading it back (see ``STATELESS``); their
        bytes are not even fetched (their topics are read first)."""
        aggregate: Any = None
        rows: list[int] = []  # versions of RowsRecorded events not decoded, counted unless Recorded follows
        version = 0
        while headers := run_topics(self.recorder, key, version, READ_PAGE):
            wanted = [v for v, topic in headers if topic not in _NOT_DECODED or (aggregate is None and v == 1)]
            stored = {item.originator_version: item for item in stored_at(self.recorder, key, wanted)}
            for version, topic in headers:
                if version not in stored:
                    if topic == _ROWS_TOPIC:
                        rows.append(version)
                    aggregate.version = version
                    continue
                event: Any = self.mapper.to_domain_event(stored[version])
                if isinstance(event, RestoreRun.Recorded):
                    rows = []
                aggregate = event.mutate(aggregate)
        for skipped in rows:  # a run still recording, or failed before it was planned
            [item] = self.recorder.select_events(key, gt=skipped - 1, lte=skipped)
            counted: Any = self.mapper.to_domain_event(item)
            counted.apply(aggregate)
        return aggregate

    def run_id(self, restore_id: UUID | str) -> UUID:
        """The id of a restore the ledger holds, without reading its events."""
        key = _key(restore_id)
        if not self.recorder.select_events(key, limit=1):
            raise RestoreNotFoundError(str(restore_id))
        self.check_readable(key)
        return key

    def check_run(self, restore_id: UUID | str) -> None:
        """Refuse, naming the findings, when the restore's events fail verification."""
        check_run(self.recorder, _key(restore_id))


def _key(restore_id: UUID | str) -> UUID:
    try:
        return restore_id if isinstance(restore_id, UUID) else UUID(restore_id)
    except ValueError:
        raise RestoreNotFoundError(str(restore_id)) from None


def tool_version() -> str:
    try:
        return version("restore-ledger")
    except PackageNotFoundError:
        return "unknown"
