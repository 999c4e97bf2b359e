"""The differential test project (tests/djangoproject), driven as a real program: Django's ``loaddata`` is the
oracle, restore-ledger restores the same fixture into a copy of the same empty database, and the project's
``diff_compare`` command compares both table by table and object by object."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.django_process import run_manage
from tests.targets import PG_SERVER, pg_admin

PROJECT = Path(__file__).resolve().parent / "djangoproject"
FIXTURES = PROJECT / "fixtures"
RESTORE_LEDGER = Path(sys.executable).parent / "restore-ledger"


def manage(*args: str, db: str, other: str | None = None) -> str:
    return run_manage(PROJECT, args, DIFF_DB=db, DIFF_OTHER_DB=other)


@dataclass(frozen=True)
class Database:
    """One database of the project's schema: ``url`` for restore-ledger, ``django`` for DIFF_DB."""

    url: str
    django: str


class Backend:
    """Migrates the project once into a template, and hands out copies of it."""

    def __init__(self, dialect: str, work: Path) -> None:
        self.dialect = dialect
        self.work = work
        self.made: list[str] = []
        self.template = self.fresh("template", copy=False)
        manage("migrate", "-v0", db=self.template.django)

    def fresh(self, name: str, copy: bool = True, source: Database | None = None) -> Database:
        """A copy of the migrated template (or of ``source``): nothing but the migrations' rows."""
        origin = source or (self.template if copy else None)
        if self.dialect == "sqlite":
            path = self.work / f"{name}-{uuid.uuid4().hex[:8]}.sqlite3"
            if origin is not None:
                shutil.copyfile(origin.django, path)
            return Database(f"sqlite:///{path}", str(path))
        database = f"rl_diff_{uuid.uuid4().hex[:12]}"
        pg_admin(f"CREATE DATABASE {database}" + (f" TEMPLATE {origin.django.rsplit('/', 1)[1]}" if origin else ""))
        self.made.append(database)
        return Database(f"{PG_SERVER}/{database}", f"{PG_SERVER}/{database}")

    def drop(self, database: Database) -> None:
        if self.dialect == "postgresql":
            name = database.django.rsplit("/", 1)[1]
            pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            self.made.remove(name)

    def close(self) -> None:
        for name in list(self.made):
            pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.clear()


