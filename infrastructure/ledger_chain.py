"""The ledger's hash chain: one chain row per stored event, written in the same transaction.

The library's application recorders (SQLite and PostgreSQL) are extended, not forked: after
the events of a save are inserted, and while the transaction still holds the ledger's write
lock, a row per event is appended to ``ledger_chain``: its dense position, the event's
notification id, originator id and version, topic, the time and the facts of the recording
process (OS user, host, pid, command, actor, reason), the leaf hash over all of that and the
stored state bytes, and the chain hash linking it to the row before.

Leaves follow RFC 6962: ``SHA-256(0x00 || data)``; interior nodes ``SHA-256(0x01 || l || r)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol, cast
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

CHAIN_TABLE = "ledger_chain"
GENESIS = bytes(32)
_context: ContextVar[dict[str, str]] = ContextVar("restore_ledger_recording", default={})  # noqa: B039


@contextmanager
def recording_as(**facts: str) -> Iterator[None]:
    """Events saved inside this block carry these facts (command, actor, reason) in their chain rows."""
    token = _context.set(_context.get() | {k: v for k, v in facts.items() if v})
    try:
        yield
    finally:
        _context.reset(token)


def process_facts() -> dict[str, str]:
    """What the recording process knows of itself: the OS account it runs as (from the kernel's
    effective uid, not the environment), the host and the pid, and what ``recording_as`` set."""
    try:
        os_user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        os_user = f"uid {os.geteuid()}"
    return {"os_user": os_user, "uid": str(os.geteuid()), "host": socket.gethostname(), "pid": str(os.getpid())} | (
        _context.get()
    )


def leaf_hash(
    topic: str, originator_id: UUID | str, version: int, state: bytes, recorded_at: str, context: str
) -> bytes:
    header = json.dumps([topic, str(originator_id), version, recorded_at, context], separators=(",", ":")).encode()
    return hashlib.sha256(b"\x00" + len(header).to_bytes(4, "big") + header + state).digest()


def chain_hash(previous: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(previous + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """RFC 6962 Merkle tree hash over leaves pushed one by one, in O(log n) memory: the stack
    holds the perfect subtrees of the binary decomposition of the size, largest first."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[tuple[int, int, bytes]] = []  # (first position, leaves, hash)

    def push(self, leaf: bytes) -> None:
        self.stack.append((self.size + 1, 1, leaf))
        self.size += 1
        while len(self.stack) > 1 and self.stack[-1][1] == self.stack[-2][1]:
            right, left = self.stack.pop(), self.stack.pop()
            self.stack.append((left[0], left[1] * 2, node_hash(left[2], right[2])))

    def root(self) -> bytes:
        if not self.stack:
            return hashlib.sha256(b"").digest()
        root = self.stack[-1][2]
        for _first, _count, subtree in reversed(self.stack[:-1]):
            root = node_hash(subtree, root)
        return root

    def subtrees(self) -> list[dict[str, Any]]:
        return [{"first": first, "leaves": count, "hash": digest.hex()} for first, count, digest in self.stack]


@dataclass(frozen=True)
class Link:
    """One chain row."""

    position: int
    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    recorded_at: str
    context: str
    leaf: bytes
    chain: bytes

    def facts(self) -> dict[str, str]:
        facts: dict[str, str] = json.loads(self.context)
        return facts


def _links(
    head: tuple[int, bytes] | None, stored_events: Sequence[StoredEvent], notification_ids: Sequence[int]
) -> list[Link]:
    position, previous = head or (0, GENESIS)
    recorded_at = datetime.now(UTC).isoformat()
    context = json.dumps(process_facts(), sort_keys=True, separators=(",", ":"))
    links = []
    for stored, notification_id in zip(stored_events, notification_ids, strict=True):
        position += 1
        leaf = leaf_hash(
            stored.topic, stored.originator_id, stored.originator_version, stored.state, recorded_at, context
        )
        previous = chain_hash(previous, leaf)
        links.append(
            Link(
                position,
                notification_id,
                str(UUID(str(stored.originator_id))),
                stored.originator_version,
                stored.topic,
                recorded_at,
                context,
                leaf,
                previous,
            )
        )
    return links


_COLUMNS = "position, notification_id, originator_id, originator_version, topic, recorded_at, context, leaf, chain"


def _link(row: Any) -> Link:
    return Link(
        int(row["position"]),
        int(row["notification_id"]),
        str(row["originator_id"]),
        int(row["originator_version"]),
        str(row["topic"]),
        str(row["recorded_at"]),
        str(row["context"]),
        bytes(row["leaf"]),
        bytes(row["chain"]),
    )


def _params(link: Link) -> tuple[Any, ...]:
    return (
        link.position,
        link.notification_id,
        link.originator_id,
        link.originator_version,
        link.topic,
        link.recorded_at,
        link.context,
        link.leaf,
        link.chain,
    )


class RunState(NamedTuple):
    """One of a run's events as verifying it reads it."""

    originator_version: int
    topic: str
    state: bytes


