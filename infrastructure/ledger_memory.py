"""The in-memory ledger (a dry run's): the library's recorder, with the reading of a run's topics that the
SQLite and PostgreSQL ledgers have (``ChainReader.topics``)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory


class TopicsRecorder(POPOApplicationRecorder):
    def topics(self, originator_id: UUID, after: int, limit: int) -> list[tuple[int, str]]:
        """(version, topic) of a run's events after version ``after``."""
        return [(e.originator_version, e.topic) for e in self.select_events(originator_id, gt=after, limit=limit)]


class MemoryFactory(POPOFactory):
    def application_recorder(self) -> ApplicationRecorder:
        return TopicsRecorder()