class Source:
    """The project filled by ``fill_site`` on one backend, and its ``dumpdata`` fixtures."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.database = backend.fresh("source")
        manage("fill_site", "--seed", "1", db=self.database.django)

    def dump(self, name: str, *flags: str) -> Path:
        path = self.backend.work / name
        if not path.exists():
            manage("dumpdata", *flags, "--output", str(path), db=self.database.django)
        return path

    def package(self, name: str, *flags: str) -> Path:
        """A backup package of the source, written by the project's ``manage.py restore_ledger_backup``
        (natural keys, the project's exact profile inside)."""
        path = self.backend.work / name
        if not path.exists():
            manage("restore_ledger_backup", "-o", str(path), "-v0", *flags, db=self.database.django)
        return path

    def construct(self, dump: str, construct: str) -> Path:
        """The records of one construct's models (and what they reference) cut from a JSON dump."""
        path = self.backend.work / f"{construct}.{dump}"
        if not path.exists():
            labels = set(CONSTRUCTS[construct])
            if "contenttypes.contenttype" not in labels:
                dump = EXCLUDED.get(dump, dump)
            records = json.loads(self.dump(dump, *DUMPS[dump]).read_text())
            path.write_text(json.dumps([r for r in records if r["model"] in labels], indent=1))
        return path


# The dumps: plain pks, natural keys, each with and without Django's recommended exclusions.
EXCLUDE = ("--exclude", "contenttypes", "--exclude", "auth.permission")
NATURAL = ("--natural-foreign", "--natural-primary")
DUMPS: dict[str, tuple[str, ...]] = {
    "dump-pk.json": (),
    "dump-pk-exclude.json": EXCLUDE,
    "dump-natural.json": NATURAL,
    "dump-natural-exclude.json": (*NATURAL, *EXCLUDE),
    "dump-natural-foreign-exclude.json": ("--natural-foreign", *EXCLUDE),
    "dump-natural-exclude.jsonl": (*NATURAL, *EXCLUDE, "--format", "jsonl"),
}
# Each construct on its own: the records of a few models cut from a dump, with the models they reference, so
# that one construct's failure does not hide another's. Cut from the dumps that hold content types and
# permissions (references to them resolve in the backup); the full dumps test the exclusions.
AUTH = ["contenttypes.contenttype", "auth.permission", "auth.group", "auth.user"]
TREE = ["catalog.category"]
PRODUCTS = [*TREE, "catalog.product"]
EMPLOYEES = [*AUTH, "catalog.warehouse", "catalog.employee"]
CONSTRUCTS: dict[str, list[str]] = {
    "auth-groups-permissions-users": AUTH,
    "groups-users-without-contenttypes-permissions": ["auth.group", "auth.user"],
    "app-label-with-underscore": ["shop_catalog.brand", "shop_catalog.brandalias"],
    "custom-db-table": ["catalog.coupon"],
    "every-field-type-nul-non-bmp": ["catalog.specimen"],
    "uuid-natural-key-nullable-fk": ["catalog.supplier", "catalog.suppliercontact"],
    "treebeard-tree": TREE,
    "fk-to-field": ["catalog.warehouse", "catalog.shelf"],
    "fk-without-db-constraint": [*TREE, "catalog.banner"],
    "composite-pk": ["catalog.warehouse", "catalog.stocklevel"],
    "natural-key-with-fk-self-fk-self-m2m-one-to-one": EMPLOYEES,
    "self-fk-symmetrical-m2m": PRODUCTS,
    "multi-table-inheritance": [*PRODUCTS, "catalog.digitalproduct"],
    "m2m-through-uuid-natural-key": [*AUTH, *PRODUCTS, "catalog.order", "catalog.orderline"],
    "gfk-and-uuid-soft-reference": [
        *EMPLOYEES,
        *PRODUCTS,
        "catalog.digitalproduct",
        "catalog.order",
        "catalog.orderline",
        "catalog.auditentry",
    ],
    "taggit-generic-tags": [*AUTH, *PRODUCTS, "catalog.digitalproduct", "taggit.tag", "taggit.taggeditem"],
    "cms-tree-of-mti-pages-gfk-comments": [*AUTH, "cms.page", "cms.articlepage", "cms.eventpage", "cms.comment"],
    "postgresql-array-field": ["pg_arrays.survey", "pg_arrays.reading"],
}
# Constructs whose fields exist on PostgreSQL only (the app is installed there only: diffsite/settings.py).
POSTGRESQL_ONLY = {"postgresql-array-field"}
# The construct "groups-users-without-contenttypes-permissions" is cut from the dumps with exclusions.
CONSTRUCT_DUMPS = {"sqlite": ["dump-pk.json", "dump-natural.json"], "postgresql": ["dump-natural.json"]}
EXCLUDED = {"dump-pk.json": "dump-pk-exclude.json", "dump-natural.json": "dump-natural-exclude.json"}
# Dumps whose every record carries its pk: restored rows must keep the same pks, table by table.
KEEPS_PKS = {"dump-pk.json", "dump-pk-exclude.json", "dump-natural-foreign-exclude.json"}


@dataclass(frozen=True)
class Restored:
    exit_code: int
    output: str


def restore(fixture: Path, target: Database, ledger: Path, *options: str) -> Restored:
    result = subprocess.run(
        [
            str(RESTORE_LEDGER),
            "restore",
            str(fixture),
            "--target",
            target.url,
            "--ledger",
            str(ledger),
            "--reason",
            "differential test against Django loaddata",
            "--quiet",
            *options,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return Restored(result.returncode, result.stdout + result.stderr)


def ledger_restores(ledger: Path) -> list[dict[str, Any]]:
    """``restore-ledger ledger list --json``: every restore the ledger records."""
    result = subprocess.run(
        [str(RESTORE_LEDGER), "ledger", "list", "--ledger", str(ledger), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    restores: list[dict[str, Any]] = json.loads(result.stdout)
    return restores


def compare(oracle: Database, restored: Database, fixture: Path | None) -> dict[str, Any]:
    """``loaddata`` the fixture into the oracle (when given), then every difference of the two databases."""
    report: dict[str, Any] = json.loads(
        manage("diff_compare", *([str(fixture)] if fixture else []), db=oracle.django, other=restored.django)
    )
    return report


def _flat(row: str) -> dict[str, Any]:
    """A compared row as one flat mapping: table rows are already; objects are model, pk and fields."""
    data: dict[str, Any] = json.loads(row)
    if "fields" not in data:
        return data
    return {**{k: v for k, v in data.items() if k != "fields"}, **data["fields"]}


def pairs(missing: list[str], extra: list[str]) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """Each missing row with the extra row most like it, so that a difference reads as changed values."""
    left, right = [_flat(r) for r in missing], [_flat(r) for r in extra]
    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    for row in left:
        best = max(right, key=lambda other: sum(other.get(k) == v for k, v in row.items()), default=None)
        if best is not None:
            right.remove(best)
        pairs.append((row, best))
    pairs.extend((None, row) for row in right)
    return pairs


def summary(differences: dict[str, Any]) -> str:
    """Per table or model, how many rows only loaddata (-) or only the restore (+) has, and for the first
    few, the values that differ."""
    lines = []
    for name, found in differences.items():
        missing, extra = found["counts"]
        lines.append(f"{name}: {missing} only in loaddata's, {extra} only in the restore's")
        for oracle, restored in pairs(found["missing"], found["extra"])[:3]:
            if oracle is None or restored is None:
                lines.append(f"  {'-' if restored is None else '+'} {json.dumps(oracle or restored)[:300]}")
                continue
            changed = sorted(k for k in {*oracle, *restored} if oracle.get(k) != restored.get(k))
            same = {k: v for k, v in oracle.items() if k in {"pk", "id", "model"} or k.endswith(("name", "code"))}
            values = "; ".join(f"{k}: {oracle.get(k, '(none)')} -> {restored.get(k, '(none)')}"[:200] for k in changed)
            lines.append(f"  {json.dumps(same)[:120]}: {values}")
    return "\n".join(lines)
