"""A restore's events saved on a thread of their own: in order, all of them, and nothing after a failed save."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError

from application.ledger import Ledger
from application.saving import DEPTH, BackgroundSaves
from tests.runs import started


def test_every_event_handed_over_is_saved_in_order(ledger: str) -> None:
    recorded = Ledger(ledger, create=True)
    run = started()
    with BackgroundSaves(recorded) as saves:
        for batch in range(4 * DEPTH):
            run.record_rows("app.user", "app_user", ["id"], ["integer"], [[batch * 2 + 1], [batch * 2 + 2]])
            saves.save(run)
        run.finish_recording()
        saves.save(run)
        saves.wait()
        assert not run.pending_events

    copy = recorded.get_run(str(run.id))

    assert copy.version == run.version and copy.recorded_rows == {"app.user": 8 * DEPTH}
    stored = recorded.recorder.select_events(run.id)
    assert [event.originator_version for event in stored] == list(range(1, run.version + 1))


def test_after_a_failed_save_nothing_more_is_saved_and_the_failure_is_raised(ledger: str) -> None:
    recorded = Ledger(ledger, create=True)
    run = started()
    recorded.save(run)
    rival = recorded.get_run(str(run.id))  # another writer takes the run's next version first
    rival.record_rows("app.user", "app_user", ["id"], ["integer"], [[99]])
    recorded.save(rival)

    with pytest.raises(IntegrityError), BackgroundSaves(recorded) as saves:
        run.record_rows("app.user", "app_user", ["id"], ["integer"], [[1]])  # the rival's version
        saves.save(run)
        for pk in range(2, 2 + 2 * DEPTH):
            run.record_rows("app.user", "app_user", ["id"], ["integer"], [[pk]])
            saves.save(run)
        saves.wait()

    copy = recorded.get_run(str(run.id))
    assert copy.version == rival.version and copy.recorded_rows == {"app.user": 1}  # the rival's, nothing after
