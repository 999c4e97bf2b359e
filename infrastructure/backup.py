"""Reading Django backups: format detection from content, streaming records, packages.

Supported: a ``dumpdata`` JSON array or JSON Lines, either one plain or compressed
(gzip, bzip2, xz), a ``.zip`` holding one fixture, and a backup package (zip, tar,
optionally compressed, or a directory) with ``manifest.json``, fixtures and ``media/``.
"""

from __future__ import annotations

import lzma
from pathlib import Path

from domain.errors import BackupError
from infrastructure.backup_packages import directory_package, tar_package, zip_package
from infrastructure.backup_stream import (
    COMPRESSIONS,
    DAMAGED,
    SUPPORTED,
    Backup,
    BackupInfo,
    MediaFile,
    damaged,
    describe_bytes,
    file_digest,
    fixture_kind,
    is_tar,
    no_member,
)
from infrastructure.reading import Limits

__all__ = ["Backup", "BackupInfo", "MediaFile", "damaged", "file_digest", "open_backup"]


def open_backup(path: Path, limits: Limits | None = None) -> Backup:
    """Detect the format of ``path`` from its content and open it; ``BackupError`` if unsupported."""
    try:
        return _open_backup(path, limits or Limits())
    except DAMAGED as error:
        raise damaged(error) from None


def _open_backup(path: Path, limits: Limits) -> Backup:
    if not path.exists():
        raise BackupError(f"backup {str(path)!r} does not exist")
    sha256, size = file_digest(path) if not path.is_dir() or (path / "manifest.json").exists() else ("", 0)
    if path.is_dir():
        if not (path / "manifest.json").exists():
            raise BackupError(f"directory {str(path)!r} holds no manifest.json; {SUPPORTED}")
        return directory_package(path, sha256, size, limits)
    with open(path, "rb") as stream:
        head = stream.read(512)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return zip_package(path, sha256, size, limits)
    for magic, (name, opener) in COMPRESSIONS.items():
        if head.startswith(magic):
            with open(path, "rb") as raw, opener(raw) as inner:
                try:
                    inner_head = inner.read(512)
                except (OSError, EOFError, lzma.LZMAError) as error:
                    raise BackupError(f"{name} data that cannot be decompressed ({error}); {SUPPORTED}") from None
            if is_tar(inner_head):
                return tar_package(path, f"package (tar+{name})", sha256, size, limits)
            kind = fixture_kind(inner_head)
            if kind is None:
                raise BackupError(f"found {name} holding {describe_bytes(inner_head)}; {SUPPORTED}")
            info = BackupInfo(str(path), f"{kind}+{name}", sha256, size, fixtures=[path.name])
            return Backup(info, lambda _n: open(path, "rb"), no_member, limits=limits)
    if is_tar(head):
        return tar_package(path, "package (tar)", sha256, size, limits)
    kind = fixture_kind(head)
    if kind is None:
        raise BackupError(f"found {describe_bytes(head)}; {SUPPORTED}")
    info = BackupInfo(str(path), kind, sha256, size, fixtures=[path.name])
    return Backup(info, lambda _n: open(path, "rb"), no_member, limits=limits)
