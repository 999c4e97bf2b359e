"""Does a target hold what a backup holds? ``dumpdata`` of it, compared with the backup object by object.

    python -m bench.check BACKUP.json DUMPED.json

Many-to-many lists are compared sorted: their order is the database's (PostgreSQL returns a
relation's rows in no particular order, and Tag has no Meta.ordering); JSON fields compare
as values (jsonb keeps its own key order). Prints ``N objects equal`` or exits 1 naming
the first differences.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MANY_TO_MANY = {"tags", "related", "groups", "user_permissions", "permissions"}


def unordered(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Many-to-many lists sorted: their order is the database's, not the data's."""
    return [o | {"fields": {k: sorted(v) if k in MANY_TO_MANY else v for k, v in o["fields"].items()}} for o in objects]


def differences(backup: Path, dumped: Path) -> list[str]:
    expected = unordered(json.loads(backup.read_text(encoding="utf-8")))
    found = unordered(json.loads(dumped.read_text(encoding="utf-8")))
    problems = [f"{len(found)} objects dumped, {len(expected)} in the backup"] if len(found) != len(expected) else []
    problems += [f"#{n}: {e} != {f}" for n, (e, f) in enumerate(zip(expected, found, strict=False)) if e != f]
    return problems


def main() -> None:
    backup, dumped = Path(sys.argv[1]), Path(sys.argv[2])
    problems = differences(backup, dumped)
    if problems:
        sys.exit(f"{len(problems)} differences:\n" + "\n".join(p[:2000] for p in problems[:5]))
    print(f"{len(json.loads(backup.read_text(encoding='utf-8')))} objects equal")


if __name__ == "__main__":
    main()
