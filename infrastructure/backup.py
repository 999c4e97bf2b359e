"""Reading Django backups: format detection from content, streaming records, packages.

Supported: a ``dumpdata`` JSON array or JSON Lines, either one plain or compressed
(gzip, bzip2, xz), a ``.zip`` holding one fixture, and a backup package (zip, tar,
optionally compressed, or a directory) with ``manifest.json``, fixtures and ``media/``.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from domain.errors import BackupError
from domain.records import Record
from infrastructure.manifest import check_manifest
from infrastructure.reading import Budget, Digesting, Limits, array_items, exceeded, line_items

SUPPORTED = (
    "supported: a dumpdata JSON array or JSON Lines file, plain or compressed with gzip, bzip2 "
    "or xz; a .zip holding one such fixture; a backup package (.zip, .tar, .tar.gz, .tar.bz2, "
    ".tar.xz or a directory) with manifest.json"
)
# A binary stream: files, archive members and decompressors alike (typeshed gives them no common type).
Stream = Any
_COMPRESSIONS: dict[bytes, tuple[str, Callable[[Stream], Stream]]] = {
    b"\x1f\x8b": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw)),
    b"BZh": ("bzip2", lambda raw: bz2.BZ2File(raw)),
    b"\xfd7zXZ\x00": ("xz", lambda raw: lzma.LZMAFile(raw)),
}
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class MediaFile:
    path: str  # relative to the media root, as the application stores it
    sha256: str
    size: int


@dataclass
class BackupInfo:
    path: str
    format: str
    sha256: str
    size: int
    manifest: dict[str, Any] | None = None
    fixtures: list[str] = field(default_factory=list)
    media: list[MediaFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "sha256": self.sha256,
            "size": self.size,
            "fixtures": self.fixtures,
            "media_files": len(self.media),
            "manifest": {k: v for k, v in (self.manifest or {}).items() if k != "files"} or None,
        }


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, or of a directory's ``manifest.json``."""
    target = path / "manifest.json" if path.is_dir() else path
    digest = hashlib.sha256()
    size = 0
    with open(target, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _describe_bytes(head: bytes) -> str:
    if not head:
        return "an empty file"
    text = head[:40]
    if all(32 <= b < 127 or b in b"\r\n\t" for b in text):
        return f"text starting with {text.decode('ascii')!r}"
    return f"binary data starting with bytes {text[:8].hex(' ')}"


def _first_significant(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


def _fixture_kind(head: bytes) -> str | None:
    first = _first_significant(head)
    return {b"[": "json", b"{": "jsonl"}.get(first)


def _is_tar(head: bytes) -> bool:
    return len(head) > 262 and head[257:262] == b"ustar"


def _safe(name: str) -> str:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise BackupError(f"package entry {name!r} leaves the package; nothing was written")
    return str(path)


class Backup:
    """An opened backup: its detected format, verified manifest, and a way to stream records."""

    def __init__(
        self,
        info: BackupInfo,
        open_fixture: Callable[[str], Stream],
        open_member: Callable[[str], Stream],
        archive: Stream | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.info = info
        self._open_fixture = open_fixture
        self._open_member = open_member
        self._archive = archive
        self.limits = limits or Limits()
        # the sha256 each fixture must have in every pass: the file's own, the manifest's, or the first pass's
        self._expected: dict[str, str] = _expected_digests(info)

    def __enter__(self) -> Backup:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()

    def records(self) -> Iterator[Record]:
        """Every record in backup order, read as a stream within the limits; ordinals count from 1.

        Each pass hashes the bytes it reads: a backup that changed since it was opened is refused.
        """
        ordinal = 0
        # a package's files were checked against manifest.json (size and sha256) when it was opened
        listed = sum(int(e["size"]) for e in self.info.manifest["files"]) if self.info.manifest else 0
        budget = Budget(self.limits, self.info.size + listed)
        for name in self.info.fixtures:
            try:
                digesting = Digesting(self._open_fixture(name))
                with _fixture_stream(digesting) as stream:
                    for record in _read_fixture(stream, name, ordinal, self.limits, budget):
                        ordinal = record.ordinal
                        if ordinal > self.limits.max_records:
                            raise exceeded(
                                "max_records", "the number of records", self.limits.max_records, f"record {ordinal}"
                            )
                        yield record
                    seen = digesting.finish()
            except DAMAGED as error:
                raise damaged(error, f"record {ordinal + 1}") from None
            expected = self._expected.setdefault(name, seen)
            if seen != expected:
                raise BackupError(
                    f"the backup changed while it was read: {name!r} now has sha256 {seen}, "
                    f"not {expected} as when the restore started; nothing was written"
                )

    def profile_text(self) -> str | None:
        """The restore profile the package carries (``profile.toml``, verified), or None."""
        name = (self.info.manifest or {}).get("profile")
        if name is None:
            return None
        with self._open_member(name) as stream:
            return bytes(stream.read()).decode("utf-8")

    def open_media(self, path: str) -> Stream:
        """The bytes of a media file, by its path relative to the media root."""
        return self._open_member(f"media/{path}")


def _expected_digests(info: BackupInfo) -> dict[str, str]:
    if info.manifest is not None:
        return {str(e["path"]): str(e["sha256"]) for e in info.manifest["files"] if str(e["path"]) in info.fixtures}
    if "zip" in info.format:
        return {}  # the zip's member: the first pass's digest
    return {name: info.sha256 for name in info.fixtures}


# what damaged compressed data or archives raise while they are read
DAMAGED = (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, tarfile.TarError, NotImplementedError,
           RuntimeError, UnicodeDecodeError)  # fmt: skip


def damaged(error: Exception, record: str | None = None) -> BackupError:
    return BackupError(f"the backup is damaged and cannot be read ({type(error).__name__}: {error})", record)


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
        return _directory_package(path, sha256, size, limits)
    with open(path, "rb") as stream:
        head = stream.read(512)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip(path, sha256, size, limits)
    for magic, (name, opener) in _COMPRESSIONS.items():
        if head.startswith(magic):
            with open(path, "rb") as raw, opener(raw) as inner:
                try:
                    inner_head = inner.read(512)
                except (OSError, EOFError, lzma.LZMAError) as error:
                    raise BackupError(f"{name} data that cannot be decompressed ({error}); {SUPPORTED}") from None
            if _is_tar(inner_head):
                return _tar_package(path, f"package (tar+{name})", sha256, size, limits)
            kind = _fixture_kind(inner_head)
            if kind is None:
                raise BackupError(f"found {name} holding {_describe_bytes(inner_head)}; {SUPPORTED}")
            info = BackupInfo(str(path), f"{kind}+{name}", sha256, size, fixtures=[path.name])
            return Backup(info, lambda _n: open(path, "rb"), _no_member, limits=limits)
    if _is_tar(head):
        return _tar_package(path, "package (tar)", sha256, size, limits)
    kind = _fixture_kind(head)
    if kind is None:
        raise BackupError(f"found {_describe_bytes(head)}; {SUPPORTED}")
    info = BackupInfo(str(path), kind, sha256, size, fixtures=[path.name])
    return Backup(info, lambda _n: open(path, "rb"), _no_member, limits=limits)


def _no_member(name: str) -> Stream:
    raise BackupError(f"this backup has no package entry {name!r}")


@contextmanager
def _fixture_stream(raw: Stream) -> Iterator[Stream]:
    """A fixture's bytes, decompressed when its first bytes say so; closes what it opened."""
    try:
        buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
        head = buffered.peek(8)[:8]
        for magic, (_name, opener) in _COMPRESSIONS.items():
            if head.startswith(magic):
                with opener(buffered) as inner:
                    yield inner
                return
        yield buffered
    finally:
        raw.close()


def _zip(path: Path, sha256: str, size: int, limits: Limits) -> Backup:
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
        name = _safe(entry.filename)
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
    with _fixture_stream(member_stream(names[0])) as member:
        head = member.read(512)
    kind = _fixture_kind(head)
    if kind is None:
        raise BackupError(f"found a zip archive whose file {names[0]!r} holds {_describe_bytes(head)}; {SUPPORTED}")
    info = BackupInfo(str(path), f"{kind}+zip", sha256, size, fixtures=[names[0]])
    return Backup(info, member_stream, _no_member, archive, limits)


def _tar_package(path: Path, fmt: str, sha256: str, size: int, limits: Limits) -> Backup:
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
        name = _safe(member.name)
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


def _directory_package(path: Path, sha256: str, size: int, limits: Limits) -> Backup:
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
        target = (root / _safe(name)).resolve()
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
            while actual <= entry["size"] and (chunk := stream.read(_CHUNK)):
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
        name = _safe(entry["path"])
        if name in entries:
            raise BackupError(
                f"manifest.json lists {name!r} twice (file entries {numbers[name]} and {number}); nothing was written"
            )
        if name not in members:
            raise BackupError(f"manifest.json lists {name!r}, which the package does not hold")
        entries[name], numbers[name] = entry, number
    return entries


def _read_fixture(stream: Stream, name: str, ordinal: int, limits: Limits, budget: Budget) -> Iterator[Record]:
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)
    kind = _fixture_kind(buffered.peek(512)[:512])
    if kind is None:
        raise BackupError(f"fixture {name!r} holds {_describe_bytes(buffered.peek(64)[:64])}; {SUPPORTED}")
    read = line_items if kind == "jsonl" else array_items
    for item in read(buffered, name, ordinal, limits, budget):
        ordinal += 1
        yield _record(item, ordinal)


def _record(item: Any, ordinal: int) -> Record:
    if not isinstance(item, dict):
        raise BackupError(f"is {type(item).__name__}, not an object", f"record {ordinal}")
    model = item.get("model")
    if not isinstance(model, str) or "." not in model:
        raise BackupError("has no 'model' (an 'app_label.model_name' string)", f"record {ordinal}")
    fields = item.get("fields")
    if not isinstance(fields, dict):
        raise BackupError("has no 'fields' object", f"record {ordinal} ({model.lower()})")
    return Record(ordinal, sys.intern(model.lower()), item.get("pk"), fields)  # one string per model, not per record
