"""Raw SQL on a ledger, as someone with write access to its database would tamper with it."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg

from infrastructure.ledger_chain import chain_hash, leaf_hash


class RawLedger:
    """The ledger's tables, bypassing restore-ledger: SQLite file or PostgreSQL database."""

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            self.conn: Any = psycopg.connect(url, autocommit=True)
            self.events, self.chain = "restore_ledger.restoreledger_events", "restore_ledger.restoreledger_events_chain"
            self.nid, self.mark = "notification_id", "%s"
        else:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.events, self.chain, self.nid, self.mark = "stored_events", "ledger_chain", "rowid", "?"

    def close(self) -> None:
        self.conn.close()

    def sql(self, statement: str, *params: Any) -> list[Any]:
        statement = statement.format(events=self.events, chain=self.chain, nid=self.nid).replace("?", self.mark)
        cursor = self.conn.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []

    def ids(self) -> list[int]:
        return [row[0] for row in self.sql("SELECT {nid} FROM {events} ORDER BY {nid}")]

    def event(self, nid: int) -> tuple[Any, int, str, bytes]:
        [(originator, version, topic, state)] = self.sql(
            "SELECT originator_id, originator_version, topic, state FROM {events} WHERE {nid} = ?", nid
        )
        return originator, version, topic, bytes(state)

    def set_state(self, nid: int, state: bytes) -> None:
        self.sql("UPDATE {events} SET state = ? WHERE {nid} = ?", state, nid)

    def move(self, nid: int, to: int) -> None:
        self.sql("UPDATE {events} SET {nid} = ? WHERE {nid} = ?", to, nid)

    def relink(self, from_position: int = 1, renumber: bool = False) -> None:
        """Recompute leaves and chain hashes from ``from_position`` on, as a careful forger would."""
        rows = self.sql("SELECT position, notification_id, recorded_at, context FROM {chain} ORDER BY position")
        previous = bytes(32)
        for index, (position, nid, recorded_at, context) in enumerate(rows, start=1):
            if renumber and position != index:
                self.sql("UPDATE {chain} SET position = ? WHERE position = ?", index, position)
                position = index
            if position >= from_position:
                originator, version, topic, state = self.event(nid)
                leaf = leaf_hash(topic, _uuid(originator), version, state, recorded_at, context)
                chain = chain_hash(previous, leaf)
                self.sql("UPDATE {chain} SET leaf = ?, chain = ? WHERE position = ?", leaf, chain, position)
                previous = chain
            else:
                [(chain_value,)] = self.sql("SELECT chain FROM {chain} WHERE position = ?", position)
                previous = bytes(chain_value)


def _uuid(originator: Any) -> str:
    from uuid import UUID

    return str(UUID(str(originator)))
