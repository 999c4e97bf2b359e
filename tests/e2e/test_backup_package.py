"""Backup packages made by restore-ledger's Django app (``manage.py restore_ledger_backup``):
restored with no profile file, verified, signed, and refused when tampered with."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infrastructure.signing import load_private_key, sign_manifest
from tests.conftest import run
from tests.e2e.test_reinitialised import BUSINESS_ONLY
from tests.edms import Source, manage, tar_package, zip_package
from tests.targets import SqliteTarget, Target, sqlite_target


def keypair(directory: Path, name: str) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private, public = directory / f"{name}.pem", directory / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def restore(cli: CliRunner, backup: Path, target: Target, ledger: str, *extra: object) -> tuple[int, str]:
    result = run(
        cli, "restore", backup, "--target", target.url, "--ledger", ledger, "--media-root",
        Path(ledger).parent / f"{Path(ledger).stem}-media", "--quiet", *extra,
    )  # fmt: skip
    return result.exit_code, result.output


def test_a_package_made_by_the_django_app_restores_into_a_reinitialised_target_with_no_profile(
    source: Source, reinitialised: Target, tmp_path: Path, cli: CliRunner
) -> None:
    package = source.backup()

    code, output = restore(cli, package, reinitialised, str(tmp_path / "ledger.sqlite3"))

    assert code == 0, output
    assert "--profile" not in output
    assert "0 differences" in source.compare(reinitialised.django, *BUSINESS_ONLY)
    assert reinitialised.foreign_key_problems() == []
    assert sorted(p.name for p in (tmp_path / "ledger-media" / "documents").iterdir()) == sorted(
        p.name for p in (package / "media" / "documents").iterdir()
    )


def test_the_package_holds_the_manifest_the_profile_and_only_referenced_media(source: Source) -> None:
    package = source.backup()
    (source.media / "documents" / "not-referenced.txt").write_text("left over")
    try:
        other = source.backup("backup-unreferenced")
    finally:
        (source.media / "documents" / "not-referenced.txt").unlink()
    manifest = json.loads((package / "manifest.json").read_text())

    assert manifest["format_version"] == 2
    assert manifest["created_at"][-6] in "+-"  # the time with its offset
    assert manifest["source_system"]["database_vendor"] == "sqlite"
    assert manifest["source_system"]["migrations"]["accounts"] == ["0001_initial"]
    assert "restore_ledger_django" in manifest["source_system"]["installed_apps"]
    assert manifest["dump"]["natural_foreign"] and manifest["dump"]["natural_primary"]
    assert sum(manifest["dump"]["counts"].values()) == 522
    versions = source.query("SELECT DISTINCT file FROM documents_documentversion WHERE file != ''")
    media = sorted(e["path"] for e in manifest["files"] if e["path"].startswith("media/"))
    assert media == sorted(f"media/{name}" for (name,) in versions)
    assert not (other / "media" / "documents" / "not-referenced.txt").exists()
    profile = tomllib.loads((package / "profile.toml").read_text())["models"]
    assert profile["accounts.userrole"]["natural_key"] == ["user", "role"]
    assert profile["documents.documentversion"]["natural_key"] == ["document", "version"]
    assert profile["auth.permission"]["natural_key"] == ["codename", "content_type"]
    assert profile["accounts.role"]["policy"] == "map" and profile["accounts.role"]["seeded"]
    # a JSONField's default, and Django's implicit "" of its text fields (no schema holds either)
    assert profile["audit.auditentry"]["defaults"] == {"changes": {}, "action": "", "object_id": "", "object_repr": ""}


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_zip_and_tar_packages_restore_the_same_rows_as_a_directory(
    fmt: str, source: Source, tmp_path: Path, cli: CliRunner
) -> None:
    directory, archive = sqlite_target(tmp_path / "a.sqlite3", True), sqlite_target(tmp_path / "b.sqlite3", True)
    code, output = restore(cli, source.backup(), directory, str(tmp_path / "l1.sqlite3"))
    assert code == 0, output

    code, output = restore(cli, source.backup(f"backup.{fmt}", "--format", fmt), archive, str(tmp_path / "l2.sqlite3"))

    assert code == 0, output
    assert f"package ({'zip' if fmt == 'zip' else 'tar+gzip'})" in output
    assert "0 differences" in source.compare(archive.django, *BUSINESS_ONLY)


def tamper_media(package: Path) -> None:
    victim = sorted((package / "media" / "documents").iterdir())[0]
    data = bytearray(victim.read_bytes())
    data[10] ^= 1
    victim.write_bytes(bytes(data))


def tamper_fixture(package: Path) -> None:
    fixture = package / "data" / "dump.jsonl"
    fixture.write_text(fixture.read_text().replace("Procedure", "Pr0cedure", 1))


def tamper_manifest(package: Path) -> None:
    manifest = package / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"sqlite"', '"sqlitf"', 1))


def add_file(package: Path) -> None:
    (package / "media" / "documents" / "planted.txt").write_text("not from the backup")


def tamper_profile(package: Path) -> None:
    profile = package / "profile.toml"
    profile.write_text(profile.read_text().replace('natural_key = [\n    "name",\n]', "natural_key = []", 1))


TAMPERING = {
    "one byte of a media file": (tamper_media, "does not match manifest.json"),
    "one byte of the fixture": (tamper_fixture, "data/dump.jsonl' does not match manifest.json"),
    "one byte of the profile": (tamper_profile, "profile.toml' does not match manifest.json"),
    "one byte of the signed manifest": (tamper_manifest, "manifest.json was altered after it was signed"),
    "a file added": (add_file, "files that manifest.json does not list: media/documents/planted.txt"),
}


@pytest.mark.parametrize("how", TAMPERING, ids=list(TAMPERING))
@pytest.mark.parametrize("fmt", ["dir", "zip"])
def test_a_tampered_package_is_refused_before_anything_is_written(
    how: str, fmt: str, source: Source, tmp_path: Path, cli: CliRunner
) -> None:
    package = tmp_path / "package"
    shutil.copytree(source.backup("signed", "--sign-key", str(_signing_key(source)), "--signer", "qa"), package)
    tamper, message = TAMPERING[how]
    tamper(package)
    backup = zip_package(package, tmp_path / "package.zip") if fmt == "zip" else package
    target = sqlite_target(tmp_path / "t.sqlite3", True)
    before = target.snapshot()

    code, output = restore(cli, backup, target, str(tmp_path / "ledger.sqlite3"))

    assert code == 1
    assert message in output and "Traceback" not in output
    assert target.snapshot() == before
    listed = run(cli, "ledger", "list", "--ledger", tmp_path / "ledger.sqlite3")
    assert " failed " in listed.output


def _signing_key(source: Source) -> Path:
    path = source.work / "signing-key.pem"
    if not path.exists():
        keypair(source.work, "signing-key")
    return path


def test_a_signed_package_verifies_and_the_ledger_names_its_signer(
    source: Source, tmp_path: Path, cli: CliRunner
) -> None:
    package = source.backup("signed", "--sign-key", str(_signing_key(source)), "--signer", "qa")
    public = source.work / "signing-key.pub.pem"
    target = sqlite_target(tmp_path / "t.sqlite3", True)
    ledger = str(tmp_path / "ledger.sqlite3")

    code, output = restore(cli, package, target, ledger, "--require-signature", "--public-key", public)

    assert code == 0, output
    key_id = json.loads((package / "manifest.json").read_text())["signature"]["key_id"]
    shown = json.loads(run(cli, "ledger", "show", output.split()[1], "--ledger", ledger, "--json").output)
    assert shown["backup"]["manifest"]["signature"]["key_id"] == key_id
    assert shown["backup"]["manifest"]["signature"]["signer"] == "qa"
    assert shown["options"]["require_signature"] is True
    text = run(cli, "ledger", "show", output.split()[1], "--ledger", ledger).output
    assert f"signed:  by qa, key {key_id} (verified)" in text
    inspected = run(cli, "inspect", package)
    assert f"signed by qa, key {key_id[:16]}" in inspected.output


def test_a_package_resigned_with_another_key_or_unsigned_is_refused_with_require_signature(
    source: Source, tmp_path: Path, cli: CliRunner
) -> None:
    public = _signing_key(source).with_name("signing-key.pub.pem")
    other_private, _ = keypair(tmp_path, "other")
    resigned = tmp_path / "resigned"
    shutil.copytree(source.backup("signed", "--sign-key", str(_signing_key(source))), resigned)
    manifest = json.loads((resigned / "manifest.json").read_text())
    (resigned / "manifest.json").write_text(json.dumps(sign_manifest(manifest, load_private_key(other_private))))
    target = sqlite_target(tmp_path / "t.sqlite3", True)
    before = target.snapshot()

    code, output = restore(cli, resigned, target, str(tmp_path / "l.sqlite3"), "--require-signature", "--public-key",
                           public)  # fmt: skip
    assert code == 1 and "not by the key of --public-key" in output

    code, output = restore(cli, source.backup(), target, str(tmp_path / "l.sqlite3"), "--require-signature",
                           "--public-key", public)  # fmt: skip
    assert code == 1 and "the backup is not signed and --require-signature was given" in output
    assert target.snapshot() == before

    result = run(cli, "restore", source.backup(), "--target", target.url, "--require-signature")
    assert result.exit_code == 2 and "--require-signature needs --public-key" in result.output


def test_a_target_that_lacks_a_table_of_the_packages_profile_is_refused_naming_it(
    source: Source, tmp_path: Path, cli: CliRunner
) -> None:
    target = sqlite_target(tmp_path / "t.sqlite3", True)
    assert isinstance(target, SqliteTarget)
    target.execute("DROP TABLE workflows_workflowtransition")
    target.execute("ALTER TABLE documents_document DROP COLUMN effective_date")
    before = target.snapshot()

    code, output = restore(cli, source.backup(), target, str(tmp_path / "l.sqlite3"))

    assert code == 1
    assert "the backup's profile does not fit the target (2 differences)" in output
    assert "model workflows.workflowtransition: the target has no table 'workflows_workflowtransition'" in output
    assert "table 'documents_document' has no column 'effective_date'" in output
    assert target.snapshot() == before


def test_the_profile_command_prints_a_profile_that_restores_a_plain_dumpdata_backup(
    source: Source, reinitialised: Target, tmp_path: Path, cli: CliRunner
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(manage("restore_ledger_profile", db=source.db))

    result = run(cli, "restore", source.fixture(), "--target", reinitialised.url, "--ledger",
                 tmp_path / "l.sqlite3", "--profile", profile, "--quiet")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "0 differences" in source.compare(reinitialised.django, *BUSINESS_ONLY)


def test_a_tar_package_round_trips_through_the_reader(source: Source, tmp_path: Path, cli: CliRunner) -> None:
    archive = tar_package(source.backup(), tmp_path / "copy.tar.gz")

    result = run(cli, "inspect", archive)

    assert result.exit_code == 0, result.output
    assert "records: 522" in result.output


def test_a_target_whose_migrations_are_older_than_the_backups_is_refused(
    source: Source, tmp_path: Path, cli: CliRunner
) -> None:
    target = sqlite_target(tmp_path / "t.sqlite3", True)
    manifest = json.loads((source.backup() / "manifest.json").read_text())
    for app, names in manifest["source_system"]["migrations"].items():
        for name in names if app != "auth" else names[:-1]:  # auth one migration behind
            target.execute(
                f"INSERT INTO django_migrations (app, name, applied) VALUES ('{app}', '{name}', '2026-01-01')"
            )
    before = target.snapshot()

    code, output = restore(cli, source.backup(), target, str(tmp_path / "l.sqlite3"))

    assert code == 1
    latest = manifest["source_system"]["migrations"]["auth"][-1]
    assert f"app auth: the target's migrations are older than the backup's (not applied: {latest})" in output
    assert "(1 differences)" in output
    assert target.snapshot() == before
