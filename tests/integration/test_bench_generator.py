"""bench/generate.py writes what Django's dumpdata writes: loaddata takes it, dumpdata gives it back.

The benchmark's 1M-object backups are written as JSON directly (the ORM is far too slow at
that size), so their shape is proved here, at a small size, against Django itself: loaded
into a fresh example target with ``loaddata`` and dumped again with ``dumpdata
--natural-foreign --natural-primary``, the objects come back equal: on SQLite byte for byte,
on PostgreSQL object for object, many-to-many lists sorted: jsonb keeps its own key order
inside JSON fields (which dict equality ignores), and PostgreSQL returns a many-to-many
relation's rows in no particular order (Tag has no Meta.ordering, nor has dumpdata).
restore-ledger restores the same backup: dumpdata gives it back from that target too (bench/check.py).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.check import differences, unordered
from bench.generate import Shape, write
from tests.conftest import run
from tests.edms import EDMS
from tests.targets import PostgresTarget, SqliteTarget, Target, sqlite_target

OBJECTS = 1500


def django(*args: str, db: str, target: str | None = None) -> str:
    env = {**os.environ, "EDMS_DB": db, "PYTHONWARNINGS": "ignore"}
    if target is not None:
        env["EDMS_TARGET_DB"] = target
    done = subprocess.run([sys.executable, str(EDMS / "manage.py"), *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("generated") / "edms.json"
    with open(path, "w", encoding="utf-8") as out:
        write(OBJECTS, out, seed=3)
    return path


def test_the_generator_writes_exactly_n_objects_the_same_for_a_seed(generated: Path) -> None:
    objects = json.loads(generated.read_text())
    assert len(objects) == OBJECTS
    assert dict(Counter(o["model"] for o in objects)) == Shape(OBJECTS, 3).counts()
    again, other = io.StringIO(), io.StringIO()
    write(OBJECTS, again, seed=3)
    write(OBJECTS, other, seed=4)
    assert again.getvalue() == generated.read_text()
    assert other.getvalue() != again.getvalue()
    wide = len(generated.read_bytes()) / OBJECTS
    assert 400 < wide < 700, f"{wide:.0f} bytes per object"


def test_loaddata_then_dumpdata_gives_the_generated_backup_back(
    generated: Path, target: Target, tmp_path: Path, cli: CliRunner, request: pytest.FixtureRequest
) -> None:
    loaded = django("loaddata", str(generated), db=target.django)
    assert f"Installed {OBJECTS} object(s)" in loaded
    dumped = tmp_path / "dumped.json"
    django("dumpdata", "--natural-foreign", "--natural-primary", "-o", str(dumped), db=target.django)
    if target.dialect == "sqlite":
        assert dumped.read_bytes() == generated.read_bytes()
    assert unordered(json.loads(dumped.read_text())) == unordered(json.loads(generated.read_text()))

    restored: SqliteTarget | PostgresTarget
    if target.dialect == "sqlite":
        restored = sqlite_target(tmp_path / "restored.sqlite3")
    else:
        restored = PostgresTarget.create(request.getfixturevalue("pg_template"))
    try:
        result = run(cli, "restore", generated, "--target", restored.url, "--ledger", tmp_path / "ledger.sqlite3")
        assert result.exit_code == 0, result.output
        django(
            "dumpdata", "--natural-foreign", "--natural-primary", "-o", str(tmp_path / "ours.json"), db=restored.django
        )
        assert differences(generated, tmp_path / "ours.json") == []
    finally:
        if isinstance(restored, PostgresTarget):
            restored.drop()
