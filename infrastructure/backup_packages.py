"""Backup packages: a zip, a tar (optionally compressed) or a directory with ``manifest.json``, its fixtures,
``media/`` and maybe ``profile.toml``; every file is checked against the manifest before anything is read."""

from __future__ import annotations

import hashlib
import json
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain.errors import BackupError
from infrastructure.backup_stream import (
    CHUNK,
    SUPPORTED,
    Backup,
    BackupInfo,
    MediaFile,
    Stream,
    describe_bytes,
    fixture_kind,
    fixture_stream,
    no_member,
    safe_name,
)
from infrastructure.manifest import check_manifest
from infrastructure.reading import Limits, exceeded


def zip_package(path: Path, sha256: str, size: int, limits: Limits) -> Backup:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise BackupError(f"found a damaged zip archive ({error}); {SUPPORTED}") from None
    try:
        return _zip_backup(path, sha256, size, archive, limits)
    except (BackupError, OSError, zipfile.BadZipFile):
        archive.close()
        raise


def _zip_backup(path: Path, sha256: str, size: int, archive: zipfile.ZipFile, limits: Limits) -> Backup:
    if len(archive.infolist()) > limits.max_files:
        raise exceeded(
            "max_files", f"the number of files in the zip archive ({len(archive.infolist()):,})", limits.max_files
        )
    if any(not info.filename for info in archive.infolist()):
        raise BackupError("found a zip archive with an entry without a name; a package entry needs a path")
    entries: dict[str, zipfile.ZipInfo] = {}
    for entry in archive.infolist():
        name = safe_name(entry.filename)
        if not entry.is_dir() and entries.setdefault(name, entry) is not entry:
            raise BackupError(f"found a zip archive holding two entries named {name!r}")
    names = list(entries)

    def member_stream(name: str) -> Stream:
        if name not in entries:
            raise BackupError(f"package entry {name!r} is missing")
        return archive.open(entries[name])

    if "manifest.json" in entries:
        _check_manifest_size(entries["manifest.json"].file_size, limits)
        with member_stream("manifest.json") as stream:
            manifest = _manifest(stream.read())
        info = _package_info(path, "package (zip)", sha256, size, manifest, set(names), member_stream, limits)
        return Backup(info, member_stream, member_stream, archive, limits)
    if len(names) != 1:
        raise BackupError(
            f"found a zip archive with {len(names)} files and no manifest.json ({', '.join(names[:5])}); {SUPPORTED}"
        )
    with fixture_stream(member_stream(names[0])) as member:
        head = member.read(512)
    kind = fixture_kind(head)
    if kind is None:
        raise BackupError(f"found a zip archive whose file {names[0]!r} holds {describe_bytes(head)}; {SUPPORTED}")
    info = BackupInfo(str(path), f"{kind}+zip", sha256, size, fixtures=[names[0]])
    return Backup(info, member_stream, no_member, archive, limits)


def tar_package(path: Path, fmt: str, sha256: str, size: int, limits: Limits) -> Backup:
    try:
        archive = tarfile.open(path)
    except tarfile.TarError as error:
        raise BackupError(f"found a damaged tar archive ({error}); {SUPPORTED}") from None
    try:
        return _tar_backup(path, fmt, sha256, size, archive, limits)
    except (BackupError, OSError, tarfile.TarError):
        archive.close()
        raise


def _tar_backup(path: Path, fmt: str, sha256: str, size: int, archive: tarfile.TarFile, limits: Limits) -> Backup:
    entries = {}
    for number, member in enumerate(archive, start=1):
        if number > limits.max_files:
            raise exceeded("max_files", "the number of entries in the tar archive", limits.max_files)
        name = safe_name(member.name)
        if member.issym() or member.islnk():
            raise BackupError(f"package entry {member.name!r} is a link; links are not allowed in a package")
        if member.isfile():
            entries[name.removeprefix("./")] = member
        elif not member.isdir():
            raise BackupError(
                f"package entry {member.name!r} is a {_TAR_KINDS.get(member.type, 'special file')}; "
                "a package holds only regular files and directories"
            )

    def member_stream(name: str) -> Stream:
        stream = archive.extractfile(entries[name]) if name in entries else None
        if stream is None:
            raise BackupError(f"package entry {name!r} is missing")
        return stream

    if "manifest.json" not in entries:
        raise BackupError(f"found a tar archive without manifest.json; {SUPPORTED}")
    _check_manifest_size(entries["manifest.json"].size, limits)
    with member_stream("manifest.json") as stream:
        manifest = _manifest(stream.read())
    info = _package_info(path, fmt, sha256, size, manifest, set(entries), member_stream, limits)
    return Backup(info, member_stream, member_stream, archive, limits)


