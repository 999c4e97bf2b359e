"""A backup package's own profile and signature, checked against the target and the request
before anything is written."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from domain.errors import BackupError
from domain.planning import columns_of
from domain.profile import Profile
from infrastructure.manifest import signer
from infrastructure.signing import KeyFileError, key_id, load_public_key


def required_key(require_signature: bool, public_key: Path | None) -> str | None:
    """The key id a restore requires the backup to be signed with; ValueError if it cannot be told."""
    if not require_signature:
        return None
    if public_key is None:
        raise ValueError("--require-signature needs --public-key FILE: the key the backup must be signed with")
    try:
        return key_id(load_public_key(public_key))
    except KeyFileError as error:
        raise ValueError(str(error)) from None


def signature_problem(manifest: dict[str, Any] | None, required: str | None) -> BackupError | None:
    """Why the backup does not carry the required signature (its signature itself was verified on
    opening), or None."""
    if required is None:
        return None
    who = signer(manifest)
    if who is None:
        return BackupError("the backup is not signed and --require-signature was given; nothing was written")
    if who["key_id"] != required:
        return BackupError(
            f"the backup is signed by key {who['key_id'][:16]}, not by the key of --public-key "
            f"({required[:16]}); nothing was written"
        )
    return None


def profile_differences(
    profile: Profile,
    labels: Iterable[str],
    columns: dict[str, set[str]],
    backup_migrations: dict[str, list[str]],
    target_migrations: dict[str, set[str]],
) -> list[str]:
    """What the target lacks that the backup's profile says its models need: a table, a column,
    a many-to-many table, a migration the backup's database had applied to an app whose records it holds."""
    found: list[str] = []
    labels = sorted(labels)
    apps = {label.split(".", 1)[0] for label in labels}
    for label in labels:
        model = profile.models.get(label)
        if model is None:
            continue
        if model.table not in columns:
            found.append(f"model {label}: the target has no table {model.table!r}")
            continue
        wanted = columns_of(model)
        lacking = [c for c in wanted if c not in columns[model.table]]
        if lacking:
            found.append(f"model {label}: table {model.table!r} has no column {', '.join(map(repr, lacking))}")
        for m2m in model.many_to_many.values():
            if m2m.table not in columns:
                found.append(f"model {label}: the target has no many-to-many table {m2m.table!r} ({m2m.field})")
    if target_migrations:
        for app, names in sorted(backup_migrations.items()):
            if app not in apps:  # left out of the backup (dumpdata --exclude): its schema does not matter
                continue
            missing = [name for name in names if name not in target_migrations.get(app, set())]
            if missing:
                found.append(
                    f"app {app}: the target's migrations are older than the backup's "
                    f"(not applied: {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''})"
                )
    return found
