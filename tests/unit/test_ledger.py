"""The restore run aggregate, on the library's in-memory persistence."""

from __future__ import annotations

from dataclasses import replace

import pytest

from application.ledger import Ledger, RestoreNotFoundError
from domain.ledger import APPLIED, FAILED, PLANNED, ROLLED_BACK, RestoreRun
from tests.runs import started


def test_a_run_goes_from_recording_to_applied_and_back_and_forth() -> None:
    ledger = Ledger("memory:")
    run = started()
    run.record_rows("app.user", "app_user", ["id"], ["integer"], [[1], [2]])
    run.finish_recording()
    assert run.status == PLANNED
    run.request_apply("qa", "go")
    run.complete(position=5, duration=0.1)
    run.start_rollback("qa", "wrong one")
    run.finish_rollback(position=7, duration=0.1)
    assert run.status == ROLLED_BACK
    run.request_apply("qa", "after all")
    run.complete(position=9, duration=0.1)
    ledger.save(run)

    copy = ledger.get_run(str(run.id))

    assert copy.status == APPLIED and copy.recorded_rows == {"app.user": 2}
    assert not hasattr(copy, "rows")  # row data stays in the events, never in the state


def test_commands_out_of_order_are_refused_before_any_event() -> None:
    run = started()
    with pytest.raises(ValueError, match="only an applied restore can be rolled back"):
        run.start_rollback("qa", "too early")
    run.fail("plan", "bad reference", "record 3")
    assert run.status == FAILED
    with pytest.raises(ValueError, match="not recording"):
        run.record_rows("a", "a", [], [], [])
    assert [type(e).__name__ for e in run.collect_events()] == ["Started", "Failed"]


def test_an_unknown_restore_is_named() -> None:
    with pytest.raises(RestoreNotFoundError, match="no restore nonsense in this ledger"):
        Ledger("memory:").get_run("nonsense")


def test_a_run_read_back_without_its_row_events_has_the_state_of_a_full_read() -> None:
    ledger = Ledger("memory:")
    recording = started()
    recording.record_rows("app.user", "app_user", ["id"], ["integer"], [[1], [2]])
    recording.defer_references("app.user", "app_user", "id", "boss_id", [[1, 2]])
    recording.record_media([{"path": "a.txt", "sha256": "0" * 64, "size": 1}])
    ledger.save(recording)
    still_recording = ledger.get_run(str(recording.id))
    assert still_recording.recorded_rows == {"app.user": 2}  # no Recorded yet: the row events are counted

    planned = ledger.get_run(str(recording.id))
    planned.record_rows("app.group", "app_group", ["id"], ["integer"], [[7]])
    planned.finish_recording()
    planned.request_apply("qa", "go")
    planned.digest_rows("app_user", ["id"], [[1, 2]], 2, "f" * 64)
    planned.complete(position=5, duration=0.1)
    ledger.save(planned)

    fast = ledger.get_run(str(recording.id))
    full: RestoreRun = ledger.repository.get(recording.id)
    assert vars(fast).keys() == vars(full).keys()
    assert {k: v for k, v in vars(fast).items() if k != "_modified_on"} == {
        k: v for k, v in vars(full).items() if k != "_modified_on"
    }
    assert fast.recorded_rows == {"app.user": 2, "app.group": 1} and fast.status == APPLIED
    fast.start_rollback("qa", "the version is right: the next save follows on")
    ledger.save(fast)
    assert ledger.get_run(str(recording.id)).version == fast.version


def test_a_rows_digested_event_recorded_before_its_form_was_reads_as_read_back() -> None:
    ledger = Ledger("memory:")
    run = started()
    run.record_rows("app.user", "app_user", ["id"], ["integer"], [[1], [2]])
    run.finish_recording()
    run.request_apply("qa", "go")
    run.digest_rows("app_user", ["id"], [[1, 2]], 2, "a" * 64, "written", ["integer"])
    ledger.save(run)
    [stored] = [e for e in ledger.recorder.select_events(run.id) if e.topic.endswith("RowsDigested")]
    mapper = ledger.mapper
    assert mapper.compressor is None and mapper.cipher is None  # the in-memory ledger stores plain JSON
    state = mapper.transcoder.decode(stored.state)
    assert (state.pop("class_version"), state.pop("form"), state.pop("kinds")) == (2, "written", ["integer"])
    as_version_1 = replace(stored, state=mapper.transcoder.encode(state))

    event = mapper.to_domain_event(as_version_1)

    assert isinstance(event, RestoreRun.RowsDigested)
    assert (event.form, event.kinds, event.count, event.ranges) == ("read", [], 2, [[1, 2]])


def test_a_digest_of_an_unknown_form_is_refused() -> None:
    run = started()
    run.finish_recording()
    run.request_apply("qa", "go")

    with pytest.raises(ValueError, match="unknown digest form"):
        run.digest_rows("app_user", ["id"], [[1, 2]], 2, "a" * 64, "guessed", [])
