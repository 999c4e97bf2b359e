"""Hand-written fixtures in the styles Django's documentation shows, into a small Django-like
schema: app labels with underscores, pks and numbers as text, fields left out, rows without pk,
``to_field``, ``db_constraint=False`` and multi-table inheritance, restored with no profile."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.conftest import run

SCHEMA = """
CREATE TABLE django_content_type (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, app_label varchar(100) NOT NULL,
    model varchar(100) NOT NULL, UNIQUE (app_label, model));
CREATE TABLE fixtures_regress_absolute (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name varchar(40) NOT NULL,
    load_count integer NOT NULL DEFAULT 0);
CREATE TABLE shop_item (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, code varchar(20) NOT NULL UNIQUE,
    price decimal NOT NULL, weight real NOT NULL, active bool NOT NULL, color varchar(20) NOT NULL);
CREATE TABLE shop_order (id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    item_id varchar(20) NOT NULL REFERENCES shop_item (code) DEFERRABLE INITIALLY DEFERRED, quantity integer NOT NULL);
CREATE TABLE shop_place (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL);
CREATE TABLE shop_restaurant (place_ptr_id integer NOT NULL PRIMARY KEY REFERENCES shop_place (id)
    DEFERRABLE INITIALLY DEFERRED, serves_pizza bool NOT NULL);
