"""Benchmark: restore-ledger against Django loaddata and a raw executemany, on SQLite.

    python -m bench.sqlite_restore --documents 14000      # about 100,000 objects

Builds a source EDMS with the example project, dumps it with the real dumpdata
(natural keys), then, in the same run and on the same backup:
  1. restore-ledger restore into a fresh example target (end to end, one process);
  2. Django's loaddata of the same fixture into another fresh target;
  3. a raw sqlite3 executemany of the final rows restore-ledger wrote, into a third.
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

from tests.edms import EDMS, build_source, build_target, manage

OWN_TABLES = {"restore_ledger_target", "restore_ledger_tracking", "sqlite_sequence", "django_migrations"}


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) of the child alone, and its output."""
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
            if name not in OWN_TABLES
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=14000, help="about 7 objects each")
    parser.add_argument("--work", type=Path, default=None, help="keep the files here")
    parser.add_argument("--skip-loaddata", action="store_true")
    parser.add_argument("--results", type=Path, default=Path("bench/results/sqlite.json"))
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="restore-ledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    source = build_source(work / "source", args.documents)
    backup = work / "backup.json"
    manage("make_backup", str(backup), db=source.db, media=source.media)
    objects = sum(1 for _ in json.loads(backup.read_text()))
    bin_dir = Path(sys.executable).parent

    ours_target = build_target(work / "ours.sqlite3")
    ledger = work / "ledger.sqlite3"
    ours_s, ours_rss, output = timed(
        [
            str(bin_dir / "restore-ledger"),
            "restore",
            str(backup),
            "--target",
            f"sqlite:///{ours_target}",
            "--ledger",
            str(ledger),
            "--quiet",
            "--reason",
            "benchmark",
        ]
    )
    comparison = source.compare(ours_target).strip().splitlines()[-1]
    rows_line = next(line for line in output.splitlines() if "rows written" in line)

    raw_s, raw_rows = raw_executemany(ours_target, build_target(work / "raw.sqlite3"))

    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "command": f"python -m bench.sqlite_restore --documents {args.documents}",
        "objects": objects,
        "backup_bytes": backup.stat().st_size,
        "restore_ledger": {
            "seconds": round(ours_s, 2),
            "objects_per_s": round(objects / ours_s),
            "peak_rss_mib": round(ours_rss / 1024, 1),
            "ledger_bytes": ledger.stat().st_size,
            "rows": rows_line.strip(),
            "check": comparison,
        },
        "raw_executemany": {"seconds": round(raw_s, 2), "rows": raw_rows, "rows_per_s": round(raw_rows / raw_s)},
    }
    if not args.skip_loaddata:
        django_target = build_target(work / "loaddata.sqlite3")
        env = {**os.environ, "EDMS_DB": str(django_target), "PYTHONWARNINGS": "ignore"}
        load_s, load_rss, load_out = timed([sys.executable, str(EDMS / "manage.py"), "loaddata", str(backup)], env=env)
        result["django_loaddata"] = {
            "seconds": round(load_s, 2),
            "objects_per_s": round(objects / load_s),
            "peak_rss_mib": round(load_rss / 1024, 1),
            "output": load_out.strip().splitlines()[-1],
        }
        result["speedup_vs_loaddata"] = round(load_s / ours_s, 1)
    result["ratio_to_raw_executemany"] = round(ours_s / raw_s, 1)
    print(json.dumps(result, indent=2))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