class RunTopics(Protocol):
    """What the ledger's recorders (here, and infrastructure.ledger_memory's) add to the library's."""

    def topics(self, originator_id: UUID, after: int, limit: int) -> list[tuple[int, str]]: ...


def run_topics(recorder: ApplicationRecorder, originator_id: UUID, after: int, limit: int) -> list[tuple[int, str]]:
    """(version, topic) of a run's events after version ``after``, without reading their bytes."""
    return cast(RunTopics, recorder).topics(originator_id, after, limit)


def stored_at(recorder: ApplicationRecorder, originator_id: UUID, versions: Sequence[int]) -> Iterator[StoredEvent]:
    """The stored events of a run at ``versions`` (ascending), one query per consecutive stretch."""
    start = 0
    for i, at in enumerate(versions):
        if i + 1 == len(versions) or versions[i + 1] != at + 1:
            yield from recorder.select_events(originator_id, gt=versions[start] - 1, lte=at)
            start = i + 1


class ChainReader:
    """Reading the chain table: implemented for each backend by ``_query``."""

    def _query(self, sql: str, params: Sequence[Any], binary: bool = False) -> list[Any]:
        """Rows of ``sql``; ``binary``: values sent in the database's binary form where it has one (bytes
        as they are, not hex text)."""
        raise NotImplementedError

    mark = "?"

    def _table(self) -> str:
        return CHAIN_TABLE

    def chain_page(self, after: int, limit: int) -> list[Link]:
        sql = f"SELECT {_COLUMNS} FROM {self._table()} WHERE position > {self.mark} ORDER BY position LIMIT {self.mark}"
        return [_link(row) for row in self._query(sql, (after, limit))]

    def chain_of(self, originator_id: UUID) -> list[Link]:
        sql = (
            f"SELECT {_COLUMNS} FROM {self._table()} WHERE originator_id = {self.mark} "
            "ORDER BY originator_version, position"
        )
        return [_link(row) for row in self._query(sql, (str(originator_id),))]

    def chain_at(self, positions: Sequence[int]) -> dict[int, Link]:
        found: dict[int, Link] = {}
        for start in range(0, len(positions), 500):
            chunk = list(positions[start : start + 500])
            sql = f"SELECT {_COLUMNS} FROM {self._table()} WHERE position IN ({', '.join(self.mark for _ in chunk)})"
            found.update((link.position, link) for link in map(_link, self._query(sql, chunk)))
        return found

    def seal(self) -> int:
        raise NotImplementedError

    def _events_table(self) -> str:
        raise NotImplementedError

    def _run_key(self, originator_id: UUID) -> Any:
        raise NotImplementedError

    def topics(self, originator_id: UUID, after: int, limit: int) -> list[tuple[int, str]]:
        """(version, topic) of a run's events after version ``after``, read from the events table without
        their state: a reader decodes the few it needs instead of fetching every row event's bytes."""
        rows = self._run_page("topic", originator_id, after, limit)
        return [(int(row["originator_version"]), str(row["topic"])) for row in rows]

    def states(self, originator_id: UUID, after: int, limit: int) -> list[RunState]:
        """A run's events after version ``after``, as stored: what verifying the run hashes, fetched in the
        database's binary form and without building the library's stored events."""
        rows = self._run_page("topic, state", originator_id, after, limit, binary=True)
        return [RunState(int(row["originator_version"]), str(row["topic"]), bytes(row["state"])) for row in rows]

    def _run_page(self, columns: str, originator_id: UUID, after: int, limit: int, binary: bool = False) -> list[Any]:
        sql = (
            f"SELECT originator_version, {columns} FROM {self._events_table()} WHERE originator_id = {self.mark} "
            f"AND originator_version > {self.mark} ORDER BY originator_version LIMIT {self.mark}"
        )
        return self._query(sql, (self._run_key(originator_id), after, limit), binary=binary)

    def chain_head(self) -> Link | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM {self._table()} ORDER BY position DESC LIMIT 1", ())
        return _link(rows[0]) if rows else None


