"""Foreign keys declared with ``db_constraint=False`` whose field name names no model (``section``
referencing a category): a ``section_id`` column without a constraint. Natural keys in the backup tell
the model when the rows of exactly one model hold them; pks do not, and the field is refused, named."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from tests.conftest import run

SCHEMA = """
CREATE TABLE shop_category (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, slug varchar(20) NOT NULL UNIQUE);
CREATE TABLE shop_brand (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name varchar(20) NOT NULL UNIQUE);
CREATE TABLE shop_banner (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, text varchar(80) NOT NULL,
    section_id bigint NULL);
CREATE INDEX shop_banner_section_id_1a2b3c4d ON shop_banner (section_id);
INSERT INTO shop_brand (id, name) VALUES (1, 'tools');
INSERT INTO shop_category (id, slug) VALUES (7, 'garden');
"""
CATEGORIES = [
    {"model": "shop.category", "pk": 1, "fields": {"slug": "tools"}},
    {"model": "shop.category", "pk": 2, "fields": {"slug": "toys"}},
]


def restored(tmp_path: Path, cli: CliRunner, records: list[dict[str, Any]]) -> tuple[Any, Path]:
    path, fixture = tmp_path / "target.sqlite3", tmp_path / "fixture.json"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
    db.close()
    fixture.write_text(json.dumps(records))
    result = run(cli, "restore", fixture, "--target", f"sqlite:///{path}", "--ledger", tmp_path / "l.sqlite3",
                 "--quiet")  # fmt: skip
    return result, path


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_natural_keys_that_one_models_rows_hold_name_the_model(tmp_path: Path, cli: CliRunner) -> None:
    banners = [
        {"model": "shop.banner", "pk": 1, "fields": {"section": ["toys"], "text": "Toys"}},
        {"model": "shop.banner", "pk": 2, "fields": {"section": ["garden"], "text": "in the target only"}},
        {"model": "shop.banner", "pk": 3, "fields": {"section": None, "text": "Welcome"}},
    ]

    result, path = restored(tmp_path, cli, [*CATEGORIES, *banners])

    assert result.exit_code == 0, result.output
    [(toys,)] = rows(path, "SELECT id FROM shop_category WHERE slug = 'toys'")
    assert rows(path, "SELECT id, section_id FROM shop_banner ORDER BY id") == [(1, toys), (2, 7), (3, None)]


def test_natural_keys_the_rows_of_two_models_hold_are_refused_naming_the_field(tmp_path: Path, cli: CliRunner) -> None:
    banner = {"model": "shop.banner", "pk": 1, "fields": {"section": ["tools"], "text": "Tools"}}

    result, path = restored(tmp_path, cli, [*CATEGORIES, banner])

    assert result.exit_code == 1, result.output
    assert "record 3 (shop.banner pk=1): field 'section' is not a column of table 'shop_banner'" in result.output
    assert "the rows of shop.brand, shop.category all hold its natural keys (['tools'])" in result.output
    assert 'foreign_keys] section = { column = "section_id", model = "app.model", nullable = true }' in result.output
    assert rows(path, "SELECT COUNT(*) FROM shop_banner") == [(0,)]


def test_pks_do_not_tell_the_model_and_are_refused_naming_the_field(tmp_path: Path, cli: CliRunner) -> None:
    banner = {"model": "shop.banner", "pk": 1, "fields": {"section": 2, "text": "Toys"}}

    result, path = restored(tmp_path, cli, [*CATEGORIES, banner])

    assert result.exit_code == 1, result.output
    assert "field 'section'" in result.output and "Traceback" not in result.output
    assert "the backup gives it as pks (1 references), which do not tell which model they reference" in result.output
    assert rows(path, "SELECT COUNT(*) FROM shop_banner") == [(0,)]
