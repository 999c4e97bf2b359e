"""Tamper evidence: raw SQL on the first, a middle and the last event of a ledger, on SQLite and
PostgreSQL. `ledger verify` names each finding and its position; the tampering that keeps the
chain consistent (rewritten chain, cut-off tail, a restore deleted whole) is caught by a signed
checkpoint."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from application.ledger import Ledger
from domain.ledger import RestoreRun
from tests.conftest import run
from tests.ledger_sql import RawLedger

PLACES = ["first", "middle", "last"]


def started(number: int) -> RestoreRun:
    return RestoreRun(
        backup={"sha256": f"{number:064d}"}, target={"id": f"t{number}", "url": "sqlite:///x"}, options={},
        actor="qa", reason="test", tool_version="0", profile_digest="d",
    )  # fmt: skip


def build(url: str) -> None:
    """Three restores, their events interleaved in the ledger: 12 events."""
    ledger = Ledger(url, create=True)
    runs = [started(n) for n in range(3)]
    for one in runs:
        ledger.save(one)
    for number, one in enumerate(runs):
        one.record_rows("app.user", "app_user", ["id", "email"], ["integer", "text"], [[number, f"u{number}@x.org"]])
        ledger.save(one)
    for one in runs:
        one.finish_recording()
        ledger.save(one)
    runs[0].request_apply("qa", "go")
    runs[0].complete(position=10, duration=0.1)
    ledger.save(runs[0])
    runs[1].request_apply("qa", "go")
    ledger.save(runs[1])
    ledger.close()


@pytest.fixture
def raw(ledger: str) -> Iterator[RawLedger]:
    build(ledger)
    opened = RawLedger(ledger if "://" in ledger else f"sqlite:///{ledger}")
    yield opened
    opened.close()


@pytest.fixture
def keys(tmp_path: Path, cli: CliRunner) -> tuple[Path, Path]:
    assert run(cli, "ledger", "keygen", "-o", tmp_path / "signing").exit_code == 0
    return tmp_path / "signing.key", tmp_path / "signing.pub"


def verify(cli: CliRunner, ledger: str, *extra: object) -> tuple[int, list[dict[str, Any]]]:
    result = run(cli, "ledger", "verify", "--ledger", ledger, "--json", *extra)
    return result.exit_code, json.loads(result.stdout)["findings"]


def place(raw: RawLedger, where: str) -> tuple[int, int]:
    """(notification id, chain position) of the first, a middle or the last event."""
    ids = raw.ids()
    index = {"first": 0, "middle": len(ids) // 2, "last": len(ids) - 1}[where]
    return ids[index], index + 1


def flipped(state: bytes) -> bytes:
    middle = len(state) // 2
    return state[:middle] + bytes([state[middle] ^ 1]) + state[middle + 1 :]


def change_byte(raw: RawLedger, nid: int) -> None:
    raw.set_state(nid, flipped(raw.event(nid)[3]))


def change_topic(raw: RawLedger, nid: int) -> None:
    topic = raw.event(nid)[2]
    forged = "domain.ledger:RestoreRun.Validated" if not topic.endswith(".Validated") else topic + "X"
    raw.sql("UPDATE {events} SET topic = ? WHERE {nid} = ?", forged, nid)


def change_version(raw: RawLedger, nid: int) -> None:
    raw.sql("UPDATE {events} SET originator_version = originator_version + 100 WHERE {nid} = ?", nid)


def change_with_leaf(raw: RawLedger, nid: int) -> None:
    change_byte(raw, nid)
    originator, version, topic, state = raw.event(nid)
    [(position, recorded_at, context)] = raw.sql(
        "SELECT position, recorded_at, context FROM {chain} WHERE notification_id = ?", nid
    )
    from infrastructure.ledger_chain import leaf_hash
    from tests.ledger_sql import _uuid

    leaf = leaf_hash(topic, _uuid(originator), version, state, recorded_at, context)
    raw.sql("UPDATE {chain} SET leaf = ? WHERE position = ?", leaf, position)


def delete(raw: RawLedger, nid: int) -> None:
    raw.sql("DELETE FROM {events} WHERE {nid} = ?", nid)


def insert_forged(raw: RawLedger, nid: int) -> int:
    originator, _version, topic, state = raw.event(nid)
    [(last,)] = raw.sql("SELECT MAX(originator_version) FROM {events} WHERE originator_id = ?", originator)
    new = max(raw.ids()) + 1
    raw.sql(
        "INSERT INTO {events} ({nid}, originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?, ?)",
        new, originator, last + 1, topic, state,
    )  # fmt: skip
    return new


def swap(raw: RawLedger, nid: int) -> None:
    ids = raw.ids()
    index = ids.index(nid)
    other = ids[index + 1] if index + 1 < len(ids) else ids[index - 1]
    raw.move(nid, -1)
    raw.move(other, nid)
    raw.move(-1, other)


@pytest.mark.parametrize("where", PLACES)
@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        (change_byte, "changed"),
        (change_topic, "changed"),
        (change_version, "changed"),
        (change_with_leaf, "chain broken"),
        (delete, "deleted"),
    ],
    ids=["byte-of-state", "topic", "version", "event-and-its-leaf", "delete"],
)
def test_verify_names_the_tampered_event_and_its_position(
    tamper: Callable[[RawLedger, int], None], kind: str, where: str, raw: RawLedger, ledger: str, cli: CliRunner
) -> None:
    assert verify(cli, ledger) == (0, [])
    nid, position = place(raw, where)
    tamper(raw, nid)

    code, findings = verify(cli, ledger)

    assert code == 1
    assert {"kind": kind, "position": position, "notification_id": nid} in [
        {k: f[k] for k in ("kind", "position", "notification_id")} for f in findings
    ], findings
    assert all(f["restore_id"] for f in findings if f["position"] == position)


@pytest.mark.parametrize("where", PLACES)
def test_a_forged_event_without_a_chain_row_is_named(where: str, raw: RawLedger, ledger: str, cli: CliRunner) -> None:
    nid, _position = place(raw, where)
    originator = raw.event(nid)[0]
    forged = insert_forged(raw, nid)

    code, findings = verify(cli, ledger)

    assert code == 1
    [finding] = findings
    assert finding["kind"] == "inserted" and finding["notification_id"] == forged
    assert finding["restore_id"].replace("-", "") == str(originator).replace("-", "")


@pytest.mark.parametrize("where", PLACES)
def test_two_swapped_events_are_named_as_reordered(where: str, raw: RawLedger, ledger: str, cli: CliRunner) -> None:
    nid, position = place(raw, where)
    swap(raw, nid)

    code, findings = verify(cli, ledger)

    assert code == 1
    reordered = [f for f in findings if f["kind"] == "reordered"]
    assert len(reordered) >= 2, findings
    assert position in {f["position"] for f in reordered}


def cut_tail(raw: RawLedger, nid: int) -> None:
    raw.sql("DELETE FROM {events} WHERE {nid} >= ?", nid)
    raw.sql("DELETE FROM {chain} WHERE notification_id >= ?", nid)


def rewrite_chain(raw: RawLedger, nid: int) -> None:
    change_byte(raw, nid)
    raw.relink()


def delete_restore(raw: RawLedger, nid: int) -> None:
    originator = raw.event(nid)[0]
    raw.sql("DELETE FROM {events} WHERE originator_id = ?", originator)
    raw.sql("DELETE FROM {chain} WHERE originator_id = ?", _text(originator))
    raw.relink(renumber=True)


def _text(originator: Any) -> str:
    from tests.ledger_sql import _uuid

    return _uuid(originator)


@pytest.mark.parametrize("where", PLACES)
@pytest.mark.parametrize(
    "tamper", [cut_tail, rewrite_chain, delete_restore], ids=["cut-tail", "rewrite-chain", "delete-restore"]
)
def test_a_consistent_forgery_is_caught_by_a_signed_checkpoint(
    tamper: Callable[[RawLedger, int], None],
    where: str,
    raw: RawLedger,
    ledger: str,
    cli: CliRunner,
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    private, public = keys
    checkpoint = tmp_path / "checkpoint.json"
    assert run(cli, "ledger", "checkpoint", "--ledger", ledger, "--key", private, "-o", checkpoint).exit_code == 0
    assert verify(cli, ledger, "--checkpoint", checkpoint, "--public-key", public) == (0, [])
    nid, position = place(raw, where)
    tamper(raw, nid)

    code, findings = verify(cli, ledger, "--checkpoint", checkpoint, "--public-key", public)

    assert code == 1
    [finding] = [f for f in findings if f["kind"] == "checkpoint"]
    if tamper is cut_tail:
        assert finding["position"] == position and "cut off after position" in finding["detail"]
    elif tamper is delete_restore:
        assert "gone" in finding["detail"] or "rewritten" in finding["detail"]
    else:
        assert finding["position"] is not None and finding["position"] <= position
        assert "rewritten" in finding["detail"]


def test_a_checkpoint_signed_by_another_key_is_refused(
    raw: RawLedger, ledger: str, cli: CliRunner, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    private, _public = keys
    assert run(cli, "ledger", "keygen", "-o", tmp_path / "other").exit_code == 0
    checkpoint = tmp_path / "checkpoint.json"
    run(cli, "ledger", "checkpoint", "--ledger", ledger, "--key", private, "-o", checkpoint)

    result = run(cli, "ledger", "verify", "--ledger", ledger, "--checkpoint", checkpoint, "--public-key",
                 tmp_path / "other.pub")  # fmt: skip

    assert result.exit_code == 1 and "signature does not verify" in result.output


def test_an_untouched_ledger_verifies_after_a_rolled_back_transaction_left_a_gap(
    raw: RawLedger, ledger: str, cli: CliRunner
) -> None:
    from eventsourcing.persistence import IntegrityError

    opened = Ledger(ledger)
    [first] = [
        r for r in raw.sql("SELECT originator_id FROM {events} WHERE topic LIKE ? ORDER BY {nid}", "%RestoreRun%")
    ][:1]
    stale = opened.get_run(_text(first[0]))
    fresh = opened.get_run(_text(first[0]))
    fresh.start_rollback("qa", "one")
    opened.save(fresh)
    stale.start_rollback("qa", "two")
    with pytest.raises(IntegrityError):
        opened.save(stale)  # the version is taken: the transaction is rolled back
    last = opened.get_run(_text(first[0]))
    last.finish_rollback(position=1, duration=0.1)
    opened.save(last)
    ids = raw.ids()
    if raw.postgres:
        assert ids != list(range(ids[0], ids[0] + len(ids)))  # the sequence skipped an id

    assert verify(cli, ledger) == (0, [])


def test_an_edited_export_fails_offline_verification(
    raw: RawLedger, ledger: str, cli: CliRunner, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    export = tmp_path / "ledger.jsonl"
    private, public = keys
    checkpoint = tmp_path / "checkpoint.json"
    assert run(cli, "ledger", "checkpoint", "--ledger", ledger, "--key", private, "-o", checkpoint).exit_code == 0
    assert run(cli, "ledger", "export", "--ledger", ledger, "-o", export).exit_code == 0
    signed = ("--checkpoint", checkpoint, "--public-key", public)
    assert run(cli, "ledger", "verify", "--export", export, *signed).exit_code == 0
    lines = export.read_text().splitlines()
    line = json.loads(lines[5])
    line["event"]["originator_version"] += 1
    lines[5] = json.dumps(line)
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(lines) + "\n")

    result = run(cli, "ledger", "verify", "--export", edited, "--json", *signed)

    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert {"kind": "changed", "position": 5} in [{k: f[k] for k in ("kind", "position")} for f in findings]


def test_a_ledger_from_before_chains_is_refused_until_sealed_then_verifies(
    raw: RawLedger, ledger: str, cli: CliRunner
) -> None:
    raw.sql("DELETE FROM {chain}")  # as an older restore-ledger left it
    code, findings = verify(cli, ledger)
    assert code == 1 and {f["kind"] for f in findings} == {"inserted"}

    sealed = run(cli, "ledger", "seal", "--ledger", ledger, "--reason", "upgrade", "--actor", "ops")

    assert sealed.exit_code == 0 and re.search(r"sealed: \d+ events chained", sealed.output), sealed.output
    assert verify(cli, ledger) == (0, [])
    [(context,)] = raw.sql("SELECT context FROM {chain} WHERE position = 1")
    assert json.loads(context)["reason"] == "upgrade" and json.loads(context)["actor"] == "ops"
    again = run(cli, "ledger", "seal", "--ledger", ledger, "--reason", "twice")
    assert "nothing to do" in again.output
    assert verify(cli, ledger) == (0, [])
