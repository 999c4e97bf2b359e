"""Build a fresh example EDMS target from the schema its migrations create, without Django.

    python examples/edms/build_target.py /tmp/edms-target.sqlite3
    python examples/edms/build_target.py --reinitialised postgresql://postgres@127.0.0.1:5432/edms

With --reinitialised the target is seeded as a re-initialisation of the EDMS leaves it:
system roles, document and workflow types and a default ``admin``, with new UUIDs
(fresh on every build) and other pks than the backup's (schema/seed.json, written by
``manage.py export_seed``). A SQLite file must not exist yet; a PostgreSQL database
must exist and hold no tables. A target is never built over existing data.
"""

import argparse
import json
import re
import secrets
import sqlite3
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parent / "schema"
_ISO_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?")


def _duration_microseconds(value: str) -> int:
    days, hours, minutes, seconds = (float(part or 0) for part in _ISO_DURATION.fullmatch(value).groups())  # type: ignore[union-attr]
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds) // timedelta(microseconds=1)


def _sqlite_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "UUIDField":
        return uuid.UUID(value).hex
    if kind == "DateTimeField":
        return str(datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None))
    if kind == "DurationField":
        return _duration_microseconds(value)
    if kind == "JSONField":
        return json.dumps(value)
    return value


def _postgres_value(kind: str, value: Any) -> Any:
    if kind == "JSONField" and value is not None:
        return json.dumps(value)
    return value


def seed_rows() -> list[tuple[str, list[str], list[list[Any]]]]:
    """The seed, each UUID and password made anew: every build is another re-initialisation."""
    tables = []
    for table in json.loads((SCHEMA / "seed.json").read_text()):
        kinds = [c["type"] for c in table["columns"]]
        names = [c["name"] for c in table["columns"]]
        rows = []
        for row in table["rows"]:
            fresh = [
                str(uuid.uuid4()) if kind == "UUIDField" else value for kind, value in zip(kinds, row, strict=True)
            ]
            if "password" in names:
                fresh[names.index("password")] = "!" + secrets.token_urlsafe(30)[:40]
            rows.append(fresh)
        tables.append((table["table"], [f"{n}\t{k}" for n, k in zip(names, kinds, strict=True)], rows))
    return tables


def build(target: str, reinitialised: bool = False) -> None:
    if target.startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(target) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
            if tables and tables[0]:
                sys.exit(f"{target} holds tables already; use an empty database")
            connection.execute((SCHEMA / "postgresql.sql").read_text())  # type: ignore[arg-type]
            if reinitialised:
                for table, columns, rows in seed_rows():
                    names = [c.split("\t")[0] for c in columns]
                    kinds = [c.split("\t")[1] for c in columns]
                    marks = ", ".join("%s" for _ in names)
                    with connection.cursor() as cursor:
                        cursor.executemany(
                            f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})',  # type: ignore[arg-type]
                            [[_postgres_value(k, v) for k, v in zip(kinds, row, strict=True)] for row in rows],
                        )
                    connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))"  # type: ignore[arg-type]
                    )
        return
    path = Path(target.removeprefix("sqlite:///"))
    if path.exists():
        sys.exit(f"{path} exists already; remove it or pick another path")
    with sqlite3.connect(path) as connection:
        connection.executescript((SCHEMA / "sqlite.sql").read_text())
        if reinitialised:
            for table, columns, rows in seed_rows():
                names = [c.split("\t")[0] for c in columns]
                kinds = [c.split("\t")[1] for c in columns]
                marks = ", ".join("?" for _ in names)
                connection.executemany(
                    f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({marks})',
                    [[_sqlite_value(k, v) for k, v in zip(kinds, row, strict=True)] for row in rows],
                )
    connection.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="SQLite file to create, or an empty PostgreSQL database URL")
    parser.add_argument("--reinitialised", action="store_true", help="seed it as a re-initialised EDMS")
    arguments = parser.parse_args()
    build(arguments.target, arguments.reinitialised)
    kind = "re-initialised" if arguments.reinitialised else "empty"
    print(f"built {kind} example target {arguments.target}")
