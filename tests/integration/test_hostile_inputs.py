"""Hostile and broken input: every one refused with a message that names the record, the field or
the limit (and the option raising it), exit code 1, the run failed in the ledger, the target as before.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import run
from tests.edms import Source
from tests.integration.test_bad_inputs import first, records, write
from tests.targets import Target

Make = Callable[[Source, Path], Path]


def deep_array(s: Source, tmp: Path) -> Path:
    raw = s.fixture().read_bytes().rstrip()
    assert raw.endswith(b"]")
    return _bytes(tmp / "deep.json", raw[:-1] + b"," + b"[" * 100_000 + b"]" * 100_000 + b"]")


def deep_lines(s: Source, tmp: Path) -> Path:
    lines = s.fixture("natural.jsonl", "--format", "jsonl").read_bytes()
    return _bytes(tmp / "deep.jsonl", lines + b"[" * 100_000 + b"]" * 100_000 + b"\n")


def lone_surrogate_array(s: Source, tmp: Path) -> Path:
    data = records(s)
    data[first(data, "documents.document")]["fields"]["title"] = "SOP \ud800 draft"
    return _bytes(tmp / "surrogate.json", json.dumps(data).encode())  # ensure_ascii: the escape \ud800


def lone_surrogate_lines(s: Source, tmp: Path) -> Path:
    data = records(s)
    data[first(data, "documents.document")]["fields"]["title"] = "SOP \udc00 draft"
    return _bytes(tmp / "surrogate.jsonl", b"".join(json.dumps(r).encode() + b"\n" for r in data))


def nan_value(s: Source, tmp: Path) -> Path:
    data = records(s)
    data[first(data, "documents.document")]["fields"]["title"] = float("nan")
    return write(tmp / "nan.json", data)


def huge_integer(s: Source, tmp: Path) -> Path:
    data = records(s)
    data[first(data, "documents.document")]["fields"]["current_version"] = 2**70
    return write(tmp / "huge.json", data)


def media_listed_twice(s: Source, tmp: Path) -> Path:
    package = shutil.copytree(s.package(), tmp / "package")
    manifest = json.loads((package / "manifest.json").read_text())
    media = next(entry for entry in manifest["files"] if entry["path"].startswith("media/"))
    manifest["files"].append(dict(media))
    (package / "manifest.json").write_text(json.dumps(manifest))
    return package


def fifo_in_tar(s: Source, tmp: Path) -> Path:
    package = s.package()
    with tarfile.open(tmp / "fifo.tar.gz", "w:gz") as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                archive.add(path, path.relative_to(package).as_posix())
        fifo = tarfile.TarInfo("media/documents/pipe")
        fifo.type = tarfile.FIFOTYPE
        archive.addfile(fifo)
    return tmp / "fifo.tar.gz"


def record_bomb(_s: Source, tmp: Path) -> Path:
    """About 100 MB of records padded with blanks, in a gzip of a few hundred KB."""
    with gzip.open(tmp / "bomb.json.gz", "wb", compresslevel=6) as packed:
        packed.write(b"[")
        for pk in range(1, 5001):
            packed.write(
                b'%s{"model": "documents.tag", "pk": %d, "fields": {"name": "t%d"}}' % (b"," if pk > 1 else b"", pk, pk)
            )
            packed.write(b" " * 20_000)
        packed.write(b"]")
    return tmp / "bomb.json.gz"


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


CASES: dict[str, tuple[Make, list[str], list[str]]] = {
    "deep nesting, JSON array": (deep_array, ["nests deeper than the limit of 64 levels", "--max-depth"], []),
    "deep nesting, JSON Lines": (deep_lines, ["nests deeper than the limit of 64 levels", "--max-depth"], []),
    "lone surrogate, JSON array": (lone_surrogate_array, ["field 'title' holds a lone UTF-16 surrogate"], []),
    "lone surrogate, JSON Lines": (lone_surrogate_lines, ["field 'title' holds a lone UTF-16 surrogate"], []),
    "NaN in a field": (nan_value, ["holds NaN or Infinity, which JSON does not allow"], []),
    "integer of 2**70": (huge_integer, ["holds an integer beyond 64 bits"], []),
    "media file listed twice": (media_listed_twice, ["manifest.json lists 'media/", "twice"], []),
    "FIFO in a tar": (fifo_in_tar, ["package entry 'media/documents/pipe' is a FIFO"], []),
    "record bomb": (record_bomb, ["exceeds the limit of 200", "--max-ratio"], []),
    "too many records": (
        lambda s, _t: s.fixture(),
        ["number of records exceeds the limit of 10", "--max-records"],
        ["--max-records", "10"],
    ),
    "string too long": (
        lambda s, _t: s.fixture(),
        ["holds a string longer than the limit of 8 bytes", "--max-string-bytes"],
        ["--max-string-bytes", "8"],
    ),
    "record too large": (
        lambda s, _t: s.fixture(),
        ["exceeds the limit of 64", "--max-record-bytes"],
        ["--max-record-bytes", "64"],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_hostile_backup_is_refused_recorded_and_leaves_the_target_untouched(
    case: str, source: Source, target: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    make, expected, options = CASES[case]
    backup = make(source, tmp_path)
    before = target.snapshot()
    media = tmp_path / "media"

    result = run(cli, "restore", backup, "--target", target.url, "--ledger", sqlite_ledger, "--media-root", media,
                 "--quiet", *options)  # fmt: skip

    assert result.exit_code == 1, result.output
    for text in expected:
        assert text in result.output
    assert "record" in result.output or "manifest" in result.output or "package entry" in result.output
    assert target.snapshot() == before
    assert not media.exists() or not any(media.rglob("*"))
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", sqlite_ledger, "--json").output)
    assert entry["status"] == "failed"
    assert entry["failure"]["reason"] in result.output


def test_a_raised_limit_lets_the_same_backup_through(
    source: Source, target: Target, sqlite_ledger: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESTORE_LEDGER_MAX_RECORDS", "10")
    refused = run(cli, "plan", source.fixture(), "--target", target.url, "--ledger", sqlite_ledger, "--quiet")
    assert refused.exit_code == 1
    assert "RESTORE_LEDGER_MAX_RECORDS" in refused.output

    planned = run(cli, "plan", source.fixture(), "--target", target.url, "--ledger", sqlite_ledger, "--quiet",
                  "--max-records", "1000000")  # fmt: skip

    assert planned.exit_code == 0, planned.output


def test_inspect_refuses_deep_nesting_naming_the_limit(source: Source, tmp_path: Path, cli: CliRunner) -> None:
    result = run(cli, "inspect", deep_array(source, tmp_path))

    assert result.exit_code == 1
    assert "nests deeper than the limit of 64 levels (--max-depth" in result.output


def test_text_with_nul_is_refused_on_postgresql_and_stored_exactly_on_sqlite(
    source: Source, target: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    data = records(source)
    index = first(data, "documents.document")
    data[index]["fields"]["title"] = "SOP\x00hidden"
    number = data[index]["fields"]["number"]
    before = target.snapshot()

    result = run(cli, "restore", write(tmp_path / "nul.json", data), "--target", target.url, "--ledger",
                 sqlite_ledger, "--quiet")  # fmt: skip

    if target.dialect == "postgresql":
        assert result.exit_code == 1, result.output
        assert "field 'title' holds a NUL character" in result.output
        assert f'(documents.document "{number}")' in result.output
        assert target.snapshot() == before
    else:
        assert result.exit_code == 0, result.output
        assert target.query(f"SELECT title FROM documents_document WHERE number = '{number}'") == [("SOP\x00hidden",)]


def test_a_backup_swapped_after_it_was_opened_is_refused(
    source: Source, target: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backup is hashed when opened (and recorded so) and again as its one pass reads it."""
    import application.restore as restore_module

    backup = shutil.copyfile(source.fixture(), tmp_path / "backup.json")
    data = records(source)
    data[first(data, "documents.document")]["fields"]["title"] = "Swapped in while the restore ran"
    load_profile = restore_module.load_profile

    def swap_then_load(*args: Any) -> Any:
        write(backup, data)  # after it was opened and hashed, before its records are read
        return load_profile(*args)

    monkeypatch.setattr(restore_module, "load_profile", swap_then_load)
    before = target.snapshot()

    result = run(cli, "restore", backup, "--target", target.url, "--ledger", sqlite_ledger, "--quiet")

    assert result.exit_code == 1, result.output
    assert "the backup changed while it was read" in result.output
    assert target.snapshot() == before
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", sqlite_ledger, "--json").output)
    assert entry["status"] == "failed"
    assert entry["backup"]["sha256"] == hashlib.sha256(source.fixture().read_bytes()).hexdigest()


REGRESSIONS = Path(__file__).parent.parent / "fuzz_regressions"


@pytest.mark.parametrize("name", sorted(p.name for p in REGRESSIONS.iterdir()))
def test_inputs_atheris_crashed_on_are_refused_with_a_message(name: str, cli: CliRunner) -> None:
    result = run(cli, "inspect", REGRESSIONS / name)

    assert result.exit_code == 1
    assert "damaged" in result.output or "zip" in result.output


def test_a_failure_after_the_targets_commit_is_recorded_as_applied(
    source: Source, target: Target, sqlite_ledger: str, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infrastructure.projection import Projection

    def rename_fails(_self: Projection, _work: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Projection, "_finish_media", rename_fails)

    result = run(cli, "restore", source.package(), "--target", target.url, "--ledger", sqlite_ledger,
                 "--media-root", tmp_path / "media", "--quiet")  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "the restore was applied to the target, but then: OSError" in result.output
    [entry] = json.loads(run(cli, "ledger", "list", "--ledger", sqlite_ledger, "--json").output)
    assert entry["status"] == "applied"
    assert target.count("documents_document") == 60
