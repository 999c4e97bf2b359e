"""What a benchmark ran on (CPU, memory, versions), and row counts of a target's tables."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.targets import PG_SERVER

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip()


def describe(backends: list[str]) -> dict[str, Any]:
    machine: dict[str, Any] = {
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "django": version("django"),
        "sqlalchemy": version("sqlalchemy"),
        "psycopg": version("psycopg"),
        "eventsourcing": version("eventsourcing"),
        "restore_ledger": version("restore-ledger"),
        "commit": _commit(),
    }
    if "postgresql" in backends:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres") as conn:
            found = conn.execute("SHOW server_version").fetchone()
        machine["postgresql"] = found[0] if found else "?"
    return machine


def table_counts(target: str) -> dict[str, int]:
    """Rows of every table of a target (a SQLite path or a PostgreSQL URL)."""
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target) as conn:
            names = [n for (n,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}  # type: ignore[arg-type,index]
    with sqlite3.connect(target) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        counts = {n: db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    db.close()
    return counts