class ChainedSQLiteRecorder(SQLiteApplicationRecorder, ChainReader):
    """The library's SQLite application recorder, appending chain rows in its insert transaction
    (SQLite's write lock, taken by the first insert, keeps the chain head ours until commit)."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position INTEGER PRIMARY KEY, notification_id INTEGER NOT "
            "NULL UNIQUE, originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, topic TEXT NOT NULL, "
            "recorded_at TEXT NOT NULL, context TEXT NOT NULL, leaf BLOB NOT NULL, chain BLOB NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {CHAIN_TABLE}_run ON {CHAIN_TABLE} (originator_id, originator_version)",
        ]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        notification_ids = list(super()._insert_events(c, stored_events, **kwargs) or [])
        c.execute(f"SELECT position, chain FROM {CHAIN_TABLE} ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        links = _links((row["position"], bytes(row["chain"])) if row else None, stored_events, notification_ids)
        c.executemany(f"INSERT INTO {CHAIN_TABLE} ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", [_params(x) for x in links])
        return notification_ids

    def _query(self, sql: str, params: Sequence[Any], binary: bool = False) -> list[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, list(params))
            return list(c.fetchall())

    def _events_table(self) -> str:
        return self.events_table_name

    def _run_key(self, originator_id: UUID) -> Any:
        return originator_id.hex  # as the library's recorder stores it

    def seal(self) -> int:
        """Chain a ledger written before chains existed, in one transaction; 0 if it has a chain."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT COUNT(*) FROM {CHAIN_TABLE}")
            if c.fetchone()[0]:
                return 0
            head: tuple[int, bytes] | None = None
            after = 0
            while True:
                c.execute(
                    f"SELECT rowid, * FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT 200", [after]
                )
                rows = c.fetchall()
                if not rows:
                    return head[0] if head else 0
                stored = [
                    StoredEvent(UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"]) for r in rows
                ]
                links = _links(head, stored, [r["rowid"] for r in rows])
                c.executemany(
                    f"INSERT INTO {CHAIN_TABLE} ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", [_params(x) for x in links]
                )
                head, after = (links[-1].position, links[-1].chain), rows[-1]["rowid"]


class ChainedPostgresRecorder(PostgresApplicationRecorder, ChainReader):
    """The library's PostgreSQL application recorder, appending chain rows in its insert
    transaction, after locking the chain table: concurrent writers on a shared ledger queue
    at the chain head (the library's own lock on the events table serialises them too)."""

    mark = "%s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chain_table_name = f"{self.events_table_name}_chain"
        self.check_identifier_length(self.chain_table_name)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{table} (position bigint PRIMARY KEY, notification_id bigint "
                "NOT NULL UNIQUE, originator_id text NOT NULL, originator_version bigint NOT NULL, topic text NOT "
                "NULL, recorded_at text NOT NULL, context text NOT NULL, leaf bytea NOT NULL, chain bytea NOT NULL)"
            ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.chain_table_name))
        )
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {index} ON {schema}.{table} (originator_id, originator_version)").format(
                index=Identifier(f"{self.chain_table_name}_run"),
                schema=Identifier(self.datastore.schema),
                table=Identifier(self.chain_table_name),
            )
        )
        self.insert_binary_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{kind}[], %b::bigint[], %b::text[], %b::bytea[]) RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            kind=Identifier(self.datastore.originator_id_type),
        )

    def _table(self) -> str:
        return f'"{self.datastore.schema}"."{self.chain_table_name}"'

    def _events_table(self) -> str:
        return f'"{self.datastore.schema}"."{self.events_table_name}"'

    def _run_key(self, originator_id: UUID) -> Any:
        return originator_id

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any) -> None:
        """As the library inserts them (its lock, its notification, ids in order), but each column an array
        sent in binary: the library's array of a composite type is text, its states escaped by a regular
        expression on the client and parsed by the server (100,000 objects: the thread that saves the ledger
        1.33 -> 0.90 s)."""
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(
            self.insert_binary_statement,
            (
                [event.originator_id for event in stored_events],
                [event.originator_version for event in stored_events],
                [event.topic for event in stored_events],
                [event.state for event in stored_events],
            ),
        )

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = list(super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs) or [])
        table = SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(self.chain_table_name))
        curs.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
        curs.execute(SQL("SELECT position, chain FROM {} ORDER BY position DESC LIMIT 1").format(table))
        row = curs.fetchone()
        links = _links((row["position"], bytes(row["chain"])) if row else None, stored_events, notification_ids)
        curs.executemany(
            SQL("INSERT INTO {} (" + _COLUMNS + ") VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)").format(table),
            [_params(x) for x in links],
        )
        return notification_ids

    def _query(self, sql: str, params: Sequence[Any], binary: bool = False) -> list[Any]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(sql.encode(), list(params), binary=binary)
            return list(curs.fetchall())

    def seal(self) -> int:
        """Chain a ledger written before chains existed, in one transaction; 0 if it has a chain."""
        schema = Identifier(self.datastore.schema)
        events = SQL("{}.{}").format(schema, Identifier(self.events_table_name))
        chain = SQL("{}.{}").format(schema, Identifier(self.chain_table_name))
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events))
            curs.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(chain))
            curs.execute(SQL("SELECT COUNT(*) AS n FROM {}").format(chain))
            found = curs.fetchone()
            if found is None or found["n"]:
                return 0
            head: tuple[int, bytes] | None = None
            after = 0
            while True:
                curs.execute(
                    SQL("SELECT * FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT 200").format(
                        events
                    ),
                    [after],
                )
                rows = curs.fetchall()
                if not rows:
                    return head[0] if head else 0
                stored = [
                    StoredEvent(r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
                    for r in rows
                ]
                links = _links(head, stored, [r["notification_id"] for r in rows])
                curs.executemany(
                    SQL("INSERT INTO {} (" + _COLUMNS + ") VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)").format(chain),
                    [_params(x) for x in links],
                )
                head, after = (links[-1].position, links[-1].chain), rows[-1]["notification_id"]
