"""PostgreSQL: foreign keys of tables that take or lose many rows are dropped for the projection's
transaction and added back, checked, before it commits (infrastructure/pg_constraints.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from domain.errors import ApplyError
from infrastructure import pg_constraints
from infrastructure.dialects import PostgresWriter
from tests.conftest import run
from tests.edms import Source
from tests.restores import restore
from tests.targets import PostgresTarget

CONSTRAINTS = (
    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), condeferrable, condeferred, convalidated "
    "FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2"
)


@pytest.fixture
def every_table_relaxed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """Relax from the first row, so that the example's few rows take the path of a big restore; each
    relaxation is kept as (side, the foreign keys dropped)."""
    monkeypatch.setattr(pg_constraints, "MIN_ROWS", 1)
    relaxations: list[tuple[str, list[str]]] = []
    relax = pg_constraints.relax

    def recorded(conn: sa.engine.Connection, rows: Any, side: str = pg_constraints.OUTGOING) -> Any:
        relaxed = relax(conn, rows, side)
        relaxations.append((side, [r.name for r in relaxed]))
        return relaxed

    monkeypatch.setattr(pg_constraints, "relax", recorded)
    return relaxations


@pytest.fixture
def database(pg_template: str) -> Iterator[sa.engine.Connection]:
    """Two tables and a foreign key as Django declares it (deferrable, initially deferred)."""
    target = PostgresTarget.create(pg_template)
    engine = sa.create_engine(target.url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE kind (id integer PRIMARY KEY)")
        conn.exec_driver_sql(
            "CREATE TABLE item (id integer PRIMARY KEY, kind_id integer CONSTRAINT item_kind_fk "
            "REFERENCES kind (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        conn.exec_driver_sql("INSERT INTO kind VALUES (1), (2)")
        conn.commit()
        yield conn
    engine.dispose()
    target.drop()


def test_a_relaxed_foreign_key_comes_back_as_it_was(database: sa.engine.Connection) -> None:
    conn, writer = database, PostgresWriter()
    before = conn.exec_driver_sql(CONSTRAINTS).fetchall()

    relaxed = writer.relax_references(conn, {"item": 5000})
    assert [r.name for r in relaxed] == ["item_kind_fk"]
    assert [c for c in conn.exec_driver_sql(CONSTRAINTS).fetchall() if c[0] == "item"] == []
    writer.insert(conn, "item", ["id", "kind_id"], [(i, 1 + i % 2) for i in range(5000)])
    writer.check_references(conn, {"item": "id"}, relaxed)
    conn.commit()

    assert conn.exec_driver_sql(CONSTRAINTS).fetchall() == before
    assert conn.exec_driver_sql("SELECT count(*) FROM item").scalar() == 5000


def test_a_broken_reference_in_a_relaxed_table_is_named_and_nothing_changes(database: sa.engine.Connection) -> None:
    conn, writer = database, PostgresWriter()
    before = conn.exec_driver_sql(CONSTRAINTS).fetchall()

    relaxed = writer.relax_references(conn, {"item": 5000})
    writer.insert(conn, "item", ["id", "kind_id"], [(i, 1) for i in range(4999)] + [(4999, 7)])
    with pytest.raises(ApplyError) as refused:
        writer.check_references(conn, {"item": "id"}, relaxed)
    conn.rollback()

    assert "a reference of the restore does not hold" in str(refused.value)
    assert 'Key (kind_id)=(7) is not present in table "kind"' in str(refused.value)
    assert conn.exec_driver_sql(CONSTRAINTS).fetchall() == before
    assert conn.exec_driver_sql("SELECT count(*) FROM item").scalar() == 0


def test_a_table_that_holds_far_more_rows_than_it_takes_keeps_its_per_row_checks(
    database: sa.engine.Connection,
) -> None:
    conn, writer = database, PostgresWriter()
    conn.exec_driver_sql("INSERT INTO item SELECT i, 1 FROM generate_series(1, 30000) AS i")
    conn.commit()

    assert writer.relax_references(conn, {"item": 1000}) == []  # 30,000 rows > 20 x 1,000: checked row by row
    assert [r.name for r in writer.relax_references(conn, {"item": 2000})] == ["item_kind_fk"]
    conn.rollback()


def test_deleting_many_rows_relaxes_the_foreign_keys_that_point_at_them(database: sa.engine.Connection) -> None:
    conn, writer = database, PostgresWriter()

    relaxed = writer.relax_references(conn, {"kind": 5000}, deleted=True)

    assert [(r.table, r.name) for r in relaxed] == [("item", "item_kind_fk")]
    conn.rollback()


@pytest.mark.parametrize("reinitialised", ["postgresql"], indirect=True)
def test_restore_and_rollback_with_every_table_relaxed_leave_the_constraints_and_rows_as_they_were(
    every_table_relaxed: list[tuple[str, list[str]]],
    source: Source,
    reinitialised: PostgresTarget,
    ledger: str,
    cli: CliRunner,
) -> None:
    constraints, before = reinitialised.query(CONSTRAINTS), reinitialised.data()

    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    assert reinitialised.query(CONSTRAINTS) == constraints
    assert reinitialised.data() != before
    result = run(cli, "rollback", restore_id, "--ledger", ledger, "--reason", "drill")

    assert result.exit_code == 0, result.output
    assert reinitialised.query(CONSTRAINTS) == constraints
    assert reinitialised.data() == before
    sides = [side for side, dropped in every_table_relaxed if dropped]
    assert sides == [pg_constraints.OUTGOING, pg_constraints.INCOMING]  # the apply's, then the rollback's


@pytest.mark.parametrize("reinitialised", ["postgresql"], indirect=True)
def test_a_rollback_with_relaxed_keys_still_refuses_when_a_later_row_depends_on_a_restored_one(
    every_table_relaxed: list[tuple[str, list[str]]],
    source: Source,
    reinitialised: PostgresTarget,
    ledger: str,
    cli: CliRunner,
) -> None:
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    [(document_id,)] = reinitialised.query("SELECT max(id) FROM documents_document")
    reinitialised.execute(f"INSERT INTO documents_document_tags (document_id, tag_id) "
                          f"SELECT {document_id}, min(id) FROM documents_tag")  # fmt: skip
    constraints, before = reinitialised.query(CONSTRAINTS), reinitialised.data()

    result = run(cli, "rollback", restore_id, "--ledger", ledger, "--reason", "drill")

    assert result.exit_code == 1, result.output
    assert "rows added after the restore depend on its rows" in result.output
    assert any(side == pg_constraints.INCOMING and dropped for side, dropped in every_table_relaxed)
    assert reinitialised.query(CONSTRAINTS) == constraints
    assert reinitialised.data() == before
