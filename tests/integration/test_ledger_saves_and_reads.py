"""A restore's events saved on a thread of their own (in order, all of them, nothing after a failed save),
read back without fetching its row events, and compressed by Zstandard beside the zlib of earlier ledgers."""

from __future__ import annotations

import zlib

import pytest
from eventsourcing.persistence import IntegrityError

from application.ledger import Ledger
from application.saving import DEPTH, BackgroundSaves
from application.verify import verify_ledger
from infrastructure import ledger_store
from infrastructure.ledger_codec import ZSTD_MAGIC, ZstdCompressor
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


def test_a_ledger_written_with_zlib_reads_and_verifies_alongside_zstandard_events(
    ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as before:  # the compressor of ledgers written before Zstandard
        before.setattr(ledger_store, "COMPRESSOR", "eventsourcing.compressor:ZlibCompressor")
        old = Ledger(ledger, create=True)
        run = started()
        run.record_rows("app.user", "app_user", ["id", "name"], ["integer", "text"], [[1, "ann"], [2, "bob"]])
        old.save(run)
    recorded = Ledger(ledger)
    run = recorded.get_run(str(run.id))
    run.record_rows("app.user", "app_user", ["id", "name"], ["integer", "text"], [[3, "cy"]])
    run.finish_recording()
    recorded.save(run)

    states = [stored.state for stored in recorded.recorder.select_events(run.id)]
    copy = Ledger(ledger).get_run(str(run.id))

    assert [state.startswith(ZSTD_MAGIC) for state in states] == [False, False, True, True]
    assert copy.version == run.version and copy.recorded_rows == {"app.user": 3}
    assert verify_ledger(ledger).findings == []


def test_a_damaged_zstandard_state_is_a_damaged_state() -> None:
    codec = ZstdCompressor()
    state = codec.compress(b'{"rows": [[1]]}' * 100)

    assert codec.decompress(state) == b'{"rows": [[1]]}' * 100
    with pytest.raises(zlib.error, match="damaged Zstandard frame"):
        codec.decompress(state[:-8])
