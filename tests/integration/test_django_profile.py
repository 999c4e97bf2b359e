"""``manage.py restore_ledger_profile`` on a project holding what only the model registry tells."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from typing import Any

import pytest

from domain.profile import Profile
from tests.edms import ROOT


@pytest.fixture(scope="module")
def exported() -> dict[str, Any]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.profile_project.settings", "PYTHONWARNINGS": "ignore"}
    script = "import django; django.setup(); from django.core.management import call_command; " \
        "call_command('restore_ledger_profile')"  # fmt: skip
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    models: dict[str, Any] = tomllib.loads(result.stdout)["models"]
    return models


def test_tables_labels_and_natural_keys_come_from_the_models(exported: dict[str, Any]) -> None:
    assert exported["shop_items.category"]["table"] == "catalogue_category"
    assert exported["shop_items.category"]["natural_key"] == ["code"]
    assert exported["shop_items.item"]["natural_key"] == ["uuid"]  # natural_key() returns str(self.uuid)
    assert exported["shop_items.variant"]["natural_key"] == ["item", "size"]  # a FK stands for its row's key
    assert exported["shop_items.note"]["natural_key"] == []
    assert exported["auth.permission"]["natural_key"] == ["codename", "content_type"]


def test_references_defaults_and_the_projects_settings(exported: dict[str, Any]) -> None:
    item = exported["shop_items.item"]
    assert item["foreign_keys"]["category"] == {
        "field": "category", "column": "category_id", "model": "shop_items.category", "nullable": False,
        "to_field": "code",
    }  # fmt: skip
    assert item["defaults"] == {"sku": "", "price": 0, "attributes": {}}  # a CharField: Django's implicit ""
    assert item["uuid_fields"] == ["uuid"]
    assert item["fields"]["price"]["kind"] == "decimal"
    assert exported["shop_items.category"]["defaults"] == {"code": "", "title": "untitled"}  # Django's implicit ""
    assert exported["shop_items.category"]["policy"] == "map" and exported["shop_items.category"]["seeded"]
    note = exported["shop_items.note"]
    assert note["generic_foreign_keys"] == {
        "target": {"field": "target", "ct_field": "content_type", "id_field": "object_id"}
    }
    assert note["many_to_many"]["tags"] == {
        "field": "tags", "table": "shop_items_note_tags", "source_column": "note_id",
        "target_column": "category_id", "model": "shop_items.category",
    }  # fmt: skip
    assert note["many_to_many"]["see_also"]["symmetrical"] is True  # what no schema tells
    assert note["many_to_many"]["replies"]["symmetrical"] is False
    assert Profile.from_dict(exported).models["shop_items.note"].many_to_many["see_also"].symmetrical is True


def test_proxies_and_multi_table_inheritance(exported: dict[str, Any]) -> None:
    proxy = exported["shop_items.cheapitem"]
    assert proxy["alias_of"] == "shop_items.item" and proxy["table"] == "shop_items_item"
    child = exported["shop_items.digitalitem"]
    assert child["table"] == "shop_items_digitalitem"
    assert child["pk"] == {"name": "item_ptr_id", "kind": "integer", "nullable": False}
    assert child["parent"] == "shop_items.item"
    assert list(child["fields"]) == ["download_url"]


def test_the_export_loads_as_a_profile(exported: dict[str, Any]) -> None:
    profile = Profile.from_dict(exported)

    assert profile.models["shop_items.item"].foreign_keys["category"].to_field == "code"
    assert profile.models["shop_items.note"].generic_foreign_keys["target"].id_field == "object_id"
    assert profile.models["shop_items.digitalitem"].parent == "shop_items.item"
