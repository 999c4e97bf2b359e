"""A restore's events saved on a thread of their own (in order, all of them, nothing after a failed save),
and read back without fetching its row events."""

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


def test_reading_a_run_back_fetches_none_of_its_row_events(ledger: str, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = Ledger(ledger, create=True)
    run = started()
    for pk in range(1, 30):
        run.record_rows("app.user", "app_user", ["id"], ["integer"], [[pk]])
    run.finish_recording()
    recorded.save(run)
    fetched: list[str] = []
    select_events = recorded.recorder.select_events

    def spied(*args: object, **kwargs: object) -> object:
        found = select_events(*args, **kwargs)  # type: ignore[arg-type]
        fetched.extend(item.topic for item in found)
        return found

    monkeypatch.setattr(recorded.recorder, "select_events", spied)

    copy = recorded.get_run(str(run.id))

    assert copy.version == run.version and copy.recorded_rows == {"app.user": 29}
    assert fetched and not any(topic.endswith("RowsRecorded") for topic in fetched)
