"""Write a verified backup package of the live project (docs/package-format.md, format 2).

The fixture is written model by model with Django's streaming JSON Lines serializer
over ``queryset.iterator()``, in the order ``dumpdata`` uses with natural keys, so no
more than one chunk of objects is held at a time. Media files referenced by a
``FileField`` or ``ImageField`` value are copied once each. ``profile.toml`` holds the
exact restore profile, and ``manifest.json`` (sha256 and size of every file, source
system, flags, time) is written last, signed when a key is given.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Any

import django
from django.apps import apps
from django.core import serializers
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.migrations.recorder import MigrationRecorder

from infrastructure.manifest import FORMAT_VERSION
from infrastructure.signing import load_private_key, sign_manifest
from restore_ledger_django.profile import export_profile, to_toml

FORMATS = ("dir", "zip", "tar.gz")
FIXTURE = "data/dump.jsonl"
PROFILE = "profile.toml"
_CHUNK = 1 << 20


class PackageError(Exception):
    """A backup that cannot be made as asked, named."""


@dataclass
class BackupOptions:
    output: Path
    format: str = "dir"
    media: bool = True
    exclude: list[str] = field(default_factory=list)
    natural_foreign: bool = True
    natural_primary: bool = True
    sign_key: Path | None = None
    signer: str = ""
    database: str = DEFAULT_DB_ALIAS


Say = Callable[[str], None]


def tool_version() -> str:
    try:
        return version("restore-ledger")
    except PackageNotFoundError:
        return "unknown"


def selected_models(exclude: list[str]) -> list[type[models.Model]]:
    """The models dumpdata would dump without labels, less the excluded apps and models, in
    dependency order (a model after those its natural keys refer to)."""
    excluded_apps: set[str] = set()
    excluded_models: set[str] = set()
    for item in exclude:
        if "." in item:
            try:
                excluded_models.add(apps.get_model(item)._meta.label_lower)
            except (LookupError, ValueError):
                raise PackageError(f"--exclude {item!r}: no such model") from None
        else:
            try:
                excluded_apps.add(apps.get_app_config(item).label)
            except LookupError:
                raise PackageError(f"--exclude {item!r}: no such app label") from None
    app_list = []
    for config in apps.get_app_configs():
        if config.models_module is None or config.label in excluded_apps:
            continue
        chosen = [m for m in config.get_models() if m._meta.label_lower not in excluded_models and not m._meta.proxy]
        app_list.append((config, chosen))
    ordered: list[type[models.Model]] = serializers.sort_dependencies(app_list, allow_cycles=True)
    return ordered


def source_system(database: str) -> dict[str, Any]:
    connection = connections[database]
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return {
        "django_version": django.get_version(),
        "installed_apps": [config.name for config in apps.get_app_configs()],
        "migrations": applied,
        "database_vendor": connection.vendor,
    }


def _media_name(name: str) -> str | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or ".." in path.parts:
        return None
    return str(path)


class _Sink:
    """A file of the package being written: digested and counted as it is written. The
    serializer writes many small strings (json.dump writes token by token): they are
    gathered up to 64 KiB, then encoded, digested and written at once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(path, "wb")
        self.digest = hashlib.sha256()
        self.size = 0
        self.pending: list[str] = []
        self.pending_size = 0

    def write(self, text: str) -> None:
        self.pending.append(text)
        self.pending_size += len(text)
        if self.pending_size >= 1 << 16:
            self.flush()

    def write_bytes(self, raw: bytes) -> None:
        self.flush()
        self.digest.update(raw)
        self.size += len(raw)
        self.file.write(raw)

    def flush(self) -> None:
        if self.pending:
            raw = "".join(self.pending).encode("utf-8")
            self.pending.clear()
            self.pending_size = 0
            self.write_bytes(raw)

    def close(self) -> None:
        self.flush()
        self.file.close()


