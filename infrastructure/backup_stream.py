"""An opened Django backup: what it is (format, digest, manifest, media) and its records as a stream.

``infrastructure.backup`` detects a backup's format and opens it; ``infrastructure.backup_packages``
opens the archives and directories of backup packages.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
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
from infrastructure.reading import Budget, Digesting, Limits, array_items, exceeded, line_items

SUPPORTED = (
    "supported: a dumpdata JSON array or JSON Lines file, plain or compressed with gzip, bzip2 "
    "or xz; a .zip holding one such fixture; a backup package (.zip, .tar, .tar.gz, .tar.bz2, "
    ".tar.xz or a directory) with manifest.json"
)
# A binary stream: files, archive members and decompressors alike (typeshed gives them no common type).
Stream = Any
COMPRESSIONS: dict[bytes, tuple[str, Callable[[Stream], Stream]]] = {
    b"\x1f\x8b": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw)),
    b"BZh": ("bzip2", lambda raw: bz2.BZ2File(raw)),
    b"\xfd7zXZ\x00": ("xz", lambda raw: lzma.LZMAFile(raw)),
}
CHUNK = 1 << 20


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
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def describe_bytes(head: bytes) -> str:
    if not head:
        return "an empty file"
    text = head[:40]
    if all(32 <= b < 127 or b in b"\r\n\t" for b in text):
        return f"text starting with {text.decode('ascii')!r}"
    return f"binary data starting with bytes {text[:8].hex(' ')}"


def _first_significant(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


def fixture_kind(head: bytes) -> str | None:
    first = _first_significant(head)
    return {b"[": "json", b"{": "jsonl"}.get(first)


def is_tar(head: bytes) -> bool:
    return len(head) > 262 and head[257:262] == b"ustar"


def safe_name(name: str) -> str:
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
                with fixture_stream(digesting) as stream:
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

    def digests_seen(self) -> dict[str, str]:
        """The sha256 each fixture must have in a later pass (the first pass's, where nothing else tells it)."""
        return dict(self._expected)

    def expect(self, digests: dict[str, str]) -> None:
        """Take the digests another process's pass saw (``digests_seen``), as if this one had read it."""
        for name, sha256 in digests.items():
            self._expected.setdefault(name, sha256)

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


def no_member(name: str) -> Stream:
    raise BackupError(f"this backup has no package entry {name!r}")


@contextmanager
def fixture_stream(raw: Stream) -> Iterator[Stream]:
    """A fixture's bytes, decompressed when its first bytes say so; closes what it opened."""
    try:
        buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
        head = buffered.peek(8)[:8]
        for magic, (_name, opener) in COMPRESSIONS.items():
            if head.startswith(magic):
                with opener(buffered) as inner:
                    yield inner
                return
        yield buffered
    finally:
        raw.close()


def _read_fixture(stream: Stream, name: str, ordinal: int, limits: Limits, budget: Budget) -> Iterator[Record]:
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)
    kind = fixture_kind(buffered.peek(512)[:512])
    if kind is None:
        raise BackupError(f"fixture {name!r} holds {describe_bytes(buffered.peek(64)[:64])}; {SUPPORTED}")
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
