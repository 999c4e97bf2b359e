"""Pk ranges and row digests, as an apply records them and a rollback checks them, on both backends."""

from __future__ import annotations

import json
import os
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from infrastructure import footprint
from infrastructure.dialects import writer_for
from tests.targets import PG_SERVER, pg_admin, pg_available

IN_CI = os.environ.get("CI") == "true"

SCHEMA = {
    "sqlite": "CREATE TABLE kinds (id integer PRIMARY KEY, j text, d decimal, t datetime, dur bigint, b blob, "
    "u char(32), n text, f real)",
    "postgresql": "CREATE TABLE kinds (id integer PRIMARY KEY, j jsonb, d numeric(12, 2), t timestamptz, "
    "dur interval, b bytea, u uuid, n text, f double precision)",
}
COLUMNS = ["id", "j", "d", "t", "dur", "b", "u", "n", "f"]
CHANGES = {  # one column of one row changed after the apply, in the target's own SQL
    "j": 'UPDATE kinds SET j = \'{"a": 1, "b": [1, 2, 4]}\' WHERE id = 3',
    "d": "UPDATE kinds SET d = 3.51 WHERE id = 3",
    "t": "UPDATE kinds SET t = '2026-03-01 10:00:01+00:00' WHERE id = 3",
    "b": "UPDATE kinds SET b = NULL WHERE id = 3",
    "n": "UPDATE kinds SET n = 'now set' WHERE id = 3",
    "f": "UPDATE kinds SET f = 0.5 WHERE id = 3",
}


def row(i: int, dialect: str) -> dict[str, Any]:
    pg = dialect == "postgresql"
    j = {"b": [1, 2, i], "a": i}
    instant = datetime(2026, 3, 1, 10, 0, tzinfo=UTC) + timedelta(seconds=i)
    return {
        "id": i,
        "jv": json.dumps(j),
        "d": Decimal(f"{i}.50") if pg else f"{i}.50",
        "t": instant if pg else instant.isoformat(),
        "dur": timedelta(seconds=i) if pg else i * 1_000_000,
        "b": bytes([i % 256, 0, 255]),
        "u": uuid.UUID(int=i) if pg else uuid.UUID(int=i).hex,
        "n": None,
        "f": i / 3,
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        made = sa.create_engine(f"sqlite:///{tmp_path / 'kinds.sqlite3'}")
        yield made
        made.dispose()
        return
    if not pg_available():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not reachable (outside CI)")
    name = f"rl_footprint_{os.urandom(6).hex()}"
    pg_admin(f"CREATE DATABASE {name}")
    made = sa.create_engine(f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{name}")
    yield made
    made.dispose()
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fill(engine: sa.Engine, count: int) -> None:
    dialect = engine.dialect.name
    json_value = "CAST(:jv AS jsonb)" if dialect == "postgresql" else ":jv"
    values = f"(:id, {json_value}, :d, :t, :dur, :b, :u, :n, :f)"
    with engine.begin() as conn:
        conn.exec_driver_sql(SCHEMA[dialect])
        conn.execute(
            sa.text(f"INSERT INTO kinds ({', '.join(COLUMNS)}) VALUES {values}"),
            [row(i, dialect) for i in range(1, count + 1)],
        )


OTHER_SESSION = {
    "TimeZone": "Asia/Tokyo",
    "DateStyle": "SQL, DMY",
    "IntervalStyle": "iso_8601",
    "bytea_output": "escape",
}


def digest_of(engine: sa.Engine, ranges: list[list[int]], settings: dict[str, str] | None = None) -> tuple[int, str]:
    with engine.connect() as conn:
        for name, value in (settings or {}).items():
            conn.exec_driver_sql(f"SET {name} = '{value}'")
        found = footprint.digest(conn, writer_for(engine.dialect.name).mark, "kinds", COLUMNS, ranges)
        for name, value in (settings or {}).items():  # the session's own settings are put back
            assert conn.exec_driver_sql(f"SELECT current_setting('{name}')").scalar() == value
        return found


def test_the_same_rows_give_the_same_digest_in_another_session(engine: sa.Engine) -> None:
    fill(engine, 40)
    ranges = [[1, 40]]

    first = digest_of(engine, ranges)
    again = digest_of(engine, ranges, OTHER_SESSION if engine.dialect.name == "postgresql" else None)

    assert first == again and first[0] == 40
    assert digest_of(engine, [[1, 20], [21, 40]]) == first  # the same rows, ranges joined or not
    assert digest_of(engine, [[1, 39]]) != first


@pytest.mark.parametrize("column", sorted(CHANGES))
def test_a_change_of_any_kind_of_value_changes_the_digest(engine: sa.Engine, column: str) -> None:
    fill(engine, 10)
    before = digest_of(engine, [[1, 10]])
    with engine.begin() as conn:
        conn.exec_driver_sql(CHANGES[column])

    after = digest_of(engine, [[1, 10]])

    assert after[0] == before[0] and after[1] != before[1]


def test_a_deleted_row_changes_the_count(engine: sa.Engine) -> None:
    fill(engine, 10)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM kinds WHERE id = 4")

    assert digest_of(engine, [[1, 10]])[0] == 9


def test_references_into_ranges_leave_out_the_rows_of_the_restore_itself(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE parent (id integer PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id))")
        conn.exec_driver_sql("INSERT INTO parent (id) VALUES " + ", ".join(f"({i})" for i in range(1, 101)))
        children = [(i, i % 100 + 1) for i in range(1, 301)]
        conn.exec_driver_sql(
            "INSERT INTO child (id, parent_id) VALUES " + ", ".join(f"({a}, {b})" for a, b in children)
        )
    mark = writer_for(engine.dialect.name).mark
    restored = [[1, 100]]
    own_few, own_many = [[1, 250]], [[i, i] for i in range(1, 251)]  # in SQL, and by bisection

    with engine.connect() as conn:
        few = sorted(footprint.references_into(conn, mark, "child", "parent_id", "id", restored, own_few))
        many = sorted(footprint.references_into(conn, mark, "child", "parent_id", "id", restored, own_many))

    expected = sorted((parent, pk) for pk, parent in children if pk > 250)
    assert few == many == expected


def test_ranges_join_pks_arriving_in_any_order_and_pieces_cover_each_pk_once() -> None:
    written = footprint.PkRanges()
    for pk in [*range(10, 20), *range(1, 5), 5, *range(30, 12_000), 25]:
        written.add(pk)
    merged = written.merged()
    assert merged == [[1, 5], [10, 19], [25, 25], [30, 11_999]]

    groups = list(footprint.pieces(merged))

    covered = [pk for group in groups for lo, hi in group for pk in range(lo, hi + 1)]
    assert covered == [pk for lo, hi in merged for pk in range(lo, hi + 1)]
    assert all(sum(hi - lo + 1 for lo, hi in group) <= footprint.SPAN for group in groups)
    assert all(len(group) <= footprint.PIECES for group in groups)


def test_digest_memory_stays_bounded_by_a_page(tmp_path: Path) -> None:
    peaks = []
    for count in (20_000, 40_000):
        engine = sa.create_engine(f"sqlite:///{tmp_path / f'{count}.sqlite3'}")
        fill(engine, count)
        tracemalloc.start()
        rows, _ = digest_of(engine, [[1, count]])
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        engine.dispose()
        assert rows == count

    assert peaks[1] < peaks[0] * 1.25  # twice the rows, about the same peak: one page at a time