_TAR_KINDS = {
    tarfile.FIFOTYPE: "FIFO",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.CONTTYPE: "contiguous file",
}


def _check_manifest_size(size: int, limits: Limits) -> None:
    if size > limits.max_record_bytes:
        raise exceeded("max_record_bytes", f"manifest.json ({size:,} bytes)", limits.max_record_bytes)


def directory_package(path: Path, sha256: str, size: int, limits: Limits) -> Backup:
    root = path.resolve()
    members = set()
    for number, file in enumerate(path.rglob("*"), start=1):
        if number > limits.max_files:
            raise exceeded("max_files", "the number of files in the package directory", limits.max_files)
        if file.is_file():
            members.add(str(file.relative_to(path)).replace("\\", "/"))
        elif not file.is_dir():
            raise BackupError(
                f"package entry {str(file.relative_to(path))!r} is not a regular file; "
                "a package holds only regular files and directories"
            )

    def member_stream(name: str) -> Stream:
        target = (root / safe_name(name)).resolve()
        if not target.is_relative_to(root):
            raise BackupError(f"package entry {name!r} leaves the package; nothing was written")
        return open(target, "rb")

    _check_manifest_size((path / "manifest.json").stat().st_size, limits)
    manifest = _manifest((path / "manifest.json").read_bytes())
    info = _package_info(path, "package (directory)", sha256, size, manifest, members, member_stream, limits)
    return Backup(info, member_stream, member_stream, limits=limits)


def _manifest(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise BackupError(f"manifest.json is not valid JSON ({error})") from None
    return check_manifest(manifest)


def _package_info(
    path: Path,
    fmt: str,
    sha256: str,
    size: int,
    manifest: dict[str, Any],
    members: set[str],
    open_member: Callable[[str], Stream],
    limits: Limits,
) -> BackupInfo:
    """Check every file of the manifest (path, size, sha256) before anything is written."""
    entries = _manifest_entries(manifest, members, limits)
    declared = sum(entry["size"] for entry in entries.values())
    if declared > limits.max_total_bytes:
        raise exceeded("max_total_bytes", f"the files manifest.json lists ({declared:,} bytes)", limits.max_total_bytes)
    fixtures: list[str] = []
    media: list[MediaFile] = []
    for name, entry in entries.items():
        digest = hashlib.sha256()
        actual = 0
        with open_member(name) as stream:
            while actual <= entry["size"] and (chunk := stream.read(CHUNK)):
                digest.update(chunk)
                actual += len(chunk)
        if actual != entry["size"] or digest.hexdigest() != entry["sha256"]:
            shown = f"size {actual}" if actual <= entry["size"] else f"more than {entry['size']} bytes"
            raise BackupError(
                f"package file {name!r} does not match manifest.json: sha256 {digest.hexdigest()} "
                f"{shown}, manifest says sha256 {entry['sha256']} size {entry['size']}; "
                "nothing was written"
            )
        if name.startswith("media/"):
            media.append(MediaFile(name.removeprefix("media/"), entry["sha256"], actual))
        elif name != manifest.get("profile"):
            fixtures.append(name)
    unlisted = sorted(members - set(entries) - {"manifest.json"})
    if unlisted:
        raise BackupError(f"package holds files that manifest.json does not list: {', '.join(unlisted[:5])}")
    if not fixtures:
        raise BackupError("manifest.json lists no fixture")
    return BackupInfo(str(path), fmt, sha256, size, manifest, fixtures, media)


def _manifest_entries(manifest: dict[str, Any], members: set[str], limits: Limits) -> dict[str, dict[str, Any]]:
    """The manifest's files by path, each listed once, with a sha256 and a size; nothing is read yet."""
    if len(manifest["files"]) > limits.max_files:
        raise exceeded("max_files", f"the files manifest.json lists ({len(manifest['files']):,})", limits.max_files)
    entries: dict[str, dict[str, Any]] = {}
    numbers: dict[str, int] = {}
    for number, entry in enumerate(manifest["files"], start=1):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("path"), str)
            or not isinstance(entry.get("sha256"), str)
            or type(entry.get("size")) is not int
            or entry["size"] < 0
        ):
            raise BackupError(
                f"manifest.json file entry {number} needs path (text), sha256 (text) and size (a whole number)"
            )
        name = safe_name(entry["path"])
        if name in entries:
            raise BackupError(
                f"manifest.json lists {name!r} twice (file entries {numbers[name]} and {number}); nothing was written"
            )
        if name not in members:
            raise BackupError(f"manifest.json lists {name!r}, which the package does not hold")
        entries[name], numbers[name] = entry, number
    return entries