class _Writer:
    """The package's files in a directory, each listed with its sha256 and size."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[dict[str, Any]] = []

    @contextmanager
    def open(self, name: str) -> Iterator[_Sink]:
        sink = _Sink(self.root / name)
        try:
            yield sink
        finally:
            sink.close()
        self.files.append({"path": name, "sha256": sink.digest.hexdigest(), "size": sink.size})

    def add(self, name: str, chunks: Iterator[bytes]) -> None:
        with self.open(name) as sink:
            for chunk in chunks:
                sink.write_bytes(chunk)


def _read(stream: Any) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(_CHUNK):
            yield chunk


def write_package(options: BackupOptions, say: Say) -> dict[str, Any]:
    """Write the package; its manifest."""
    if options.format not in FORMATS:
        raise PackageError(f"--format {options.format!r}: one of {', '.join(FORMATS)}")
    output = options.output
    if output.exists() and (output.is_file() or any(output.iterdir())):
        raise PackageError(f"{output} exists already; give a new path")
    key = load_private_key(options.sign_key) if options.sign_key else None
    chosen = selected_models(options.exclude)
    profile = export_profile()
    if options.format == "dir":
        output.mkdir(parents=True, exist_ok=True)
        manifest = _fill(output, chosen, profile, options, key, say)
        say(f"package written: {output} ({len(manifest['files'])} files)")
        return manifest
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".restore-ledger-") as staging:
        root = Path(staging) / "package"
        root.mkdir()
        manifest = _fill(root, chosen, profile, options, key, say)
        partial = Path(staging) / "archive"
        _archive(root, partial, options.format, [e["path"] for e in manifest["files"]])
        partial.replace(output)
    say(f"package written: {output} ({len(manifest['files'])} files)")
    return manifest


def _fill(
    root: Path,
    chosen: list[type[models.Model]],
    profile: dict[str, Any],
    options: BackupOptions,
    key: Any,
    say: Say,
) -> dict[str, Any]:
    writer = _Writer(root)
    media: dict[str, Any] = {}  # media name -> the storage holding it
    counts: dict[str, int] = {}
    with writer.open(FIXTURE) as sink:
        _dump(sink, chosen, options, counts, media, say)
    missing: list[str] = []
    if options.media:
        for number, (name, storage) in enumerate(sorted(media.items()), start=1):
            if not storage.exists(name):
                missing.append(name)
                say(f"media file {name!r} is referenced but missing from its storage; left out")
                continue
            writer.add(f"media/{name}", _read(storage.open(name, "rb")))
            if number % 100 == 0 or number == len(media):
                say(f"media: {number}/{len(media)} files")
    writer.add(PROFILE, iter([to_toml(profile, "the project this package was made from").encode()]))
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "tool": {"name": "restore-ledger", "version": tool_version()},
        "source_system": source_system(options.database),
        "dump": {
            "format": "jsonl",
            "natural_foreign": options.natural_foreign,
            "natural_primary": options.natural_primary,
            "excluded": sorted(options.exclude),
            "counts": counts,
            "media": options.media,
            "missing_media": missing,
        },
        "profile": PROFILE,
        "files": writer.files,
    }
    if key is not None:
        manifest = sign_manifest(manifest, key, options.signer)
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def _dump(
    sink: _Sink,
    chosen: list[type[models.Model]],
    options: BackupOptions,
    counts: dict[str, int],
    media: dict[str, Any],
    say: Say,
) -> None:
    """The fixture, model after model, each object written as one line as it is read."""
    total = 0
    for model in chosen:
        if not router.allow_migrate_model(options.database, model):
            continue
        label = model._meta.label_lower
        file_fields = [f for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        pk = model._meta.pk
        assert pk is not None
        queryset = model._default_manager.using(options.database).order_by(pk.name)
        found = [0]
        serializers.get_serializer("jsonl")().serialize(
            _objects(queryset, file_fields, media, found, _teller(say, label)),
            stream=sink,
            use_natural_foreign_keys=options.natural_foreign,
            use_natural_primary_keys=options.natural_primary,
        )
        counts[label] = found[0]
        total += found[0]
        say(f"dumped {label}: {found[0]} objects ({total} in all)")


def _teller(say: Say, label: str) -> Callable[[int], None]:
    return lambda count: say(f"dumping {label}: {count} objects")


def _objects(
    queryset: Any, file_fields: list[Any], media: dict[str, Any], found: list[int], tell: Callable[[int], None]
) -> Iterator[models.Model]:
    """The queryset's objects in chunks, counted, remembering the media files they reference."""
    for instance in queryset.iterator(chunk_size=2000):
        found[0] += 1
        for file_field in file_fields:
            name = _media_name(str(getattr(instance, file_field.attname) or ""))
            if name is not None:
                media.setdefault(name, file_field.storage)
        if found[0] % 10_000 == 0:
            tell(found[0])
        yield instance


def _archive(root: Path, target: Path, fmt: str, names: list[str]) -> None:
    """The staged files as one archive, manifest.json its last entry."""
    entries = [*names, "manifest.json"]
    if fmt == "zip":
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for name in entries:
                archive.write(root / name, name)
        return
    with tarfile.open(target, "w:gz") as archive:
        for name in entries:
            archive.add(root / name, name, recursive=False)
    shutil.rmtree(root)
