"""What the projection checks before it writes: the plan's new keys still free, the rows it maps onto or
updates still there, the links it removes still as planned (the target may have changed since planning)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.errors import ApplyError
from domain.profile import Kind
from infrastructure.dialects import execute_many
from infrastructure.schema import unique_sets
from infrastructure.storage import from_storage, to_storage
from infrastructure.table_keys import select_by_keys
from infrastructure.target import quote

if TYPE_CHECKING:
    from infrastructure.projection import Projection, _Work


def check_free(p: Projection, event: Any) -> None:
    """The plan's new pks and UUIDs must still be free: the target may have changed since planning."""
    unique = unique_columns(p, event.table)
    keys = p.key_columns(event.table)
    if len(keys) > 1:  # a composite pk: the key tuples, then the unique UUIDs (no column is the pk)
        positions = [event.columns.index(c) for c in keys]
        wanted = [[row[i] for i in positions] for row in event.rows]
        found = select_by_keys(p.conn, p.writer.mark, event.table, keys, wanted)
        if found:
            shown = ", ".join(str(list(key)) for key in found[:5])
            raise ApplyError(
                f"{event.model}: pk ({', '.join(keys)}) {shown} in {event.table!r} is taken since planning "
                f"({len(found)} such rows); plan the restore again"
            )
    for position, column in enumerate(event.columns):
        if position == 0 and len(keys) > 1:
            continue
        if position != 0 and (event.kinds[position] != Kind.UUID.value or column not in unique):
            continue  # a non-unique UUID column may repeat values: a soft reference
        values = [row[position] for row in event.rows if row[position] is not None]
        if position != 0:
            convert = to_storage(p.conn.dialect.name, Kind.UUID)
            values = [convert(v) for v in values]
        taken = {row[0] for row in p._select(event.table, column, values)} if values else set()
        if taken:
            shown = ", ".join(str(v) for v in sorted(taken, key=str)[:5])
            raise ApplyError(
                f"{event.model}: {column} {shown} in {event.table!r} is taken since planning "
                f"({len(taken)} such rows); plan the restore again"
            )


def unique_columns(p: Projection, table: str) -> set[str]:
    """The columns of ``table`` that are unique on their own (read once per table)."""
    if table not in p._unique:
        sets = unique_sets(p.conn, table, p.conn.dialect.name)
        p._unique[table] = {columns[0] for columns in sets if len(columns) == 1}
    return p._unique[table]


def check_present(p: Projection, table: str, entries: list[dict[str, Any]], what: str, check_identity: bool) -> None:
    """Rows the restore maps onto or updates must exist (for a replay: with the same UUID)."""
    keys = p.key_columns(table)
    uuid_column = entries[0].get("uuid_column") if check_identity and entries else None
    extra = f", {quote(p.conn, uuid_column)}" if uuid_column else ""
    if len(keys) > 1:  # a composite pk: an entry's pk is the list of its parts
        found = select_by_keys(p.conn, p.writer.mark, table, keys, [e["pk"] for e in entries], extra)
        present = {tuple(row[: len(keys)]): row[len(keys) :] for row in found}
    else:
        present = {row[0]: row[1:] for row in p._select(table, keys[0], [e["pk"] for e in entries], extra)}
    convert = from_storage(Kind.UUID)

    def pk(entry: dict[str, Any]) -> Any:
        return tuple(entry["pk"]) if isinstance(entry["pk"], list) else entry["pk"]

    gone = [e for e in entries if pk(e) not in present or (uuid_column and convert(present[pk(e)][0]) != e.get("uuid"))]
    if gone:
        names = ", ".join(f"{e['record']} (target pk {e['pk']})" for e in gone[:5])
        identity = " with the same pk and UUID" if check_identity else " since planning"
        raise ApplyError(
            f"rows the restore {what} are missing from {table!r}{identity}: {names}"
            + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
        )


def remove_links(p: Projection, work: _Work, event: Any) -> None:
    """Delete the links the restore removes, by id, once each is found as planned."""
    links = event.links
    source, target = event.ends
    from_source, from_target = (from_storage(Kind(kind)) for kind in event.kinds)
    extra = f", {quote(p.conn, source)}, {quote(p.conn, target)}"
    present = {row[0]: row[1:] for row in p._select(event.table, "id", [link["id"] for link in links], extra)}
    gone = [
        link
        for link in links
        if link["id"] not in present
        or (from_source(present[link["id"]][0]), from_target(present[link["id"]][1]))
        != (link["source"], link["target"])
    ]
    if gone:
        names = ", ".join(f"{link['record']} (link {link['source']} -> {link['target']})" for link in gone[:5])
        raise ApplyError(
            f"links the restore removes are missing from {event.table!r} since planning: {names}"
            + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
        )
    sql = f"DELETE FROM {quote(p.conn, event.table)} WHERE id = {p.writer.mark}"
    execute_many(p.conn, sql, [(link["id"],) for link in links])
    work.rows += len(links)
