"""Property-based fuzzing of whole restores: mutated backups either restore exactly or are refused.

The invariant, for every mutation: exit 0 with the target holding exactly the backup's data, or
exit 1 with the target byte for byte as before and the run ``failed`` in the ledger; never a
traceback (the CLI runs with ``catch_exceptions=False``), and hostile structure within a memory
bound (a subprocess under ``RLIMIT_AS``). Examples are few, so that CI stays fast; bench/fuzz_backup.py
fuzzes the reader alone, coverage-guided, for as long as one likes.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import resource
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run
from tests.edms import Source
from tests.targets import SqliteTarget, sqlite_target

CLI = str(Path(sys.executable).parent / "restore-ledger")
MEMORY_BOUND = 1 << 30  # the unguarded reader took 23.8 GB for a 200 KB file
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Workspace:
    """A fresh target and ledger per example, and the data of one clean restore to compare with."""

    def __init__(self, source: Source, root: Path) -> None:
        self.source = source
        self.root = root
        self.records: list[dict[str, Any]] = json.loads(source.fixture().read_text())
        self.template = sqlite_target(root / "template.sqlite3")
        self.count = 0
        clean, ledger, _ = self.fresh()
        result = run(CliRunner(), "restore", source.fixture(), "--target", clean.url, "--ledger", ledger, "--quiet")
        assert result.exit_code == 0, result.output
        self.clean = clean.data()

    def fresh(self) -> tuple[SqliteTarget, str, Path]:
        self.count += 1
        work = self.root / f"example-{self.count}"
        work.mkdir()
        return self.template.copy(work / "target.sqlite3"), str(work / "ledger.sqlite3"), work


@pytest.fixture(scope="module")
def workspace(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(source, tmp_path_factory.mktemp("fuzz"))


def encode(records: list[dict[str, Any]], form: str, indent: int | None, ascii_only: bool, reverse: bool) -> bytes:
    """The same records in another of the forms dumpdata (or an archiver) writes."""
    if reverse:
        records = [dict(reversed(list(r.items()))) for r in records]
    if form.startswith("jsonl"):
        raw = b"".join(json.dumps(r, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass") + b"\n" for r in records)
    else:
        raw = json.dumps(records, indent=indent, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    if form.endswith(".gz"):
        return gzip.compress(raw)
    if form.endswith(".bz2"):
        return bz2.compress(raw)
    if form.endswith(".xz"):
        return lzma.compress(raw)
    return raw


def restore(workspace: Workspace, data: bytes, name: str, *options: str) -> tuple[Any, SqliteTarget, str, Any]:
    target, ledger, work = workspace.fresh()
    backup = work / name
    if name.endswith(".zip"):
        with zipfile.ZipFile(backup, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("edms.json", data)
    else:
        backup.write_bytes(data)
    before = target.snapshot()
    result = run(CliRunner(), "restore", backup, "--target", target.url, "--ledger", ledger, "--quiet", *options)
    return result, target, ledger, before


def check_refused(result: Any, target: SqliteTarget, ledger: str, before: Any) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ")
    assert target.snapshot() == before
    runs = json.loads(run(CliRunner(), "ledger", "list", "--ledger", ledger, "--json").output or "[]")
    assert [r["status"] for r in runs] in ([], ["failed"])


FORMS = st.sampled_from(["json", "jsonl", "json.gz", "jsonl.bz2", "json.xz", "json.zip"])


@FUZZ
@given(form=FORMS, indent=st.sampled_from([None, 1, 4]), ascii_only=st.booleans(), reverse=st.booleans(),
       title=st.text(max_size=40))  # fmt: skip
def test_any_text_in_any_form_restores_exactly_or_is_refused(
    workspace: Workspace, form: str, indent: int | None, ascii_only: bool, reverse: bool, title: str
) -> None:
    records = json.loads(json.dumps(workspace.records))
    index = next(i for i, r in enumerate(records) if r["model"] == "documents.document")
    records[index]["fields"]["title"] = title
    number = records[index]["fields"]["number"]

    result, target, ledger, before = restore(workspace, encode(records, form, indent, ascii_only, reverse), f"b.{form}")

    if any(0xD800 <= ord(c) <= 0xDFFF for c in title):
        check_refused(result, target, ledger, before)
        assert "lone UTF-16 surrogate" in result.output or "is not valid UTF-8" in result.output
        return
    assert result.exit_code == 0, result.output
    assert target.query(f"SELECT title FROM documents_document WHERE number = '{number}'") == [(title,)]
    restored = target.data()
    restored["documents_document"] = [r for r in restored["documents_document"] if number not in r]
    clean = dict(workspace.clean)
    clean["documents_document"] = [r for r in clean["documents_document"] if number not in r]
    assert restored == clean


MUTATIONS = st.sampled_from(["flip", "insert", "delete", "truncate", "brackets", "quote", "backslash", "duplicate"])


@FUZZ
@given(mutation=MUTATIONS, where=st.floats(0, 1), byte=st.integers(0, 255), length=st.integers(1, 300),
       form=st.sampled_from(["json", "jsonl"]))  # fmt: skip
def test_damaged_bytes_are_restored_or_refused_never_half_done(
    workspace: Workspace, mutation: str, where: float, byte: int, length: int, form: str
) -> None:
    raw = bytearray(encode(workspace.records, form, None, False, False))
    at = int(where * (len(raw) - 1))
    if mutation == "flip":
        raw[at] ^= byte or 1
    elif mutation == "insert":
        raw[at:at] = bytes([byte]) * length
    elif mutation == "delete":
        del raw[at : at + length]
    elif mutation == "truncate":
        del raw[at:]
    elif mutation == "brackets":
        raw[at:at] = b"[" * (length * 10) + b"]" * (length * 10 if byte % 2 else 0)
    elif mutation == "quote":
        raw[at:at] = b'"'
    elif mutation == "backslash":
        raw[at:at] = b"\\" * (length % 3 + 1) + b"u" + b"d8" * (byte % 2)
    else:
        records = json.loads(json.dumps(workspace.records))
        records.insert(int(where * len(records)), records[byte % len(records)])
        raw = bytearray(encode(records, form, None, False, False))

    result, target, ledger, before = restore(workspace, bytes(raw), f"b.{form}")

    if result.exit_code == 1:
        check_refused(result, target, ledger, before)
        return
    assert result.exit_code == 0, result.output
    [entry] = json.loads(run(CliRunner(), "ledger", "list", "--ledger", ledger, "--json").output)
    assert entry["status"] == "applied"
    assert target.foreign_key_problems() == []


@FUZZ
@given(change=st.sampled_from(["drop", "duplicate", "size", "sha256", "unlisted", "path", "corrupt", "version"]),
       pick=st.integers(0, 1000), archive=st.sampled_from(["directory", "zip"]))  # fmt: skip
def test_a_damaged_package_is_refused_before_anything_is_written(
    workspace: Workspace, change: str, pick: int, archive: str
) -> None:
    target, ledger, work = workspace.fresh()
    package = shutil.copytree(workspace.source.package(), work / "package")
    manifest = json.loads((package / "manifest.json").read_text())
    entry = manifest["files"][pick % len(manifest["files"])]
    if change == "drop":
        manifest["files"].remove(entry)
    elif change == "duplicate":
        manifest["files"].append(dict(entry))
    elif change == "size":
        entry["size"] += 1 + pick
    elif change == "sha256":
        entry["sha256"] = f"{pick:064x}"
    elif change == "unlisted":
        (package / "media" / f"extra-{pick}.txt").write_text("not in the manifest")
    elif change == "path":
        entry["path"] = ["../escape.txt", "/etc/passwd", "media/../../x", "C:/x", ""][pick % 5]
    elif change == "corrupt":
        victim = package / entry["path"]
        victim.write_bytes(victim.read_bytes()[: pick % 50] + b"\x00corrupt")
    else:
        manifest["format_version"] = [2, "1", None, 0][pick % 4]
    (package / "manifest.json").write_text(json.dumps(manifest))
    backup: Path = package
    if archive == "zip":
        backup = work / "package.zip"
        with zipfile.ZipFile(backup, "w", zipfile.ZIP_DEFLATED) as packed:
            for path in sorted(package.rglob("*")):
                if path.is_file():
                    packed.write(path, path.relative_to(package).as_posix())
    before = target.snapshot()
    media = work / "media"

    result = run(CliRunner(), "restore", backup, "--target", target.url, "--ledger", ledger, "--quiet",
                 "--media-root", media)  # fmt: skip

    check_refused(result, target, ledger, before)
    assert not media.exists() or not any(media.rglob("*"))


def limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND, MEMORY_BOUND))


def run_bounded(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, cwd=cwd, preexec_fn=limited_memory,
                          timeout=300, check=False)  # fmt: skip


TAG = b'{"model": "documents.tag", "pk": 1, "fields": {"name": "x"}}'


HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "deep.json": (lambda: b"[" + TAG + b"," + b"[" * 100_000 + b"]" * 100_000 + b"]", "record 2: nests deeper than"),
    "deep.jsonl": (lambda: b"[" * 100_000 + b"\n" + TAG + b"\n", "record 1: nests deeper than the limit of 64 levels"),
    "bomb.json.gz": (lambda: gzip.compress(b"[" + TAG + b" " * 50_000_000 + b"]"), "--max-ratio"),
    "string.json": (
        lambda: b'[{"model": "documents.tag", "pk": 1, "fields": {"name": "' + b"x" * 80_000_000 + b'"}}]',
        "holds a string longer than the limit of 67,108,864 bytes",
    ),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_structure_is_refused_within_a_memory_bound(name: str, tmp_path: Path) -> None:
    make, expected = HOSTILE[name]
    (tmp_path / name).write_bytes(make())
    target = sqlite_target(tmp_path / "target.sqlite3")
    before = target.snapshot()

    restored = run_bounded("restore", name, "--target", target.url, "--ledger", "ledger.sqlite3", "--quiet",
                           cwd=tmp_path)  # fmt: skip
    inspected = run_bounded("inspect", name, cwd=tmp_path)

    for result in (restored, inspected):
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
        assert expected in result.stdout + result.stderr
    assert target.snapshot() == before


def test_the_memory_bound_lets_a_real_backup_restore(source: Source, tmp_path: Path) -> None:
    """The control: the bound is not what refuses the hostile backups."""
    target = sqlite_target(tmp_path / "target.sqlite3")

    result = run_bounded("restore", str(source.fixture()), "--target", target.url, "--ledger", "ledger.sqlite3",
                         "--quiet", cwd=tmp_path)  # fmt: skip

    assert result.returncode == 0, result.stderr


def test_a_bomb_of_tiny_records_is_refused_within_a_memory_bound(tmp_path: Path) -> None:
    """The report's bomb: a small gzip of a million tiny records (30 MB from 75 KB)."""
    records = b"[" + b'{"model": "a.b", "fields": {}},' * 1_000_000 + b"{}]"
    (tmp_path / "bomb.json.gz").write_bytes(gzip.compress(records, compresslevel=6))

    result = run_bounded("inspect", "bomb.json.gz", cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert "the ratio of decompressed bytes to the backup's size exceeds the limit of 200" in result.stdout


@settings(max_examples=6, deadline=None)
@given(depth=st.integers(65, 200_000), prefix=st.integers(0, 50), kind=st.sampled_from(["[", '{"a":']))
def test_random_deep_nesting_is_refused_within_a_memory_bound(
    depth: int, prefix: int, kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("deep")
    record = b'{"model": "a.b", "pk": %d, "fields": {"t": "x"}}'
    head = b"[" + b",".join(record % i for i in range(prefix)) + (b"," if prefix else b"")
    (work / "deep.json").write_bytes(head + kind.encode() * depth)

    result = run_bounded("inspect", "deep.json", cwd=work)

    assert result.returncode == 1, result.stderr
    assert f"record {prefix + 1}: nests deeper than the limit of 64 levels" in result.stdout
