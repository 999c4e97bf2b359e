"""Pure planning of references that are not plain foreign keys: soft UUID references, generic
foreign keys, pk-only bindings, Django's value rules and rows matched by UUID or pk."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import PlanError
from domain.planning import Index, Options, Planner, TargetKeys
from domain.profile import MAP, Column, ForeignKey, GenericForeignKey, Kind, ManyToMany, ModelProfile, Profile
from domain.records import Record

PK = Column("id", Kind.INTEGER, False)
TEXT = Column("name", Kind.TEXT, False, 50)
UUID = Column("uuid", Kind.UUID, False)
CT = "contenttypes.contenttype"
PROFILE = Profile(
    {
        CT: ModelProfile(
            CT, "django_content_type", PK, ("app_label", "model"), (),
            {"app_label": Column("app_label", Kind.TEXT, False), "model": Column("model", Kind.TEXT, False)},
        ),
        "app.kind": ModelProfile("app.kind", "app_kind", PK, ("name",), (), {"name": TEXT}, policy=MAP, seeded=True),
        "app.doc": ModelProfile(
            "app.doc", "app_doc", PK, ("uuid",), ("uuid",), {"uuid": UUID, "name": TEXT},
            {"kind": ForeignKey("kind", "kind_id", "app.kind", True)},
            {"tags": ManyToMany("tags", "app_doc_tags", "doc_id", "kind_id", "app.kind")},
        ),
        "app.log": ModelProfile(
            "app.log", "app_log", PK, (), (),
            {
                "object_uuid": Column("object_uuid", Kind.UUID, True),
                "object_id": Column("object_id", Kind.TEXT, False, 64),
                "count": Column("count", Kind.INTEGER, False),
            },
            {"content_type": ForeignKey("content_type", "content_type_id", CT, True)},
            soft_uuids=("object_uuid",),
            generic_foreign_keys={"content_object": GenericForeignKey("content_object", "content_type", "object_id")},
            defaults={"count": 0},
        ),
    }
)  # fmt: skip
U1, U2, U3 = (f"00000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
NEW = "11111111-1111-4111-8111-000000000001"


def plan(items: list[tuple[str, Any, dict[str, Any]]], targets: dict[str, TargetKeys], **options: Any) -> Planner:
    index = Index(PROFILE)
    for ordinal, (label, pk, fields) in enumerate(items, start=1):
        index.add(Record(ordinal, label, pk, fields))
    content_types = TargetKeys(by_key={("app", "doc"): 1, ("app", "kind"): 2}, pks={1, 2}, max_pk=2)
    keys = {label: TargetKeys() for label in PROFILE.models} | {CT: content_types} | targets
    planner = Planner(index, keys, {}, Options(**options), new_uuid=lambda: NEW)
    planner.identify()
    return planner


def build(planner: Planner, items: list[tuple[str, Any, dict[str, Any]]]) -> list[Any]:
    return [planner.build(Record(i, label, pk, fields)) for i, (label, pk, fields) in enumerate(items, start=1)]


LOG = {"object_uuid": U1, "object_id": "1", "content_type": ["app", "doc"], "count": 1}


def test_a_soft_reference_follows_a_uuid_that_was_reassigned_and_shared_values_stay() -> None:
    items = [
        ("app.log", 1, LOG),
        ("app.log", 2, LOG | {"object_uuid": U2}),
        ("app.log", 3, LOG | {"object_uuid": U2}),
        ("app.doc", 1, {"uuid": U1, "name": "a", "kind": None}),
    ]
    planner = plan(items, {}, uuids="regenerate")  # every restored row gets a new UUID

    first, second, third, doc = build(planner, items)

    assert doc is not None and doc.values[1] == NEW
    assert first is not None and first.values[1] == NEW
    assert second is not None and third is not None and second.values[1] == third.values[1] == U2
    [followed] = planner.decisions.references.soft[("app.log", "object_uuid")]
    assert (followed["old"], followed["new"], followed["model"]) == (U1, NEW, "app.doc")


def test_a_generic_foreign_key_follows_its_row_to_a_new_pk() -> None:
    items = [("app.log", 1, LOG), ("app.doc", 1, {"uuid": U1, "name": "a", "kind": None})]
    planner = plan(items, {"app.doc": TargetKeys(pks={1}, max_pk=1)})

    log, _doc = build(planner, items)

    assert log is not None and log.values[2] == "2"  # object_id, kept as text
    [followed] = planner.decisions.references.generic[("app.log", "content_object")]
    assert (followed["old"], followed["new"], followed["model"]) == ("1", "2", "app.doc")


def test_a_generic_foreign_key_to_a_row_not_in_the_backup_is_bound_and_recorded() -> None:
    planner = plan([("app.log", 1, LOG)], {"app.doc": TargetKeys(by_key={(U3,): 1}, pks={1}, max_pk=1)})

    [log] = build(planner, [("app.log", 1, LOG)])

    assert log is not None and log.values[2] == "1"
    assert planner.decisions.references.bound["app.doc"][1]["key"] == [U3]


def test_pk_only_references_to_seeded_rows_are_refused_once_the_target_is_found_reinitialised() -> None:
    items = [("app.kind", 5, {"name": "SOP"}), ("app.doc", 1, {"uuid": U1, "name": "a", "kind": 7})]
    targets = {"app.kind": TargetKeys(by_key={("SOP",): 1, ("POL",): 7}, pks={1, 7}, max_pk=7)}
    for trust in (False, True):
        planner = plan(items, targets, trust_pks=trust)
        planner.existing = {"app.kind": {1: {"id": 1, "name": "SOP"}}}
        _kind, doc = build(planner, items)
        assert doc is not None and doc.values[-1] == 7
        assert planner.decisions.references.bound["app.kind"][7]["key"] == ["POL"]
        if trust:
            planner.finish()
            continue
        with pytest.raises(PlanError, match=r"app\.kind pk=7 \(now \('POL',\)\) referenced by record 2"):
            planner.finish()


def test_a_row_whose_uuid_the_target_holds_with_the_same_values_is_unchanged() -> None:
    items = [("app.doc", 4, {"uuid": U1, "name": "a", "kind": None})]
    planner = plan(items, {"app.doc": TargetKeys(by_key={(U1,): 9}, pks={9}, max_pk=9)})
    planner.existing = {"app.doc": {9: {"id": 9, "uuid": U1, "name": "a", "kind_id": None}}}

    assert build(planner, items) == [None]
    [entry] = planner.decisions.unchanged["app.doc"]
    assert entry["pk"] == 9 and planner.decisions.mapped == {} and planner.decisions.conflicts == {}


def test_a_row_matched_by_pk_alone_is_unchanged_when_equal_and_moved_when_not() -> None:
    items = [("app.log", 3, LOG | {"content_type": None}), ("app.log", 4, LOG | {"content_type": None})]
    planner = plan(items, {"app.log": TargetKeys(pks={3, 4}, max_pk=4)})
    same = {"object_uuid": U1, "object_id": "1", "count": 1, "content_type_id": None}
    planner.existing = {"app.log": {3: {"id": 3} | same, 4: {"id": 4} | same | {"count": 2}}}

    first, second = build(planner, items)

    assert first is None and second is not None and second.values[0] == 5
    assert planner.decisions.pks["app.log"][0]["old"] == 4


def test_djangos_value_rules_a_pk_as_text_a_left_out_field_and_a_m2m_that_is_no_list() -> None:
    log = {k: v for k, v in LOG.items() if k != "count"} | {"content_type": None}
    planner = plan([("app.log", "6", log)], {})

    [built] = build(planner, [("app.log", "6", log)])

    assert built is not None and built.values[0] == 6 and built.values[3] == 0  # the column's default
    doc = {"uuid": U1, "name": "a", "kind": None, "tags": "SOP"}
    planner = plan([("app.doc", None, doc)], {})
    with pytest.raises(PlanError, match="field 'tags' expected a list, got 'SOP'"):
        build(planner, [("app.doc", None, doc)])


def test_a_matched_row_gets_the_links_it_lacks_each_a_decision() -> None:
    items = [("app.doc", 4, {"uuid": U1, "name": "a", "kind": None, "tags": [["SOP"], ["POL"]]})]
    targets = {
        "app.doc": TargetKeys(by_key={(U1,): 9}, pks={9}, max_pk=9),
        "app.kind": TargetKeys(by_key={("SOP",): 1, ("POL",): 2}, pks={1, 2}, max_pk=2),
    }
    planner = plan(items, targets)
    planner.existing = {"app.doc": {9: {"id": 9, "uuid": U1, "name": "a", "kind_id": None}}}
    planner.existing_links = {"app_doc_tags": {9: {1: 1}}}

    [built] = build(planner, items)

    assert built is not None and built.values == [] and built.links == [("app_doc_tags", 9, 2)]
    [added] = planner.decisions.references.links[("app.doc", "tags")]
    assert added["to"] == ["POL"]


def test_references_by_uuid_make_the_uuid_the_natural_key_though_another_unique_column_exists() -> None:
    person = ModelProfile("app.person", "app_person", PK, ("name",), ("uuid",), {"uuid": UUID, "name": TEXT})
    note = ModelProfile(
        "app.note",
        "app_note",
        PK,
        (),
        (),
        {"name": TEXT},
        {"person": ForeignKey("person", "person_id", "app.person", False)},
    )
    index = Index(Profile({"app.person": person, "app.note": note}))
    items = [
        Record(1, "app.note", 1, {"name": "n", "person": [U1]}),
        Record(2, "app.person", None, {"uuid": U1, "name": "ada"}),
    ]
    for item in items:
        index.add(item)

    assert index.fit_keys() == ["app.person"]

    planner = Planner(index, {"app.person": TargetKeys(), "app.note": TargetKeys()}, {}, Options())
    planner.identify()
    built = planner.build(items[0])
    assert built is not None and built.values[-1] == planner.final_pk[2] == 1
    assert index.profile.models["app.person"].natural_key == ("uuid",)


def test_a_nullable_foreign_key_inside_a_natural_key_matches_an_existing_row_with_none() -> None:
    site = ModelProfile("app.site", "app_site", PK, ("name",), (), {"name": TEXT})
    setting = ModelProfile(
        "app.setting", "app_setting", PK, ("site", "name"), (), {"name": TEXT},
        {"site": ForeignKey("site", "site_id", "app.site", True)},
    )  # fmt: skip
    index = Index(Profile({"app.site": site, "app.setting": setting}))
    index.add(Record(1, "app.setting", 4, {"site": None, "name": "theme"}))
    targets = {"app.site": TargetKeys(), "app.setting": TargetKeys(by_key={(None, "theme"): 2}, pks={2}, max_pk=2)}

    planner = Planner(index, targets, {}, Options())
    planner.identify()

    assert planner.matched == {1: 2}
