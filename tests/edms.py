"""The example EDMS Django project, driven as a real program: source databases and dumpdata backups."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import shutil
import sqlite3
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tests.django_process import run_manage

ROOT = Path(__file__).resolve().parent.parent
EDMS = ROOT / "examples" / "edms"
SCHEMA = EDMS / "schema" / "sqlite.sql"


def manage(*args: str, db: Path, media: Path | None = None, target: str | None = None) -> str:
    return run_manage(EDMS, args, EDMS_DB=db, EDMS_MEDIA_ROOT=media, EDMS_TARGET_DB=target)


@dataclass(frozen=True)
class Source:
    """A source EDMS database with its media, and dumpdata backups of it."""

    db: Path
    media: Path
    work: Path

    def fixture(self, name: str = "natural.json", *flags: str) -> Path:
        path = self.work / name
        if not path.exists():
            manage("make_backup", str(path), *flags, db=self.db, media=self.media)
        return path

    def package(self, name: str = "package") -> Path:
        path = self.work / name
        if not path.exists():
            manage("make_backup", "--package", str(path), db=self.db, media=self.media)
        return path

    def backup(self, name: str = "backup", *flags: str) -> Path:
        """A package written by ``manage.py restore_ledger_backup`` (restore-ledger's Django app)."""
        path = self.work / name
        if not path.exists():
            manage("restore_ledger_backup", "-o", str(path), "-v0", *flags, db=self.db, media=self.media)
        return path

    def compare(self, target: str, *options: str) -> str:
        """Compare the source with a restored target (a SQLite path or PostgreSQL URL) through the
        Django ORM; raises on any difference."""
        return manage("compare_databases", *options, db=self.db, target=target)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db) as db:
            return db.execute(sql).fetchall()


def build_source(work: Path, documents: int = 60, seed: int = 42) -> Source:
    work.mkdir(parents=True, exist_ok=True)
    db, media = work / "source.sqlite3", work / "media"
    manage("migrate", "-v0", db=db, media=media)
    manage("seed_system", db=db, media=media)
    manage("seed_demo", "--documents", str(documents), "--seed", str(seed), db=db, media=media)
    return Source(db, media, work)


def build_example_target(target: str, reinitialised: bool = False) -> None:
    """examples/edms/build_target.py, the script the README uses, called in process."""
    spec = importlib.util.spec_from_file_location("edms_build_target", EDMS / "build_target.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(target, reinitialised)


def build_target(path: Path) -> Path:
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA.read_text())
    connection.close()
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def gzip_file(source: Path, target: Path) -> Path:
    with open(source, "rb") as raw, gzip.open(target, "wb") as packed:
        shutil.copyfileobj(raw, packed)
    return target


def zip_fixture(source: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(source, source.name)
    return target


def zip_package(package: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(package).as_posix())
    return target


def tar_package(package: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                archive.add(path, path.relative_to(package).as_posix())
    return target
