"""Saving a restore's events while it is planned: one thread of its own saves them, in order.

Writing a batch of events is mostly work that does not hold the interpreter: the ledger database's
round trips and, on PostgreSQL, the server's inserts. On its own thread it runs beside the planning,
on the second core, instead of between its steps. The events are taken from the run in the caller's
thread (their versions are decided there, in order) and encoded there (JSON, then Zstandard, as the
ledger's ``save`` encodes them), then written by the thread one batch after the other, exactly as
they would have been saved inline. At most ``DEPTH`` batches wait: memory holds
no more events than before. After a failed save nothing more is saved (the ledger holds a prefix
of the run's events, as when a process stops), and its error is raised in the caller's thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from eventsourcing.persistence import StoredEvent

from application.ledger import Ledger
from domain.ledger import RestoreRun

DEPTH = 2  # batches of events handed over and not yet known to be saved


class BackgroundSaves:
    """Saves a run's pending events on a thread of its own; ``wait`` until every one is saved."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="restore-ledger-saves")
        self._saves: deque[Future[None]] = deque()

    def __enter__(self) -> BackgroundSaves:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        """Wait for the saves handed over, whatever happened; raise a save's failure unless another
        error is on its way."""
        self._executor.shutdown(wait=True)
        if kind is None:
            self.wait()

    def save(self, run: RestoreRun) -> None:
        """Encode the run's pending events (JSON, compressed), then hand them to the thread; returns at once
        unless ``DEPTH`` batches wait. Encoded here, where the caller would otherwise wait for the thread:
        the thread only writes them (the ledger's ``save``: encode, then insert)."""
        events = run.collect_events()
        if not events:
            return
        stored = [self._ledger.mapper.to_stored_event(event) for event in events]
        previous = self._saves[-1] if self._saves else None
        self._saves.append(self._executor.submit(self._save, previous, stored))
        while len(self._saves) > DEPTH:
            self._saves.popleft().result()

    def wait(self) -> None:
        """Return once every event handed over is saved; raise the first save's failure."""
        while self._saves:
            self._saves.popleft().result()

    def _save(self, previous: Future[None] | None, events: Sequence[StoredEvent]) -> None:
        failure = previous.exception() if previous is not None else None
        if failure is not None:
            raise failure  # an earlier save failed: these events are not saved after the gap it left
        self._ledger.recorder.insert_events(events)
