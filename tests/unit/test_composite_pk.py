"""Composite primary keys (Django 5.2 ``CompositePrimaryKey``): a record's pk is a list, the row is known by the
whole key tuple, and a foreign key part follows the referenced row to the pk the restore gives it."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import PlanError
from domain.planning import Index, Options, Planner, TargetKeys, columns_of
from domain.profile import COMPOSITE_PK, Column, ForeignKey, Kind, ModelProfile, Profile, key_columns
from domain.records import Record

WAREHOUSE = ModelProfile(
    "shop.warehouse",
    "shop_warehouse",
    Column("id", Kind.INTEGER, False),
    ("code",),
    fields={"code": Column("code", Kind.TEXT, False, 10)},
)
STOCK = ModelProfile(
    "shop.stocklevel",
    "shop_stocklevel",
    COMPOSITE_PK,
    fields={"bin": Column("bin", Kind.INTEGER, False), "quantity": Column("quantity", Kind.INTEGER, False)},
    foreign_keys={"warehouse": ForeignKey("warehouse", "warehouse_id", "shop.warehouse", False)},
    composite=("warehouse", "bin"),
)
PROFILE = Profile({"shop.warehouse": WAREHOUSE, "shop.stocklevel": STOCK})


def records(*items: tuple[str, Any, dict[str, Any]]) -> list[Record]:
    return [Record(i, label, pk, fields) for i, (label, pk, fields) in enumerate(items, start=1)]


def plan(items: list[Record], targets: dict[str, TargetKeys] | None = None, **options: Any) -> Planner:
    index = Index(PROFILE)
    for item in items:
        index.add(item)
    keys = {label: TargetKeys() for label in PROFILE.models} | (targets or {})
    planner = Planner(index, keys, {}, Options(**options))
    planner.identify()
    return planner


def test_the_rows_columns_are_the_fields_and_the_key_is_its_fields_columns() -> None:
    assert columns_of(STOCK) == ["bin", "quantity", "warehouse_id"]
    assert key_columns(STOCK) == ["warehouse_id", "bin"]


def test_a_foreign_key_part_follows_the_referenced_row_to_its_new_pk() -> None:
    items = records(
        ("shop.warehouse", 1, {"code": "north"}),  # pk 1 is another warehouse's in the target: it gets pk 8
        ("shop.stocklevel", [1, 4], {"warehouse": 1, "bin": 4, "quantity": 5}),
    )
    target = TargetKeys(by_key={("south",): 1}, pks={1}, max_pk=7)
    planner = plan(items, {"shop.warehouse": target})

    built = planner.build(items[1])

    assert planner.final_pk[2] == (8, 4)
    assert built is not None and built.values == [4, 5, 8]


def test_a_natural_key_part_resolves_and_the_pk_list_gives_the_parts_the_fields_leave_out() -> None:
    items = records(
        ("shop.warehouse", None, {"code": "north"}),
        ("shop.stocklevel", [1, 2], {"warehouse": ["north"], "quantity": 0}),
    )
    planner = plan(items, {"shop.warehouse": TargetKeys(by_key={("north",): 6}, pks={6}, max_pk=6)})

    built = planner.build(items[1])

    assert built is not None and built.values == [2, 0, 6]


def test_a_row_whose_whole_key_exists_with_the_same_values_is_unchanged() -> None:
    items = records(("shop.stocklevel", [3, 1], {"warehouse": 3, "bin": 1, "quantity": 5}))
    planner = plan(
        items, {"shop.warehouse": TargetKeys(pks={3}, max_pk=3), "shop.stocklevel": TargetKeys(pks={(3, 1)})}
    )
    planner.existing = {"shop.stocklevel": {(3, 1): {"bin": 1, "quantity": 5, "warehouse_id": 3}}}

    assert planner.build(items[0]) is None
    [entry] = planner.decisions.unchanged["shop.stocklevel"]
    assert entry["pk"] == [3, 1] and entry["backup_pk"] == [3, 1]


def test_a_row_whose_whole_key_exists_with_other_values_is_a_conflict_updated_by_key() -> None:
    items = records(("shop.stocklevel", [3, 1], {"warehouse": 3, "bin": 1, "quantity": 9}))
    targets = {"shop.warehouse": TargetKeys(pks={3}, max_pk=3), "shop.stocklevel": TargetKeys(pks={(3, 1), (3, 2)})}
    planner = plan(items, targets, on_conflict="update")
    planner.existing = {"shop.stocklevel": {(3, 1): {"bin": 1, "quantity": 5, "warehouse_id": 3}}}

    assert planner.build(items[0]) is None
    [update] = planner.decisions.updates["shop.stocklevel"]
    assert update["pk"] == [3, 1] and update["before"] == {"quantity": 5} and update["after"] == {"quantity": 9}


def test_another_part_of_an_existing_key_is_a_new_row() -> None:
    items = records(("shop.stocklevel", [3, 2], {"warehouse": 3, "bin": 2, "quantity": 1}))
    planner = plan(
        items, {"shop.warehouse": TargetKeys(pks={3}, max_pk=3), "shop.stocklevel": TargetKeys(pks={(3, 1)})}
    )

    built = planner.build(items[0])

    assert built is not None and built.values == [2, 1, 3]
    assert not planner.matched


@pytest.mark.parametrize(
    ("pk", "fields", "problem"),
    [
        (
            [1],
            {"warehouse": 1, "bin": 1, "quantity": 1},
            r"pk must be a list of 2 values, one per field .*\(warehouse, bin\)",
        ),
        (7, {"warehouse": 1, "bin": 1, "quantity": 1}, r"pk must be a list of 2 values"),
        ("[1, 1, 1]", {"quantity": 1}, r"pk must be a list of 2 values"),
        ([1, "first"], {"quantity": 1}, r"pk part 'bin' \('first'\)"),
        ([1, 2], {"warehouse": 1, "bin": 3, "quantity": 1}, r"field 'bin' is 3 but the pk gives 2"),
        (None, {"warehouse": 1, "quantity": 1}, r"field 'bin' is missing and the record has no pk"),
        ([1, 2], {"warehouse": None, "bin": 2, "quantity": 1}, r"field 'warehouse' is null"),
    ],
)
def test_a_pk_that_does_not_fit_the_composite_key_is_refused_naming_the_record(
    pk: Any, fields: dict[str, Any], problem: str
) -> None:
    items = records(("shop.warehouse", 1, {"code": "north"}), ("shop.stocklevel", pk, fields))

    with pytest.raises(PlanError, match=problem) as refused:
        plan(items)

    assert refused.value.record is not None and refused.value.record.startswith("record 2 (shop.stocklevel")


def test_a_pk_given_as_a_json_string_is_read_as_django_reads_it() -> None:
    items = records(("shop.warehouse", 1, {"code": "north"}), ("shop.stocklevel", "[1, 5]", {"quantity": 2}))
    planner = plan(items)

    built = planner.build(items[1])

    assert built is not None and built.values == [5, 2, 1]


def test_two_records_with_one_key_are_refused() -> None:
    items = records(
        ("shop.warehouse", 1, {"code": "north"}),
        ("shop.stocklevel", [1, 1], {"warehouse": 1, "bin": 1, "quantity": 1}),
        ("shop.stocklevel", [1, 1], {"warehouse": 1, "bin": 1, "quantity": 2}),
    )

    with pytest.raises(PlanError, match=r"pk \[1, 1\] appears twice in the backup \(also record 2\)"):
        plan(items)


def test_a_profile_naming_a_composite_pk_round_trips_and_one_naming_no_field_is_refused() -> None:
    assert ModelProfile.from_dict(STOCK.to_dict()) == STOCK
    assert "composite" not in WAREHOUSE.to_dict()  # profiles of single-column pks are unchanged

    with pytest.raises(ValueError, match="composite must name two or more fields"):
        ModelProfile.from_dict(STOCK.to_dict() | {"composite": ["warehouse", "shelf"]})
