"""The projection for a rebuild: every restore replayed into a fresh target in ONE transaction.

All or nothing: if any restore cannot be replayed, nothing of any of them stays in the target
and no media file stays in its media root. Mapped rows are checked with the same pk and UUID,
as for a replay. Media come from the backup found by its sha256, or from a content-addressed
media store, each file's digest verified.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from domain.errors import ApplyError, RestoreError
from infrastructure.backup import file_digest
from infrastructure.checkpoints import checkpoint
from infrastructure.projection import REPLAY, Done, IntentFailed, Projection, _Work
from infrastructure.reading import Limits


def store_path(store: Path, sha256: str) -> Path:
    """Where a media store keeps the file of this digest."""
    return store / sha256[:2] / sha256


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class AtomicProjection(Projection):
    """Carries out this target's replay intents, all in one target transaction."""

    backup_dir: Path | None = None
    media_store: Path | None = None

    def run(self) -> list[Done]:
        done: list[Done] = []
        works: list[_Work] = []
        if not self.conn.in_transaction():
            self.conn.begin()
        self.writer.lock_projection(self.conn)
        try:
            for notification_id, event, action in list(self.pending()):
                if action != REPLAY:
                    continue
                work = _Work(event.originator_id)
                works.append(work)
                try:
                    self._apply(work, check_identity=True, media_root=event.target.get("media_root"))
                    self._bookkeeping(work, notification_id, action, sequences=False)
                except RestoreError as error:
                    raise IntentFailed(event.originator_id, action, error) from None
                except (sa.exc.DBAPIError, OSError) as error:
                    cause = ApplyError(f"the target refused the restore: {error}")
                    raise IntentFailed(event.originator_id, action, cause) from None
                done.append(Done(work.restore_id, action, notification_id, work.rows))
            tables = {table: pk for work in works for table, pk in work.tables.items()}
            self.writer.advance_sequences(self.conn, tables)  # last: a rollback does not undo it
            checkpoint("rebuild-before-commit")
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            for work in works:
                self._undo_media(work)
            raise
        for work in works:
            self._finish_media(work)
        return done

    def backup_path(self, backup: dict[str, Any]) -> str:
        """The restore's backup, found by its sha256 in --backup-dir, else where it was restored from."""
        wanted = backup.get("sha256", "")
        if self.media_store is not None:
            return ""  # the files come from the store
        if self.backup_dir is None:
            recorded = Path(backup["path"])
            if recorded.exists() and _digest(recorded) == wanted:
                return str(recorded)
            raise ApplyError(
                f"the backup {backup['path']!r} (sha256 {wanted[:12]}...) holding the media files is not there "
                "or was changed: give --backup-dir or --media-store"
            )
        for candidate in sorted(self.backup_dir.iterdir()):
            if _digest(candidate) == wanted:
                return str(candidate)
        raise ApplyError(f"no backup with sha256 {wanted[:12]}... in {str(self.backup_dir)!r} for the media files")

    def _stage_media(
        self, work: _Work, backup_path: str, media_root: str | None, files: list[dict[str, Any]], limits: Limits
    ) -> None:
        if self.media_store is None:
            super()._stage_media(work, backup_path, media_root, files, limits)
            return
        if not media_root:
            raise ApplyError("the restore has media files but no media root was given (--media-root)")
        root = Path(media_root)
        for entry in files:
            source = store_path(self.media_store, entry["sha256"])
            destination = (root / entry["path"]).resolve()
            if not destination.is_relative_to(root):
                raise ApplyError(f"media file {entry['path']!r} would leave the media root")
            if not source.is_file():
                raise ApplyError(f"media file {entry['path']!r} (sha256 {entry['sha256'][:12]}...) is not in the store")
            if destination.exists():
                raise ApplyError(f"media file {str(destination)!r} exists already; it is not overwritten")
            destination.parent.mkdir(parents=True, exist_ok=True)
            staged = destination.with_name(f".{destination.name}.{work.restore_id}.part")
            work.staged.append((staged, destination))
            shutil.copyfile(source, staged)
            if file_sha256(staged) != entry["sha256"]:
                raise ApplyError(f"media file {entry['path']!r} in the store does not match its recorded sha256")


def _digest(path: Path) -> str:
    """A backup's sha256 as the ledger records it (a package directory: its manifest's)."""
    if path.is_dir() and not (path / "manifest.json").is_file():
        return ""
    return file_digest(path)[0]
