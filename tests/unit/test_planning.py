"""Pure planning: identity, references, order and decisions on a small in-memory profile."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import PlanError
from domain.planning import Index, Options, Planner, TargetKeys, write_order
from domain.profile import MAP, Column, ForeignKey, Kind, ModelProfile, Profile
from domain.records import Record

PK = Column("id", Kind.INTEGER, False)


def model(label: str, natural_key: tuple[str, ...] = (), policy: str = "restore", **fks: ForeignKey) -> ModelProfile:
    fields = {"name": Column("name", Kind.TEXT, False, 50), "uuid": Column("uuid", Kind.UUID, False)}
    return ModelProfile(label, label.replace(".", "_"), PK, natural_key, ("uuid",), fields, dict(fks), {}, policy)


PROFILE = Profile(
    {
        "app.role": model("app.role", ("name",), MAP),
        "app.user": model("app.user", ("name",)),
        "app.doc": model(
            "app.doc",
            ("name",),
            owner=ForeignKey("owner", "owner_id", "app.user", False),
            parent=ForeignKey("parent", "parent_id", "app.doc", True),
            role=ForeignKey("role", "role_id", "app.role", True),
        ),
    }
)
U1, U2, U3 = (f"00000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))


def records(*items: tuple[str, Any, dict[str, Any]]) -> list[Record]:
    return [Record(i, label, pk, fields) for i, (label, pk, fields) in enumerate(items, start=1)]


def plan(items: list[Record], targets: dict[str, TargetKeys] | None = None, **options: Any) -> Planner:
    index = Index(PROFILE)
    for item in items:
        index.add(item)
    keys = {label: TargetKeys() for label in PROFILE.models} | (targets or {})
    uuids = iter(f"11111111-1111-4111-8111-{n:012d}" for n in range(1, 100))
    planner = Planner(index, keys, {}, Options(**options), new_uuid=lambda: next(uuids))
    planner.identify()
    return planner


def test_nullable_references_inside_a_cycle_are_written_empty_then_set() -> None:
    order, deferred = write_order(PROFILE, set(PROFILE.models))

    assert order.index("app.user") < order.index("app.doc")
    assert deferred == {"app.doc": {"parent"}}


def test_a_cycle_of_non_nullable_references_cannot_be_ordered() -> None:
    a = model("x.a", b=ForeignKey("b", "b_id", "x.b", False))
    b = model("x.b", a=ForeignKey("a", "a_id", "x.a", False))

    with pytest.raises(PlanError, match=r"x\.a\.b -> x\.b"):
        write_order(Profile({"x.a": a, "x.b": b}), {"x.a", "x.b"})


def test_natural_key_references_resolve_to_allocated_pks_and_self_references_are_deferred() -> None:
    items = records(
        ("app.user", None, {"name": "ada", "uuid": U1}),
        ("app.doc", None, {"name": "child", "uuid": U2, "owner": ["ada"], "parent": ["root"], "role": None}),
        ("app.doc", None, {"name": "root", "uuid": U3, "owner": ["ada"], "parent": None, "role": None}),
    )
    planner = plan(items, {"app.user": TargetKeys(max_pk=7)})

    child = planner.build(items[1])

    assert child is not None
    assert child.values[0] == 1 and child.values[3] == 8  # own pk, owner -> allocated user pk 8
    assert child.deferred == [("parent_id", 1, 2)]
    assert [a.first for a in planner.allocations] == [1, 8]


def test_a_mapped_row_keeps_the_targets_identity_and_references_follow_it() -> None:
    items = records(
        ("app.role", 3, {"name": "Author", "uuid": U1}),
        ("app.user", 1, {"name": "ada", "uuid": U2}),
        ("app.doc", 1, {"name": "d", "uuid": U3, "owner": 1, "parent": None, "role": 3}),
    )
    planner = plan(items, {"app.role": TargetKeys(by_key={("Author",): 9}, pks={9}, max_pk=9)})
    planner.existing = {"app.role": {9: {"id": 9, "uuid": U2, "name": "Author"}}}

    assert planner.build(items[0]) is None
    doc = planner.build(items[2])

    assert doc is not None and doc.values[-1] == 9
    [mapping] = planner.decisions.mapped["app.role"]
    assert (mapping["backup_pk"], mapping["pk"], mapping["backup_uuid"], mapping["uuid"]) == (3, 9, U1, U2)


def test_a_backup_pk_taken_by_another_row_is_reassigned_never_overwritten() -> None:
    items = records(("app.user", 4, {"name": "bob", "uuid": U1}))

    planner = plan(items, {"app.user": TargetKeys(by_key={("admin",): 4}, pks={4}, max_pk=4)})

    assert planner.final_pk[1] == 5
    assert planner.decisions.pks["app.user"][0] | {"record": ""} == {
        "record": "",
        "old": 4,
        "new": 5,
        "reason": "pk 4 is taken in the target by another row",
    }


def test_a_uuid_taken_in_the_target_or_repeated_in_the_backup_is_reassigned() -> None:
    items = records(("app.user", 1, {"name": "a", "uuid": U1}), ("app.user", 2, {"name": "b", "uuid": U1}))
    planner = plan(items)
    planner.taken_uuids = {("app.user", "uuid"): set()}

    first, second = planner.build(items[0]), planner.build(items[1])

    assert first is not None and second is not None
    assert first.values[2] == U1 and second.values[2] != U1
    assert "appears twice in the backup" in planner.decisions.uuids[("app.user", "uuid")][0]["reason"]


def test_a_conflict_records_the_differing_fields_and_update_keeps_the_before_image() -> None:
    items = records(("app.user", None, {"name": "admin", "uuid": U1}))
    targets = {"app.user": TargetKeys(by_key={("admin",): 1}, pks={1}, max_pk=1)}
    planner = plan(items, targets, on_conflict="update")
    planner.existing = {"app.user": {1: {"id": 1, "name": "admin", "uuid": U2}}}

    assert planner.build(items[0]) is None

    [conflict] = planner.decisions.conflicts["app.user"]
    assert conflict["differing"] == {"uuid": [U2, U1]} and conflict["resolution"] == "update"
    assert planner.decisions.updates == {}  # the UUID stays the target's: nothing else differs
