"""Benchmark: restore-ledger against Django loaddata and a raw bulk insert, on SQLite or PostgreSQL.

    python -m bench.restore --documents 14000                         # about 100,000 objects, SQLite
    python -m bench.restore --documents 14000 --backend postgresql    # target and ledger on PostgreSQL

Builds a source EDMS with the example project, dumps it with the real dumpdata
(natural keys), then, in the same run and on the same backup:
  1. restore-ledger restore into a fresh example target (end to end, one process);
  2. Django's loaddata of the same fixture into another fresh target;
  3. a raw bulk insert of the final rows restore-ledger wrote, into a third: sqlite3
     executemany on SQLite, COPY on PostgreSQL (the floor for any restore).
Each runs as its own process (1, 2) so that peak RSS is its own. The restored target
is compared with the source through the Django ORM before any number is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from infrastructure.target import OWN_TABLES
from tests.edms import EDMS, Source, build_example_target, build_source, build_target, manage

SKIPPED = {*OWN_TABLES, "sqlite_sequence", "django_migrations"}


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) of the child (``wait4``), and its output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env or dict(os.environ), text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output}")
    return seconds, usage.ru_maxrss, output


def raw_executemany(restored: Path, fresh: Path) -> tuple[float, int]:
    """Insert every row of the restored target's tables into a fresh one: the floor for any restore."""
    with sqlite3.connect(restored) as source:
        tables = [
            name
            for (name,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name not in SKIPPED
        ]
        data = {table: source.execute(f'SELECT * FROM "{table}"').fetchall() for table in tables}
    source.close()
    target = sqlite3.connect(fresh, isolation_level=None)
    started = time.perf_counter()
    target.execute("BEGIN")
    rows = 0
    for table, values in data.items():
        if values:
            marks = ", ".join("?" for _ in values[0])
            target.executemany(f'INSERT INTO "{table}" VALUES ({marks})', values)
            rows += len(values)
    target.execute("COMMIT")
    seconds = time.perf_counter() - started
    target.close()
    return seconds, rows


def raw_copy(restored: str, fresh: str) -> tuple[float, int]:
    """COPY every row of the restored PostgreSQL target's tables into a fresh one, in one transaction."""
    import psycopg
    from psycopg.types.json import Jsonb

    with psycopg.connect(restored) as source:
        tables = [
            name
            for (name,) in source.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
            if name not in SKIPPED
        ]
        data = {table: source.execute(f'SELECT * FROM "{table}"').fetchall() for table in tables}  # type: ignore[arg-type]
    with psycopg.connect(fresh) as target:
        started = time.perf_counter()
        rows = 0
        for table, values in data.items():
            if values:
                with target.cursor().copy(f'COPY "{table}" FROM STDIN') as copy:  # type: ignore[arg-type]
                    for row in values:
                        copy.write_row([Jsonb(v) if isinstance(v, dict | list) else v for v in row])
                rows += len(values)
        target.commit()
        seconds = time.perf_counter() - started
    return seconds, rows


class Targets:
    """Fresh example targets of one backend: SQLite files, or PostgreSQL databases made here."""

    def __init__(self, backend: str, work: Path) -> None:
        self.backend = backend
        self.work = work
        self.made: list[str] = []

    def fresh(self, name: str, with_schema: bool = True) -> str:
        if self.backend == "sqlite":
            path = self.work / f"{name}.sqlite3"
            return str(build_target(path)) if with_schema else str(path)
        from tests.targets import PG_SERVER, pg_admin

        database = f"bench_{name}_{os.getpid()}"
        pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {database}")
        self.made.append(database)
        url = f"{PG_SERVER}/{database}"
        if with_schema:
            build_example_target(url)
        return url

    def drop(self) -> None:
        from tests.targets import pg_admin

        for database in self.made:
            pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=14000, help="about 7 objects each")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--work", type=Path, default=None, help="keep the files here")
    parser.add_argument("--skip-loaddata", action="store_true")
    parser.add_argument("--results", type=Path, default=None, help="default: bench/results/<backend>.json")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="restore-ledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    targets = Targets(args.backend, work)
    try:
        result = measure(args, work, targets)
    finally:
        targets.drop()
    print(json.dumps(result, indent=2))
    results = args.results or Path(f"bench/results/{args.backend}.json")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")


