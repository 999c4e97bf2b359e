"""Pure planning of shapes Django's dumpdata writes: multi-table children named by their parent link, custom
db_tables found through the target's content types, to_field references by natural key, JSONField nulls."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import PlanError, ProfileError
from domain.planning import Index, Options, Planner, TargetKeys
from domain.profile import Column, ForeignKey, Kind, ModelProfile, Profile
from domain.records import Record
from domain.values import ValueProblem, normalise
from infrastructure.storage import to_storage

PK = Column("id", Kind.INTEGER, False)
SKU = {"sku": Column("sku", Kind.TEXT, False, 40)}


def shop() -> Profile:
    """A product, a multi-table child of it (``product_ptr_id``) sharing its natural key, a warehouse known
    by its code and a shelf whose FK holds that code (``to_field``)."""
    product = ModelProfile("shop.product", "shop_product", PK, ("sku",), fields=SKU)
    digital = ModelProfile(
        "shop.digital",
        "shop_digital",
        Column("product_ptr_id", Kind.INTEGER, False),
        ("sku",),
        fields={"url": Column("url", Kind.TEXT, False)},
        parent="shop.product",
    )
    warehouse = ModelProfile(
        "shop.warehouse", "shop_warehouse", PK, ("code",), fields={"code": Column("code", Kind.TEXT, False)}
    )
    shelf = ModelProfile(
        "shop.shelf",
        "shop_shelf",
        PK,
        foreign_keys={"warehouse": ForeignKey("warehouse", "warehouse_id", "shop.warehouse", False, "code")},
    )
    return Profile({m.label: m for m in (product, digital, warehouse, shelf)})


def planned(profile: Profile, items: list[Record], targets: dict[str, TargetKeys] | None = None) -> Planner:
    index = Index(profile)
    for item in items:
        index.add(item)
    keys = {label: TargetKeys() for label in profile.models} | (targets or {})
    planner = Planner(index, keys, {}, Options())
    planner.identify()
    return planner


def records(*items: tuple[str, Any, dict[str, Any]]) -> list[Record]:
    return [Record(i, label, pk, fields) for i, (label, pk, fields) in enumerate(items, start=1)]


def test_a_child_without_pk_takes_its_parents_pk_from_the_parent_link_and_is_found_by_its_key() -> None:
    items = records(
        ("shop.product", None, {"sku": "mug"}),
        ("shop.product", None, {"sku": "ebook"}),
        ("shop.digital", None, {"product_ptr": ["ebook"], "url": "https://example.org/e.pdf"}),
    )
    planner = planned(shop(), items, {"shop.product": TargetKeys(max_pk=4)})

    child = planner.build(items[2])

    assert child is not None and child.values == [6, "https://example.org/e.pdf"]  # the ebook's allocated pk
    assert planner.resolve(ForeignKey("item", "item_id", "shop.digital", False), ["ebook"], 3) == 6


def test_a_child_whose_parent_is_only_in_the_target_is_that_row() -> None:
    items = records(("shop.digital", None, {"product_ptr": ["ebook"], "url": "u"}))
    target = TargetKeys(by_key={("ebook",): 9}, pks={9}, max_pk=9)

    planner = planned(shop(), items, {"shop.product": target})

    assert planner.final_pk[1] == 9


def test_a_child_whose_parent_is_nowhere_is_refused_naming_it() -> None:
    items = records(("shop.digital", None, {"product_ptr": ["gone"], "url": "u"}))

    with pytest.raises(PlanError, match=r"product_ptr references shop\.product \('gone',\)"):
        planned(shop(), items)


def test_a_to_field_reference_by_a_natural_key_that_is_that_field_holds_the_field() -> None:
    items = records(("shop.warehouse", None, {"code": "WH-1"}), ("shop.shelf", 1, {"warehouse": ["WH-1"]}))
    planner = planned(shop(), items)

    shelf = planner.build(items[1])

    assert shelf is not None and shelf.values == [1, "WH-1"]


def test_a_custom_db_table_is_the_one_table_no_content_type_names_with_the_records_fields() -> None:
    coupons = ModelProfile("legacy.coupons", "legacy_coupons", PK, fields={"code": Column("code", Kind.TEXT, False)})
    known = frozenset({"shop.coupon", "shop.product"})
    profile = Profile({"legacy.coupons": coupons, "shop.product": shop().models["shop.product"]}, known)
    index = Index(profile)

    index.add(Record(1, "shop.coupon", 1, {"code": "WELCOME"}))

    assert profile.models["shop.coupon"].table == "legacy_coupons" and "legacy.coupons" not in profile.models


def test_a_label_no_content_type_names_is_still_refused() -> None:
    coupons = ModelProfile("legacy.coupons", "legacy_coupons", PK, fields={"code": Column("code", Kind.TEXT, False)})
    index = Index(Profile({"legacy.coupons": coupons}, frozenset({"shop.product"})))

    with pytest.raises(ProfileError, match="known neither to the profile nor to the target"):
        index.add(Record(1, "shop.coupon", 1, {"code": "WELCOME"}))


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_jsonfields_none_is_sql_null_and_json_values_are_json_text(dialect: str) -> None:
    store = to_storage(dialect, Kind.JSON)

    assert store(None) is None
    assert store({"a": None}) == '{"a": null}'


def test_null_in_a_not_null_json_column_is_refused_as_django_refuses_it() -> None:
    assert normalise(Column("doc", Kind.JSON, True), None) is None
    with pytest.raises(ValueProblem, match="NOT NULL"):
        normalise(Column("doc", Kind.JSON, False), None)
