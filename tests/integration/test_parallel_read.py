"""The backup parsed by a forked process while the restore indexes it: the same records, digests and
errors as a read in the restore's own process, and no process left behind."""

from __future__ import annotations

import gzip
import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from bench.generate import write
from domain.errors import BackupError
from infrastructure.backup import open_backup
from infrastructure.parallel_read import CHUNK, record_chunks
from tests.edms import zip_fixture


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    path = tmp_path / "edms.json"
    with path.open("w") as out:
        write(2 * CHUNK + 123, out)  # three chunks, the last one partial
    return path


def in_process(path: Path) -> tuple[list[tuple[Any, ...]], dict[str, str]]:
    with open_backup(path) as opened:
        records = [(r.ordinal, r.model, r.pk, r.fields) for r in opened.records()]
        return records, opened.digests_seen()


def in_child(path: Path) -> tuple[list[tuple[Any, ...]], dict[str, str], list[int]]:
    with open_backup(path) as opened:
        records: list[tuple[Any, ...]] = []
        sizes: list[int] = []
        for _data, chunk in record_chunks(opened):
            records += chunk
            sizes.append(len(chunk))
        return records, opened.digests_seen(), sizes


@pytest.mark.parametrize("form", ["json", "json.gz", "zip"])
def test_the_child_reads_the_records_and_digests_a_read_in_process_reads(
    backup: Path, tmp_path: Path, form: str
) -> None:
    path = backup
    if form == "json.gz":
        path = tmp_path / "edms.json.gz"
        path.write_bytes(gzip.compress(backup.read_bytes()))
    elif form == "zip":
        path = zip_fixture(backup, tmp_path / "edms.zip")

    records, digests, sizes = in_child(path)

    assert (records, digests) == in_process(path)
    assert sizes == [CHUNK, CHUNK, 123]
    assert not multiprocessing.active_children()


def test_a_damaged_backup_is_refused_naming_the_record_as_in_process(backup: Path, tmp_path: Path) -> None:
    objects = json.loads(backup.read_text())
    objects[CHUNK + 5] = ["not", "an", "object"]
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(objects))
    with pytest.raises(BackupError) as expected, open_backup(damaged) as opened:
        list(opened.records())

    with pytest.raises(BackupError) as found, open_backup(damaged) as opened:
        list(record_chunks(opened))

    assert (found.value.problem, found.value.record) == (expected.value.problem, expected.value.record)
    assert found.value.record == f"record {CHUNK + 6}"
    assert not multiprocessing.active_children()


def test_a_backup_changed_while_it_is_read_is_refused(backup: Path) -> None:
    with pytest.raises(BackupError, match="the backup changed while it was read"), open_backup(backup) as opened:
        backup.write_text(backup.read_text().replace('"admin"', '"other"', 1))
        list(record_chunks(opened))


def test_stopping_early_stops_the_child(backup: Path) -> None:
    with open_backup(backup) as opened:
        chunks = record_chunks(opened)
        next(chunks)
        assert len(multiprocessing.active_children()) == 1
        chunks.close()

    assert not multiprocessing.active_children()
