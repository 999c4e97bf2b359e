"""The manifest's JSON Schema and its Ed25519 signature, without a package around them."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.errors import BackupError
from infrastructure.manifest import check_manifest
from infrastructure.signing import sign_manifest

FILE = {"path": "data/dump.jsonl", "sha256": "0" * 64, "size": 10}


def version_2(**changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format_version": 2,
        "created_at": "2026-12-01T21:00:00+01:00",
        "tool": {"name": "restore-ledger", "version": "0.1.0"},
        "source_system": {
            "django_version": "5.2",
            "installed_apps": ["accounts"],
            "migrations": {"accounts": ["0001_initial"]},
            "database_vendor": "postgresql",
        },
        "dump": {"format": "jsonl", "natural_foreign": True, "natural_primary": True, "excluded": [], "counts": {}},
        "profile": "profile.toml",
        "files": [FILE, {"path": "profile.toml", "sha256": "1" * 64, "size": 3}],
    }
    return manifest | changes


def test_format_1_is_still_read() -> None:
    manifest = {"format_version": 1, "created_at": "yesterday", "source_system": "EDMS", "files": [FILE]}

    assert check_manifest(manifest) == manifest


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"format_version": 3, "files": []}, "format_version 3 is not supported (1, 2 are)"),
        ({"format_version": 1}, "at (top): 'files' is a required property"),
        ({"format_version": 1, "files": [{"path": "x", "sha256": "abc", "size": 1}]}, "at files/0/sha256"),
        (version_2(created_at="2026-12-01T21:00:00"), "at created_at"),  # no offset
        ({k: v for k, v in version_2().items() if k != "source_system"}, "'source_system' is a required property"),
        (version_2(profile="elsewhere.toml"), "names profile 'elsewhere.toml' but does not list it"),
        ({"format_version": 1, "files": [FILE], "profile": "p.toml"}, "not a valid package manifest"),
        ([], "not a valid package manifest"),
    ],
)
def test_a_manifest_that_breaks_the_schema_is_refused_naming_where(manifest: Any, message: str) -> None:
    with pytest.raises(BackupError, match=r"manifest\.json") as raised:
        check_manifest(manifest)

    assert message in str(raised.value)


def test_a_signed_manifest_verifies_and_any_change_after_signing_is_refused() -> None:
    signed = sign_manifest(version_2(), Ed25519PrivateKey.generate(), "qa")

    assert check_manifest(signed)["signature"]["signer"] == "qa"
    changed = signed | {"files": [FILE | {"size": 11}, signed["files"][1]]}
    with pytest.raises(BackupError, match="altered after it was signed"):
        check_manifest(changed)
    other = sign_manifest(version_2(), Ed25519PrivateKey.generate())
    swapped = signed | {"signature": signed["signature"] | {"public_key": other["signature"]["public_key"]}}
    with pytest.raises(BackupError, match="key_id is not the sha256 of its public key"):
        check_manifest(swapped)
