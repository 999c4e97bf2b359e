"""Build a fresh example EDMS target database from schema/sqlite.sql, without Django.

    python examples/edms/build_target.py /tmp/edms-target.sqlite3

The file must not exist yet: a target is never built over existing data.
"""

import argparse
import sqlite3
import sys
from pathlib import Path

SCHEMA = Path(__file__).resolve().parent / "schema" / "sqlite.sql"


def build(path: Path) -> None:
    if path.exists():
        sys.exit(f"{path} exists already; remove it or pick another path")
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA.read_text())
    connection.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", type=Path, help="SQLite file to create")
    build(parser.parse_args().target)
    print(f"built empty example target {parser.parse_args().target}")
