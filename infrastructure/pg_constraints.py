"""PostgreSQL: a big write checks its foreign keys once per constraint, not once per row.

Django's foreign keys are ``DEFERRABLE INITIALLY DEFERRED``: each inserted row queues a trigger that,
at ``SET CONSTRAINTS ALL IMMEDIATE``, looks up and locks the row it references. For a restore of
100,000 objects that was 60 % of the apply. For a table that takes many rows, the projection
instead drops its foreign keys at the start of its transaction and adds them back, with the same
name and definition (``pg_get_constraintdef``), before it commits: adding a foreign key checks
every row of the table in one query, as ``pg_restore`` does it. A row that breaks one fails the add,
which names the key, and rolls the whole transaction back: nothing of it is ever committed.

Only where it pays and is allowed: the table takes at least ``MIN_ROWS`` rows and holds at most
``EXISTING_PER_ROW`` rows for each of them already (the add checks those too); the constraint is the
table's own (not inherited, not on a partition), the connection's role owns the table and may
reference the other. Dropping a constraint takes the table's ACCESS EXCLUSIVE lock until the commit:
the live application waits for these tables while the restore is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

MIN_ROWS = 1_000  # below it the per-row checks (about 25 µs each) cost less than dropping and adding
EXISTING_PER_ROW = 20  # checking an existing row costs about a twentieth of a per-row trigger

_FOREIGN_KEYS = (
    "SELECT c.conname, pg_get_constraintdef(c.oid), c.conrelid::regclass::text FROM pg_constraint c "
    "JOIN pg_class r ON r.oid = c.conrelid "
    "WHERE c.contype = 'f' AND {side} = to_regclass(%s) AND c.conparentid = 0 AND c.coninhcount = 0 "
    "AND r.relkind = 'r' AND pg_has_role(r.relowner, 'USAGE') AND has_table_privilege(c.confrelid, 'REFERENCES') "
    "ORDER BY c.conname"
)
OUTGOING = "c.conrelid"  # the table's own foreign keys: checked when rows are inserted or updated
INCOMING = "c.confrelid"  # the foreign keys of other tables to it: checked when its rows are deleted


@dataclass(frozen=True)
class Relaxed:
    """A foreign key dropped for the transaction, to be added back before it commits."""

    table: str  # as PostgreSQL names it (``regclass``)
    name: str
    definition: str


def rows_by_table(profile: Mapping[str, Any], counts: Mapping[str, int]) -> dict[str, int]:
    """Rows a restore writes per table, from its recorded counts by model (a model's many-to-many
    links are counted with it: an upper bound for its link tables)."""
    rows: dict[str, int] = {}
    for label, count in counts.items():
        model = profile.get(label)
        if model is None:
            continue
        for table in [model["table"], *(m2m["table"] for m2m in model.get("many_to_many", {}).values())]:
            rows[table] = rows.get(table, 0) + count
    return rows


def relax(conn: Connection, rows: Mapping[str, int], side: str = OUTGOING) -> list[Relaxed]:
    """Drop the foreign keys checked for each table that takes (or, ``INCOMING``, loses) enough rows;
    returns what to add back. Call it before anything is written in the transaction (PostgreSQL
    refuses to alter a table with pending trigger events)."""
    relaxed: dict[tuple[str, str], Relaxed] = {}
    big = {table: count for table, count in rows.items() if count >= MIN_ROWS}
    cap = max(big.values(), default=0) * EXISTING_PER_ROW + 1  # no table needs counting further
    sizes: dict[str, int] = {}  # rows each table checked by the adds holds, read once
    for table, count in sorted(big.items()):
        quoted = conn.dialect.identifier_preparer.quote(table)
        for name, definition, regclass in conn.exec_driver_sql(_FOREIGN_KEYS.format(side=side), (quoted,)).fetchall():
            if regclass not in sizes:
                sizes[regclass] = _rows_up_to(conn, regclass, cap)
            if (regclass, name) not in relaxed and sizes[regclass] <= count * EXISTING_PER_ROW:
                relaxed[(regclass, name)] = Relaxed(regclass, name, definition)
    for constraint in relaxed.values():
        name = conn.dialect.identifier_preparer.quote(constraint.name)
        conn.exec_driver_sql(f"ALTER TABLE {constraint.table} DROP CONSTRAINT {name}")
    return list(relaxed.values())


def restore(conn: Connection, relaxed: list[Relaxed]) -> None:
    """Add the dropped foreign keys back, each checked over its whole table (a broken reference raises
    the driver's error, naming the key); call it after ``SET CONSTRAINTS ALL IMMEDIATE``: no trigger
    events may be pending."""
    for constraint in relaxed:
        name = conn.dialect.identifier_preparer.quote(constraint.name)
        conn.exec_driver_sql(f"ALTER TABLE {constraint.table} ADD CONSTRAINT {name} {constraint.definition}")


def _rows_up_to(conn: Connection, regclass: str, limit: int) -> int:
    """The rows the table (as PostgreSQL names it) holds, counting no further than ``limit``."""
    found = conn.exec_driver_sql(f"SELECT count(*) FROM (SELECT 1 FROM {regclass} LIMIT {int(limit)}) AS t").scalar()
    return int(found or 0)
