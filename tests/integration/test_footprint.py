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
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from infrastructure import footprint, row_hashes
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


def digested(table: str, columns: list[str], ranges: list[list[int]], form: str, kinds: list[str]) -> Any:
    """A RowsDigested event's fields, as the rollback reads them."""
    return SimpleNamespace(table=table, columns=columns, ranges=ranges, form=form, kinds=kinds)


WRITTEN_KINDS = ["integer", "boolean", "decimal", "float", "datetime", "json", "binary", "uuid", "text"]
WRITTEN_COLUMNS = ["id", "flag", "amount", "ratio", "t", "j", "b", "u", "n"]
WRITTEN_SCHEMA = (  # Django's SQLite column types: bool and decimal have NUMERIC affinity, real REAL
    "CREATE TABLE written (id integer PRIMARY KEY, flag bool NOT NULL, amount decimal, ratio real, "
    "t datetime, j text, b blob, u char(32), n text)"
)
WRITTEN_CHANGES = {  # one value of one row changed after the apply, in SQLite's own SQL
    "flag": "UPDATE written SET flag = 0 WHERE id = 3",
    "amount": "UPDATE written SET amount = '3.51' WHERE id = 3",
    "ratio": "UPDATE written SET ratio = 2.5 WHERE id = 3",
    "t": "UPDATE written SET t = '2026-03-01 10:00:04' WHERE id = 3",
    "j": 'UPDATE written SET j = \'{"a": 3, "b": [1, 2, 4]}\' WHERE id = 3',
    "b": "UPDATE written SET b = NULL WHERE id = 3",
    "u": "UPDATE written SET u = '00000000000000000000000000000009' WHERE id = 3",
    "n": "UPDATE written SET n = 'now set' WHERE id = 3",
}


def sent(i: int) -> list[Any]:
    """A row as the projection sends it to SQLite: a decimal's text with its scale, a float column's
    integer, a boolean; SQLite stores 12.5 or 12, 2.0 and 1 (their affinity)."""
    amount = f"{i}.50" if i % 3 else f"{i}.00"
    ratio: Any = i if i % 2 else i / 4
    instant = f"2026-03-01 10:00:{i:02d}"
    j = json.dumps({"a": i, "b": [1, 2, i]})
    return [i, i % 2 == 1, amount, ratio, instant, j, bytes([i % 256, 0, 255]), uuid.UUID(int=i).hex, None]


def written_table(path: Path, batches: list[list[int]]) -> tuple[sa.Engine, list[list[int]], tuple[int, str]]:
    """A SQLite table written batch by batch as an apply does, with the digest the apply makes of it."""
    engine = sa.create_engine(f"sqlite:///{path}")
    hashed = row_hashes.RowHashes(WRITTEN_COLUMNS, WRITTEN_KINDS)
    written = footprint.PkRanges()
    with engine.begin() as conn:
        conn.exec_driver_sql(WRITTEN_SCHEMA)
        for batch in batches:
            rows = [sent(i) for i in batch]
            writer_for("sqlite").insert(conn, "written", WRITTEN_COLUMNS, rows)
            hashed.add(rows)
            for i in batch:
                written.add(i)
    ranges = written.merged()
    [found] = list(hashed.digests([ranges]))
    return engine, ranges, found


def delete_written(engine: sa.Engine, ranges: list[list[int]]) -> tuple[int, str]:
    with engine.begin() as conn:
        event = digested("written", WRITTEN_COLUMNS, ranges, "written", WRITTEN_KINDS)
        return footprint.delete_digested(conn, "?", event)


def test_rows_hashed_as_written_to_sqlite_give_the_digest_of_the_same_rows_deleted(tmp_path: Path) -> None:
    engine, ranges, at_apply = written_table(tmp_path / "t.sqlite3", [[*range(20, 41)], [*range(1, 20)], [45, 44]])
    with engine.connect() as conn:  # SQLite stored some values in another form than sent
        assert conn.exec_driver_sql("SELECT flag, amount, ratio FROM written WHERE id = 2").one() == (0, 2.5, 0.5)
        assert conn.exec_driver_sql("SELECT amount, ratio FROM written WHERE id = 3").one() == (3, 3.0)

    at_rollback = delete_written(engine, ranges)

    assert at_rollback == at_apply and at_apply[0] == 42
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM written").scalar() == 0
    engine.dispose()


@pytest.mark.parametrize("column", sorted(WRITTEN_CHANGES))
def test_a_change_of_any_kind_of_value_after_an_apply_on_sqlite_changes_the_written_digest(
    tmp_path: Path, column: str
) -> None:
    engine, ranges, at_apply = written_table(tmp_path / "t.sqlite3", [[*range(1, 11)]])
    with engine.begin() as conn:
        conn.exec_driver_sql(WRITTEN_CHANGES[column])

    at_rollback = delete_written(engine, ranges)

    assert at_rollback[0] == at_apply[0] and at_rollback[1] != at_apply[1]
    engine.dispose()


def test_rows_rehashed_after_a_later_update_match_the_rows_deleted(tmp_path: Path) -> None:
    engine, ranges, _ = written_table(tmp_path / "t.sqlite3", [[*range(1, 11)]])
    hashed = row_hashes.RowHashes(WRITTEN_COLUMNS, WRITTEN_KINDS)
    hashed.add([sent(i) for i in range(1, 11)])
    with engine.begin() as conn:  # as a deferred reference is set after the insert
        conn.exec_driver_sql("UPDATE written SET n = 'set later' WHERE id = 4")
        hashed.replace([list(conn.exec_driver_sql("SELECT * FROM written WHERE id = 4").one())])
    [at_apply] = list(hashed.digests([ranges]))

    assert delete_written(engine, ranges) == at_apply
    engine.dispose()


def test_deleting_a_page_digests_it_as_the_apply_read_it_back_and_undoes_nothing_itself(engine: sa.Engine) -> None:
    fill(engine, 40)
    ranges = [[1, 40]]
    read_at_apply = digest_of(engine, ranges, OTHER_SESSION if engine.dialect.name == "postgresql" else None)
    mark = writer_for(engine.dialect.name).mark

    with engine.begin() as conn:
        deleted = footprint.delete_digested(conn, mark, digested("kinds", COLUMNS, ranges, "read", []))
        left = conn.exec_driver_sql("SELECT count(*) FROM kinds").scalar()

    assert deleted == read_at_apply and left == 0


@pytest.mark.parametrize("column", sorted(CHANGES))
def test_a_change_of_any_kind_of_value_changes_the_digest_of_the_deleted_page(engine: sa.Engine, column: str) -> None:
    fill(engine, 10)
    read_at_apply = digest_of(engine, [[1, 10]])
    with engine.begin() as conn:
        conn.exec_driver_sql(CHANGES[column])
    mark = writer_for(engine.dialect.name).mark

    with engine.begin() as conn:
        deleted = footprint.delete_digested(conn, mark, digested("kinds", COLUMNS, [[1, 10]], "read", []))

    assert deleted[0] == read_at_apply[0] and deleted[1] != read_at_apply[1]


@given(
    st.one_of(
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=False, allow_infinity=True),  # NaN is never a decimal's value (domain/values refuses it)
        st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.from_regex(r"-?0*[0-9]{1,5}(\.[0-9]{0,4})?", fullmatch=True),
        st.text(max_size=5),
    )
)
def test_a_decimal_takes_one_form_as_text_or_number_as_decimal_normalizes_it(value: Any) -> None:
    form = row_hashes.FIXES["decimal"](value)

    assert form == row_hashes._normalized(value)
