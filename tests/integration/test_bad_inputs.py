"""Every bad input: exit code 1, a message naming the record and the problem, a failed
event in the ledger, and a target that is byte for byte as before."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import run
from tests.edms import Source
from tests.targets import Target


def records(source: Source) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(source.fixture().read_text())
    return loaded


def write(path: Path, data: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(data))
    return path


def first(data: list[dict[str, Any]], model: str) -> int:
    return next(i for i, r in enumerate(data) if r["model"] == model)


def not_json(_s: Source, tmp: Path) -> Path:
    (tmp / "notes.txt").write_text("hello, this is no backup\n")
    return tmp / "notes.txt"


def truncated(s: Source, tmp: Path) -> Path:
    raw = s.fixture().read_bytes()
    (tmp / "truncated.json").write_bytes(raw[: len(raw) * 2 // 3])
    return tmp / "truncated.json"


def without_model(s: Source, tmp: Path) -> Path:
    data = records(s)
    del data[4]["model"]
    return write(tmp / "nomodel.json", data)


def unknown_model(s: Source, tmp: Path) -> Path:
    data = records(s)
    data.insert(10, {"model": "inventory.widget", "pk": 7, "fields": {"name": "gear"}})
    return write(tmp / "unknown.json", data)


def missing_reference(s: Source, tmp: Path) -> Path:
    data = records(s)
    data[first(data, "accounts.userrole")]["fields"]["role"] = ["Ghost role"]
    return write(tmp / "ghost.json", data)


def duplicate_key(s: Source, tmp: Path) -> Path:
    data = records(s)
    duplicate = json.loads(json.dumps(data[first(data, "documents.document")]))
    duplicate["fields"]["uuid"] = "7b1e8a52-1f5e-4a43-9a53-3d8f0c6f6a11"
    data.append(duplicate)
    return write(tmp / "duplicate.json", data)


def wrong_type(s: Source, tmp: Path) -> Path:
    data = records(s)
    data[first(data, "documents.document")]["fields"]["is_controlled"] = "yes"
    return write(tmp / "wrongtype.json", data)


def media_mismatch(s: Source, tmp: Path) -> Path:
    package = shutil.copytree(s.package(), tmp / "package")
    victim = next(p for p in (package / "media").rglob("*") if p.is_file())
    victim.write_bytes(victim.read_bytes() + b"tampered")
    return package


def escaping_entry(s: Source, tmp: Path) -> Path:
    package = s.package()
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["files"].append({"path": "../evil.txt", "sha256": "0" * 64, "size": 4})
    with zipfile.ZipFile(tmp / "evil.zip", "w") as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file() and path.name != "manifest.json":
                archive.write(path, path.relative_to(package).as_posix())
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("../evil.txt", "evil")
    return tmp / "evil.zip"


def unsupported_archive(_s: Source, tmp: Path) -> Path:
    (tmp / "backup.rar").write_bytes(b"Rar!\x1a\x07\x01\x00" + bytes(200))
    return tmp / "backup.rar"


CASES: dict[str, tuple[Callable[[Source, Path], Path], list[str]]] = {
    "not JSON": (not_json, ["text starting with 'hello, this is no backup", "supported:"]),
    "truncated JSON": (truncated, ["is not valid JSON after record", "truncated"]),
    "record without model": (without_model, ["record 5", "has no 'model'"]),
    "unknown model label": (unknown_model, ["record 11 (inventory.widget pk=7)", "known neither to the profile"]),
    "unresolvable natural key": (
        missing_reference,
        ['(accounts.userrole "user00000", "Ghost role")', "references accounts.role ('Ghost role',), found neither"],
    ),
    "natural key twice": (duplicate_key, ['(documents.document "', "appears twice in the backup (also record"]),
    "wrong value type": (
        wrong_type,
        ['(documents.document "', "field 'is_controlled' expected true or false, got 'yes'"],
    ),
    "media sha256 differs": (media_mismatch, ["does not match manifest.json", "media/documents/"]),
    "entry leaves the package": (escaping_entry, ["package entry '../evil.txt' leaves the package"]),
    "unsupported archive": (unsupported_archive, ["found binary data starting with bytes 52 61 72 21", "supported:"]),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_recorded_and_leaves_the_target_untouched(
    case: str, source: Source, target: Target, ledger: str, tmp_path: Path, cli: CliRunner
) -> None:
    make, expected = CASES[case]
    backup = make(source, tmp_path)
    before = target.snapshot()
    media = tmp_path / "media"

    result = run(cli, "restore", backup, "--target", target.url, "--ledger", ledger, "--media-root", media, "--quiet")

    assert result.exit_code == 1, result.output
    for text in expected:
        assert text in result.output
    assert target.snapshot() == before
    assert not media.exists() or not any(media.rglob("*"))
    listed = run(cli, "ledger", "list", "--ledger", ledger, "--json")
    [entry] = json.loads(listed.output)
    assert entry["status"] == "failed"
    assert entry["failure"]["reason"] in result.output
    shown = run(cli, "ledger", "show", entry["restore_id"], "--ledger", ledger)
    assert "Failed" in shown.output


def test_inspect_reports_the_problem_without_a_target(source: Source, tmp_path: Path, cli: CliRunner) -> None:
    result = run(cli, "inspect", truncated(source, tmp_path))

    assert result.exit_code == 1, result.output
    assert "is not valid JSON after record" in result.output


def test_inspect_shows_format_manifest_and_counts(source: Source, tmp_path: Path, cli: CliRunner) -> None:
    result = run(cli, "inspect", source.package(), "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["backup"]["format"] == "package (directory)"
    assert report["backup"]["media_files"] > 0
    assert report["counts"]["documents.document"] == 60
    assert report["problems"] == []
