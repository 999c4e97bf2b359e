"""A table with a composite primary key (Django 5.2 ``CompositePrimaryKey``): restored, rolled back, replayed, on
SQLite and PostgreSQL, from the differential project's real ``dumpdata`` (``catalog.stocklevel``: a warehouse
FK and a bin number)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.conftest import run
from tests.djangodiff import Backend, Database, Source, manage
from tests.targets import pg_available

STOCK = "SELECT warehouse_id, bin, quantity FROM catalog_stocklevel ORDER BY warehouse_id, bin"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    if request.param == "postgresql" and not pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not reachable (outside CI)")
    backend = Backend(request.param, tmp_path_factory.mktemp(f"composite-{request.param}"))
    try:
        yield Source(backend)
    finally:
        backend.close()


@pytest.fixture
def target(source: Source) -> Iterator[Database]:
    made = source.backend.fresh("target")
    yield made
    source.backend.drop(made)


def rows(database: Database, sql: str = STOCK) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(database.url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def execute(database: Database, sql: str) -> None:
    engine = sa.create_engine(database.url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def restored(cli: CliRunner, fixture: Path, target: Database, ledger: Path) -> str:
    result = run(cli, "restore", fixture, "--target", target.url, "--ledger", ledger, "--reason", "test", "--json")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["restore_id"])


def test_a_restore_of_a_composite_pk_table_rolls_back_to_the_rows_before(
    source: Source, target: Database, tmp_path: Path, cli: CliRunner
) -> None:
    restore_id = restored(cli, source.construct("dump-natural.json", "composite-pk"), target, tmp_path / "l.sqlite3")
    written = rows(target)
    assert len(written) >= 3 and all(quantity is not None for *_key, quantity in written)
    shown = json.loads(run(cli, "ledger", "show", restore_id, "--ledger", tmp_path / "l.sqlite3", "--json").output)
    digested = [e for e in shown["events"] if e["event"] == "RowsDigested" and e["table"] == "catalog_stocklevel"]
    assert sum(e["ranges"] for e in digested) == sum(e["rows"] for e in digested) == len(written)  # one key a row

    result = run(cli, "rollback", restore_id, "--ledger", tmp_path / "l.sqlite3", "--reason", "wrong backup")

    assert result.exit_code == 0, result.output
    assert rows(target) == [] and rows(target, "SELECT id FROM catalog_warehouse") == []


def test_a_rollback_is_refused_naming_the_key_of_a_composite_row_changed_since(
    source: Source, target: Database, tmp_path: Path, cli: CliRunner
) -> None:
    ledger = tmp_path / "l.sqlite3"
    restore_id = restored(cli, source.construct("dump-pk.json", "composite-pk"), target, ledger)
    (warehouse, bin_, _quantity), *_ = rows(target)
    execute(target, f"UPDATE catalog_stocklevel SET quantity = 99 WHERE warehouse_id = {warehouse} AND bin = {bin_}")
    before = rows(target)

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert f"catalog_stocklevel pk [{warehouse}, {bin_}] column quantity" in result.output
    assert rows(target) == before


def test_a_rollback_is_refused_when_a_composite_row_added_since_references_a_restored_row(
    source: Source, target: Database, tmp_path: Path, cli: CliRunner
) -> None:
    """The restore holds no composite-pk row (its rollback goes by pk ranges): a stock level added since that
    references a restored warehouse keeps the warehouse."""
    ledger = tmp_path / "l.sqlite3"
    restore_id = restored(cli, source.construct("dump-pk.json", "fk-to-field"), target, ledger)
    [(warehouse,), *_] = rows(target, "SELECT id FROM catalog_warehouse ORDER BY id")
    execute(target, f"INSERT INTO catalog_stocklevel (warehouse_id, bin, quantity) VALUES ({warehouse}, 7, 1)")

    result = run(cli, "rollback", restore_id, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert "depend on its rows" in result.output
    assert f"catalog_stocklevel pk [{warehouse}, 7] references catalog_warehouse pk {warehouse}" in result.output
    assert rows(target) == [(warehouse, 7, 1)]


def test_a_composite_pk_row_the_target_holds_is_kept_or_updated_by_its_whole_key(
    source: Source, target: Database, tmp_path: Path, cli: CliRunner
) -> None:
    fixture = source.construct("dump-pk.json", "composite-pk")
    manage("loaddata", str(fixture), db=target.django)
    (warehouse, bin_, quantity), *_ = rows(target)
    execute(target, f"UPDATE catalog_stocklevel SET quantity = 99 WHERE warehouse_id = {warehouse} AND bin = {bin_}")
    ledger = tmp_path / "l.sqlite3"

    kept = run(cli, "restore", fixture, "--target", target.url, "--ledger", ledger, "--reason", "kept", "--json")
    assert kept.exit_code == 0, kept.output
    assert json.loads(kept.output)["decisions"]["conflicts"] == 1
    assert rows(target)[0] == (warehouse, bin_, 99)

    again = tmp_path / "again.json"  # the same records in another file: another backup
    again.write_text(json.dumps(json.loads(fixture.read_text())))
    updated = run(cli, "restore", again, "--target", target.url, "--ledger", ledger, "--reason", "updated",
                  "--on-conflict", "update", "--json")  # fmt: skip
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.output)["decisions"]["updated"] == 1
    assert rows(target)[0] == (warehouse, bin_, quantity)

    rollback = run(cli, "rollback", json.loads(updated.output)["restore_id"], "--ledger", ledger)
    assert rollback.exit_code == 0, rollback.output
    assert rows(target)[0] == (warehouse, bin_, 99)  # the row's before image, found by its whole key


def test_a_replay_writes_the_composite_pk_rows_into_another_target(
    source: Source, target: Database, tmp_path: Path, cli: CliRunner
) -> None:
    ledger = tmp_path / "l.sqlite3"
    restore_id = restored(cli, source.construct("dump-natural.json", "composite-pk"), target, ledger)
    other = source.backend.fresh("other")
    try:
        result = run(cli, "replay", restore_id, "--target", other.url, "--ledger", ledger, "--reason", "staging")

        assert result.exit_code == 0, result.output
        assert rows(other) == rows(target) != []
    finally:
        source.backend.drop(other)


def test_profile_show_names_the_composite_key_and_its_text_restores_as_a_profile_file(
    source: Source, target: Database, tmp_path: Path, cli: CliRunner
) -> None:
    fixture = source.construct("dump-pk.json", "composite-pk")

    shown = run(cli, "profile", "show", "--target", target.url, "--backup", fixture)

    assert shown.exit_code == 0, shown.output
    assert 'composite = ["warehouse", "bin"]' in shown.output
    assert "composite pk ['warehouse', 'bin']: the table's primary key is several columns" in shown.output
    profile = tmp_path / "profile.toml"
    profile.write_text(shown.output)
    result = run(cli, "restore", fixture, "--target", target.url, "--ledger", tmp_path / "l.sqlite3",
                 "--reason", "test", "--profile", profile)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(rows(target)) == 4


@pytest.mark.parametrize("dump", ["dump-pk.json", "dump-natural.json"])
def test_compare_finds_composite_pk_rows_by_their_key_and_names_one_edited_by_hand(
    dump: str, source: Source, target: Database, tmp_path: Path, cli: CliRunner
) -> None:
    fixture = source.construct(dump, "composite-pk")
    ledger = tmp_path / "l.sqlite3"
    restored(cli, fixture, target, ledger)
    same = json.loads(run(cli, "compare", fixture, "--target", target.url, "--ledger", ledger, "--json").output)
    assert same["differences"] == 0 and same["models"]["catalog.stocklevel"]["equal"] == len(rows(target))
    (warehouse, bin_, quantity), *_ = rows(target)
    [(code,)] = rows(target, f"SELECT code FROM catalog_warehouse WHERE id = {warehouse}")
    execute(target, f"UPDATE catalog_stocklevel SET quantity = 99 WHERE warehouse_id = {warehouse} AND bin = {bin_}")

    report = json.loads(run(cli, "compare", fixture, "--target", target.url, "--ledger", ledger, "--json").output)

    assert report["differences"] == 1
    assert report["models"]["catalog.stocklevel"]["different"] == [
        {"key": f"{code}/{bin_}", "fields": {"quantity": [quantity, 99]}}
    ]


def test_apply_refuses_naming_the_key_a_composite_row_took_since_planning(
    source: Source, target: Database, tmp_path: Path, cli: CliRunner
) -> None:
    fixture = source.construct("dump-pk.json", "composite-pk")
    warehouses = tmp_path / "warehouses.json"  # in the target before planning: the stock levels are new rows
    warehouses.write_text(json.dumps([r for r in json.loads(fixture.read_text()) if r["model"] == "catalog.warehouse"]))
    manage("loaddata", str(warehouses), db=target.django)
    ledger = tmp_path / "l.sqlite3"
    planned = run(cli, "plan", fixture, "--target", target.url, "--ledger", ledger, "--reason", "test", "--quiet")
    assert planned.exit_code == 0, planned.output
    (warehouse, bin_), *_ = [(r["pk"][0], r["pk"][1]) for r in json.loads(fixture.read_text()) if r["pk"] and
                             r["model"] == "catalog.stocklevel"]  # fmt: skip
    execute(target, f"INSERT INTO catalog_stocklevel (warehouse_id, bin, quantity) VALUES ({warehouse}, {bin_}, 42)")

    result = run(cli, "apply", planned.output.split()[1], "--target", target.url, "--ledger", ledger)

    assert result.exit_code == 1, result.output
    assert (
        f"catalog.stocklevel: pk (warehouse_id, bin) [{warehouse}, {bin_}] in 'catalog_stocklevel' is taken since"
        in (result.output)
    )
    assert rows(target) == [(warehouse, bin_, 42)]
