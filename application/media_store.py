"""A content-addressed media store: each media file of a backup kept once, under its sha256, so
that a rebuild finds media files without the backup they came in."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from domain.errors import BackupError
from infrastructure.backup import open_backup
from infrastructure.rebuild_projection import store_path


@dataclass
class Stored:
    backup: str
    files: int
    added: int


def store_media(backup_path: Path, store: Path) -> Stored:
    """Copy every media file of the backup into the store, each verified against its recorded sha256."""
    added = 0
    with open_backup(backup_path) as backup:
        for media in backup.info.media:
            destination = store_path(store, media.sha256)
            if destination.is_file():
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            partial = destination.with_name(f".{destination.name}.part")
            digest = hashlib.sha256()
            with backup.open_media(media.path) as source, open(partial, "wb") as sink:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    sink.write(chunk)
            if digest.hexdigest() != media.sha256:
                partial.unlink()
                raise BackupError(f"media file {media.path!r} does not match the sha256 its manifest records")
            partial.replace(destination)
            added += 1
    return Stored(str(backup_path.resolve()), len(backup.info.media), added)
