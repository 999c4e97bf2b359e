"""A package's ``manifest.json``: checked against its JSON Schema, its signature verified.

``manifest.schema.json`` beside this module is the schema; ``docs/package-format.md``
explains it. Format 1 (files only) is still read; format 2 adds the source system,
the dump's flags, the package's profile and an optional Ed25519 signature.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from domain.errors import BackupError
from infrastructure.signing import verify_manifest

SCHEMA = Path(__file__).with_name("manifest.schema.json")
FORMAT_VERSION = 2
READABLE = (1, 2)


@cache
def _validator() -> Any:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def check_manifest(manifest: Any) -> dict[str, Any]:
    """The manifest if it is valid and, when signed, its signature matches; else ``BackupError``
    naming the first problem. Says nothing about the files yet: the reader checks those."""
    if isinstance(manifest, dict) and manifest.get("format_version") not in READABLE:
        raise BackupError(
            f"manifest.json format_version {manifest.get('format_version')!r} is not supported "
            f"({', '.join(map(str, READABLE))} are)"
        )
    error = jsonschema.exceptions.best_match(_validator().iter_errors(manifest))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top)"
        raise BackupError(f"manifest.json is not a valid package manifest at {where}: {error.message}")
    assert isinstance(manifest, dict)
    if "profile" in manifest and manifest["profile"] not in {entry["path"] for entry in manifest["files"]}:
        raise BackupError(f"manifest.json names profile {manifest['profile']!r} but does not list it in 'files'")
    if "signature" in manifest:
        try:
            verify_manifest(manifest)
        except ValueError as problem:
            raise BackupError(
                f"manifest.json was altered after it was signed: {problem}; nothing was written"
            ) from None
    return manifest


def signer(manifest: dict[str, Any] | None) -> dict[str, str] | None:
    """Who signed a (checked) manifest: key id and signer name; None when unsigned."""
    signature = (manifest or {}).get("signature")
    if not signature:
        return None
    return {"key_id": signature["key_id"], "signer": signature.get("signer", "")}
