"""The floor for any restore: insert the final rows of a restored target into a fresh one, raw.

    python -m bench.raw sqlite restored.sqlite3 fresh.sqlite3
    python -m bench.raw postgresql postgresql://.../restored postgresql://.../fresh

SQLite: ``executemany`` of each table's rows in one transaction. PostgreSQL: ``COPY``
of each table in one transaction. Each table is read whole (untimed) before it is
written (timed); only the writes and the commit count. Run as a child of bench.run so
that its peak RSS is its own; prints ``{"seconds": ..., "rows": ..., "tables": {...}}``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from typing import Any

SKIPPED = {"restore_ledger_target", "restore_ledger_tracking", "restore_ledger_applied", "sqlite_sequence",
           "django_migrations"}  # fmt: skip


def sqlite_tables(path: str) -> list[str]:
    with sqlite3.connect(path) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") if n not in SKIPPED]
    db.close()
    return names


def executemany(restored: str, fresh: str) -> dict[str, Any]:
    source = sqlite3.connect(restored)
    target = sqlite3.connect(fresh, isolation_level=None)
    seconds, tables = 0.0, {}
    target.execute("BEGIN")
    for table in sqlite_tables(restored):
        values = source.execute(f'SELECT * FROM "{table}"').fetchall()
        if values:
            marks = ", ".join("?" for _ in values[0])
            started = time.perf_counter()
            target.executemany(f'INSERT INTO "{table}" VALUES ({marks})', values)
            seconds += time.perf_counter() - started
        tables[table] = len(values)
        del values
    started = time.perf_counter()
    target.execute("COMMIT")
    seconds += time.perf_counter() - started
    source.close()
    target.close()
    return {"seconds": seconds, "rows": sum(tables.values()), "tables": tables}


def copy(restored: str, fresh: str) -> dict[str, Any]:
    import psycopg
    from psycopg.types.json import Jsonb

    seconds, tables = 0.0, {}
    with psycopg.connect(restored) as source, psycopg.connect(fresh) as target:
        names = [
            name
            for (name,) in source.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
            if name not in SKIPPED
        ]
        for table in names:
            values = source.execute(f'SELECT * FROM "{table}"').fetchall()  # type: ignore[arg-type]
            rows = [[Jsonb(v) if isinstance(v, dict | list) else v for v in row] for row in values]
            del values
            started = time.perf_counter()
            if rows:
                with target.cursor().copy(f'COPY "{table}" FROM STDIN') as stream:  # type: ignore[arg-type]
                    for row in rows:
                        stream.write_row(row)
            seconds += time.perf_counter() - started
            tables[table] = len(rows)
            del rows
        started = time.perf_counter()
        target.commit()
        seconds += time.perf_counter() - started
    return {"seconds": seconds, "rows": sum(tables.values()), "tables": tables}


def main() -> None:
    backend, restored, fresh = sys.argv[1:4]
    result = executemany(restored, fresh) if backend == "sqlite" else copy(restored, fresh)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