def measure(args: argparse.Namespace, work: Path, targets: Targets) -> dict[str, Any]:
    backup = work / "backup.json"
    if backup.exists():  # a work folder of an earlier run: the same source and backup again
        source = Source(work / "source" / "source.sqlite3", work / "source" / "media", work / "source")
    else:
        source = build_source(work / "source", args.documents)
        manage("make_backup", str(backup), db=source.db, media=source.media)
    objects = count_objects(backup)
    bin_dir = Path(sys.executable).parent

    ours_target = targets.fresh("ours")
    ledger = str(work / "ledger.sqlite3") if args.backend == "sqlite" else targets.fresh("ledger", with_schema=False)
    ours_s, ours_rss, output = timed(
        [str(bin_dir / "restore-ledger"), "restore", str(backup), "--target", ours_target,
         "--ledger", ledger, "--quiet", "--reason", "benchmark"]
    )  # fmt: skip
    comparison = source.compare(ours_target).strip().splitlines()[-1]
    rows_line = next(line for line in output.splitlines() if "rows written" in line)
    if args.backend == "sqlite":
        raw_s, raw_rows = raw_executemany(Path(ours_target), Path(targets.fresh("raw")))
        raw_name, ledger_bytes = "raw_executemany", Path(ledger).stat().st_size
    else:
        raw_s, raw_rows = raw_copy(ours_target, targets.fresh("raw"))
        raw_name, ledger_bytes = "raw_copy", ledger_size(ledger)

    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": f"python -m bench.restore --documents {args.documents} --backend {args.backend}",
        "backend": args.backend,
        "objects": objects,
        "backup_bytes": backup.stat().st_size,
        "restore_ledger": {
            "seconds": round(ours_s, 2),
            "objects_per_s": round(objects / ours_s),
            "peak_rss_mib": round(ours_rss / 1024, 1),
            "ledger_bytes": ledger_bytes,
            "rows": rows_line.strip(),
            "check": comparison,
        },
        raw_name: {"seconds": round(raw_s, 2), "rows": raw_rows, "rows_per_s": round(raw_rows / raw_s)},
    }
    if not args.skip_loaddata:
        django_target = targets.fresh("loaddata")
        env = {**os.environ, "EDMS_DB": django_target, "PYTHONWARNINGS": "ignore"}
        load_s, load_rss, load_out = timed([sys.executable, str(EDMS / "manage.py"), "loaddata", str(backup)], env=env)
        result["django_loaddata"] = {
            "seconds": round(load_s, 2),
            "objects_per_s": round(objects / load_s),
            "peak_rss_mib": round(load_rss / 1024, 1),
            "output": load_out.strip().splitlines()[-1],
        }
        result["speedup_vs_loaddata"] = round(load_s / ours_s, 1)
    result[f"ratio_to_{raw_name}"] = round(ours_s / raw_s, 1)
    return result


def count_objects(backup: Path) -> int:
    """Counted as a stream: this process stays small, since a child's peak RSS as the kernel
    reports it is at least the size of the process it was forked from."""
    import ijson

    with open(backup, "rb") as stream:
        return sum(1 for _ in ijson.items(stream, "item"))


def ledger_size(url: str) -> int:
    """Bytes of the ledger's schema in PostgreSQL (tables, indexes and TOAST)."""
    import psycopg

    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'restore_ledger' AND c.relkind = 'r'"
        ).fetchone()
    return int(found[0]) if found else 0


if __name__ == "__main__":
    main()