CREATE TABLE shop_note (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, place_id integer NULL, text text NOT NULL);
CREATE TABLE shop_menu (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, title varchar(50) NOT NULL,
    restaurant_id integer NOT NULL UNIQUE REFERENCES shop_restaurant (place_ptr_id) DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE catalogue_entries (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, title varchar(50) NOT NULL);
CREATE TABLE shop_review (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, text text NOT NULL,
    entry_id integer NOT NULL REFERENCES catalogue_entries (id) DEFERRABLE INITIALLY DEFERRED);
INSERT INTO shop_place (id, name) VALUES (1, 'There before the restore');
INSERT INTO catalogue_entries (id, title) VALUES (1, 'There before the restore');
"""
FIXTURE: list[dict[str, Any]] = [
    {"model": "fixtures_regress.absolute", "pk": "6", "fields": {"name": "Load Count"}},
    {"model": "fixtures_regress.absolute", "fields": {"name": "No pk"}},
    {
        "model": "shop.item",
        "pk": 1,
        "fields": {"code": "A1", "price": "9.50", "weight": "1.5", "active": "t", "color": ""},
    },
    {"model": "shop.order", "pk": "1", "fields": {"item": "A1", "quantity": "3"}},
    {"model": "shop.place", "pk": 1, "fields": {"name": "Pizzeria"}},
    {"model": "shop.restaurant", "pk": 1, "fields": {"serves_pizza": True}},
    {"model": "shop.note", "pk": 1, "fields": {"place": 1, "text": "about the pizzeria"}},
    {"model": "shop.menu", "pk": 1, "fields": {"restaurant": 1, "title": "Lunch"}},
    # a proxy model of shop.item: its label, the concrete model's table
    {"model": "shop.cheapitem", "fields": {"code": "B2", "price": "1", "weight": 1, "active": False, "color": "red"}},
    {"model": "shop.order", "pk": 2, "fields": {"item": "B2", "quantity": 1}},
]


def target(tmp_path: Path) -> Path:
    path = tmp_path / "target.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
    db.close()
    return path


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_a_hand_written_fixture_restores_as_django_would_load_it(tmp_path: Path, cli: CliRunner) -> None:
    path, fixture = target(tmp_path), tmp_path / "fixture.json"
    fixture.write_text(json.dumps(FIXTURE))

    result = run(cli, "restore", fixture, "--target", f"sqlite:///{path}", "--ledger", tmp_path / "l.sqlite3",
                 "--quiet")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert rows(path, "SELECT id, name, load_count FROM fixtures_regress_absolute ORDER BY id") == [
        (6, "Load Count", 0),
        (7, "No pk", 0),
    ]
    assert rows(path, "SELECT id, code, price, weight, active, color FROM shop_item ORDER BY id") == [
        (1, "A1", 9.5, 1.5, 1, ""),
        (2, "B2", 1, 1.0, 0, "red"),
    ]
    assert rows(path, "SELECT id, item_id, quantity FROM shop_order ORDER BY id") == [(1, "A1", 3), (2, "B2", 1)]
    [(pizzeria,)] = rows(path, "SELECT id FROM shop_place WHERE name = 'Pizzeria'")
    assert pizzeria != 1  # pk 1 was taken: the parent moved, and its child and references follow
    assert rows(path, "SELECT place_ptr_id, serves_pizza FROM shop_restaurant") == [(pizzeria, 1)]
    assert rows(path, "SELECT place_id FROM shop_note") == [(pizzeria,)]
    # its unique one-to-one points at a model without a natural key: known by its pk, not by that
    assert rows(path, "SELECT restaurant_id, title FROM shop_menu") == [(pizzeria, "Lunch")]
    assert rows(path, "PRAGMA foreign_key_check") == []


def test_what_django_refuses_is_refused_with_the_record_named(tmp_path: Path, cli: CliRunner) -> None:
    path = target(tmp_path)
    before = path.read_bytes()
    cases = {
        "a number that is no number": ({"quantity": "three"}, "field 'quantity' expected an integer, got 'three'"),
        "a field without a default left out": ({"quantity": None}, "field 'quantity' is null but the column"),
    }
    for name, (fields, message) in cases.items():
        fixture = tmp_path / f"{name}.json"
        order = {"model": "shop.order", "pk": 1, "fields": {"item": "A1", "quantity": 1} | fields}
        fixture.write_text(json.dumps([FIXTURE[2], order]))
        result = run(cli, "restore", fixture, "--target", f"sqlite:///{path}", "--ledger", tmp_path / "l.sqlite3",
                     "--quiet")  # fmt: skip
        assert result.exit_code == 1, (name, result.output)
        assert message in result.output and "record 2 (shop.order" in result.output, (name, result.output)
        assert path.read_bytes() == before


def test_a_per_model_conflict_policy_in_the_profile_takes_the_backups_values(tmp_path: Path, cli: CliRunner) -> None:
    path, fixture, profile = target(tmp_path), tmp_path / "fixture.json", tmp_path / "profile.toml"
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO shop_item (code, price, weight, active, color) VALUES ('A1', 1, 1, 0, 'red')")
    db.close()
    fixture.write_text(json.dumps([FIXTURE[2] | {"pk": 9}]))
    profile.write_text('[models."shop.item"]\non_conflict = "update"\n')

    result = run(cli, "restore", fixture, "--target", f"sqlite:///{path}", "--ledger", tmp_path / "l.sqlite3",
                 "--profile", profile, "--quiet")  # fmt: skip

    assert result.exit_code == 0, result.output
    assert rows(path, "SELECT code, price, weight, active, color FROM shop_item") == [("A1", 9.5, 1.5, 1, "")]


def test_a_field_left_out_whose_default_only_the_models_code_knows_is_refused_unless_a_profile_gives_it(
    tmp_path: Path, cli: CliRunner
) -> None:
    """Django fills in the model field's default, which may be Python-side (``default="black"``): the schema
    cannot tell it, so the restore names the field rather than guess; a profile's [defaults] (as
    ``manage.py restore_ledger_profile`` exports them) supplies it."""
    path, fixture, profile = target(tmp_path), tmp_path / "fixture.json", tmp_path / "profile.toml"
    item = {"model": "shop.item", "pk": 1, "fields": {"code": "A1", "price": "9.50", "weight": "1.5", "active": "t"}}
    fixture.write_text(json.dumps([item]))
    arguments = ("restore", fixture, "--target", f"sqlite:///{path}", "--ledger", tmp_path / "l.sqlite3", "--quiet")
    before = path.read_bytes()

    refused = run(cli, *arguments)
    assert refused.exit_code == 1 and "record 1 (shop.item \"A1\"): field 'color' is missing" in refused.output
    assert "manage.py restore_ledger_profile" in refused.output and path.read_bytes() == before
    profile.write_text('[models."shop.item".defaults]\ncolor = "black"\n')
    result = run(cli, *arguments, "--profile", profile)

    assert result.exit_code == 0, result.output
    assert rows(path, "SELECT code, color FROM shop_item") == [("A1", "black")]


def test_a_custom_db_table_named_in_a_profile_file_takes_the_labels_rows(tmp_path: Path, cli: CliRunner) -> None:
    path, fixture, profile = target(tmp_path), tmp_path / "fixture.json", tmp_path / "profile.toml"
    fixture.write_text(json.dumps([
        {"model": "shop.review", "pk": 1, "fields": {"entry": 1, "text": "good"}},
        {"model": "shop.entry", "pk": 1, "fields": {"title": "Pizza"}},
    ]))  # fmt: skip
    arguments = ("restore", fixture, "--target", f"sqlite:///{path}", "--ledger", tmp_path / "l.sqlite3", "--quiet")

    refused = run(cli, *arguments)
    assert refused.exit_code == 1 and "record 2 (shop.entry pk=1)" in refused.output
    assert '[models."shop.entry"] table = "..."' in refused.output
    profile.write_text('[models."shop.entry"]\ntable = "catalogue_entries"\n')
    result = run(cli, *arguments, "--profile", profile)

    assert result.exit_code == 0, result.output
    [(pizza,)] = rows(path, "SELECT id FROM catalogue_entries WHERE title = 'Pizza'")
    assert pizza == 2 and rows(path, "SELECT entry_id, text FROM shop_review") == [(pizza, "good")]
