"""Build a fresh example EDMS target from the schema its migrations create, without Django.

    python examples/edms/build_target.py /tmp/edms-target.sqlite3
    python examples/edms/build_target.py postgresql://postgres@127.0.0.1:5432/edms_target

A SQLite file must not exist yet; a PostgreSQL database must exist and hold no tables.
A target is never built over existing data.
"""

import argparse
import sqlite3
import sys
from pathlib import Path

SCHEMA = Path(__file__).resolve().parent / "schema"


def build(target: str) -> None:
    if target.startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(target, autocommit=False) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
            if tables and tables[0]:
                sys.exit(f"{target} holds tables already; use an empty database")
            connection.execute((SCHEMA / "postgresql.sql").read_text())  # type: ignore[arg-type]
        return
    path = Path(target.removeprefix("sqlite:///"))
    if path.exists():
        sys.exit(f"{path} exists already; remove it or pick another path")
    with sqlite3.connect(path) as connection:
        connection.executescript((SCHEMA / "sqlite.sql").read_text())
    connection.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="SQLite file to create, or an empty PostgreSQL database URL")
    arguments = parser.parse_args()
    build(arguments.target)
    print(f"built empty example target {arguments.target}")
