"""The planner's state and the answers every step of planning asks for: where a reference points, a new
pk, a row created from its natural key. ``domain.identify`` and ``domain.planning`` build on it."""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.errors import PlanError
from domain.index import Index, Key, TargetKeys, allowed_fields
from domain.links import Existing, SymmetricLinks
from domain.ordering import write_order
from domain.ordinals import OrdinalMap
from domain.profile import CREATE, Column, ForeignKey, Kind, ModelProfile
from domain.references import ReferenceDecisions, UuidFollower
from domain.values import ValueProblem, checker, normalise


@dataclass(frozen=True, slots=True)
class Allocation:
    """Target pks given to rows that came without one: ``count`` pks from ``first``."""

    model: str
    table: str
    first: int
    count: int
    reason: str


@dataclass(frozen=True, slots=True)
class BuiltRow:
    model: str
    values: list[Any]
    deferred: list[tuple[str, Any, Any]]  # (column, pk, value) set after all inserts
    links: list[tuple[str, Any, Any]]  # (through table, source pk, target pk)


@dataclass(frozen=True)
class Options:
    """The restore's choices: what to do with existing rows, missing references and UUIDs."""

    on_conflict: str = "keep-existing"  # or "update": take the backup's values, keep a before image
    missing: str = "profile"  # "profile": create where the profile says so; "fail": never create
    uuids: str = "keep"  # or "regenerate": every restored row gets a new UUID
    now: str = "1970-01-01T00:00:00+00:00"  # the restore's time, for rows it creates
    text_allows_nul: bool = True  # False for PostgreSQL: text with NUL is refused, never changed
    trust_pks: bool = False  # bind pk-only references to seeded rows of a re-initialised target anyway
    # the foreign keys ("table.column") the target checks as each row is written, not at the commit: only
    # those are written empty inside a cycle, then set; None: every one
    immediate_references: frozenset[str] | None = None


@dataclass
class Decisions:
    """Every decision of a plan, by kind and model, each entry a plain dict for the ledger."""

    mapped: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    unchanged: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    conflicts: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    updates: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    created: dict[str, dict[Key, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    uuids: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    pks: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    missing: dict[str, dict[Key, list[str]]] = field(default_factory=lambda: defaultdict(dict))
    reinitialised: list[dict[str, Any]] = field(default_factory=list)
    references: ReferenceDecisions = field(default_factory=ReferenceDecisions)


class PlannerState:
    """What a plan knows as it is made: the index, the target's keys, each row's final pk, the decisions."""

    def __init__(
        self,
        index: Index,
        targets: dict[str, TargetKeys],
        link_max_ids: dict[str, int],
        options: Options | None = None,
        new_uuid: Callable[[], str] = lambda: str(uuid.uuid4()),
        new_secret: Callable[[], str] = lambda: secrets.token_urlsafe(30)[:40],
    ) -> None:
        self.index = index
        self.profile = index.profile
        self.targets = targets
        self.options = options or Options()
        self.new_uuid = new_uuid
        self.new_secret = new_secret
        self.final_pk: OrdinalMap[Any] = OrdinalMap()
        self.matched: dict[int, Any] = {}  # ordinal -> existing pk
        self.tentative: set[int] = set()  # matched by pk alone: the same row only if its values are
        self.existing: dict[str, dict[Any, dict[str, Any]]] = {}
        # through table -> source pk -> target pk -> link id: the links of matched rows (both directions
        # for a symmetrical relation)
        self.existing_links: dict[str, Existing] = {}
        self._symmetric: dict[str, tuple[str, str, SymmetricLinks]] = {}  # through table -> (label, field, links)
        self.taken_uuids: dict[tuple[str, str], set[str]] = {}
        self.allocations: list[Allocation] = []
        self.decisions = Decisions()
        labels = set(index.ordinals) | self._creatable(set(index.ordinals))
        self.order, self.deferred = write_order(self.profile, labels)
        immediate = self.options.immediate_references
        if immediate is not None:  # the others hold their value from the insert: checked at the commit
            self.deferred = {label: self._immediate(label, names, immediate) for label, names in self.deferred.items()}
        self._next_pk: dict[str, int] = {}
        self._next_link_id = dict(link_max_ids)
        self._uuid_changes: dict[int, list[tuple[int, str]]] = {}  # ordinal -> (position, new UUID)
        self._uuids_decided = False
        self.follower = UuidFollower()
        self._columns = {label: columns_of(self.profile.models[label]) for label in labels}
        self._checks = {
            label: [
                (name, checker(column, self.options.text_allows_nul))
                for name, column in self.profile.models[label].fields.items()
            ]
            for label in labels
        }
        self._allowed = {label: allowed_fields(model) for label, model in self.profile.models.items()}
        self._uuid_positions = {
            label: [(name, list(self.profile.models[label].fields).index(name) + 1) for name in model.uuid_fields]
            for label, model in ((label, self.profile.models[label]) for label in labels)
        }
        self._uuid_keyed = {
            label: checker(model.fields[model.natural_key[0]])
            for label, model in self.profile.models.items()
            if len(model.natural_key) == 1
            and model.natural_key[0] in model.fields
            and model.fields[model.natural_key[0]].kind is Kind.UUID
        }
        self._soft_positions = {
            label: [
                (name, list(model.fields).index(name) + 1)
                for name in model.soft_uuids
                if name in model.fields and model.fields[name].kind is Kind.UUID
            ]
            for label, model in ((label, self.profile.models[label]) for label in labels)
        }
        self._generic = {
            label: [
                (gfk, model.foreign_keys[gfk.ct_field], list(model.fields).index(gfk.id_field) + 1)
                for gfk in model.generic_foreign_keys.values()
                if gfk.ct_field in model.foreign_keys and gfk.id_field in model.fields
            ]
            for label, model in ((label, self.profile.models[label]) for label in labels)
        }

    def _immediate(self, label: str, fields: set[str], immediate: frozenset[str]) -> set[str]:
        model = self.profile.models[label]
        return {name for name in fields if f"{model.table}.{model.foreign_keys[name].column}" in immediate}

    def _creatable(self, labels: set[str]) -> set[str]:
        return {
            fk.model
            for label in labels
            for fk in self.profile.models[label].foreign_keys.values()
            if fk.model in self.profile.models and self.profile.models[fk.model].missing == CREATE
        }

    def _take_pk(self, label: str) -> int:
        label = self.index.alias_of.get(label, label)
        if label not in self._next_pk:  # a model only created (referenced, not in the backup)
            self._next_pk[label] = self.targets[label].max_pk + 1 if label in self.targets else 1
        pk = self._next_pk[label]
        self._next_pk[label] = pk + 1
        return pk

    def resolve(self, fk: ForeignKey, value: Any, ordinal: int) -> Any:
        """The target pk a foreign key value (natural key list or pk) refers to."""
        if fk.to_field:  # the column holds the row's unique field, which no restore changes
            keyed = self.profile.models.get(fk.model)
            if isinstance(value, list) and len(value) == 1 and keyed and keyed.natural_key == (fk.to_field,):
                return value[0]  # the natural key is that field: Django reads the row's field, the same value
            if isinstance(value, list):
                raise PlanError(
                    f"{fk.field} refers to {fk.model}.{fk.to_field} (to_field) by natural key: give the "
                    f"{fk.to_field} value, as dumpdata without --natural-foreign does",
                    self.index.describe(ordinal),
                )
            return value
        if isinstance(value, list):
            key = tuple(value)
            if fk.model in self._uuid_keyed and len(key) == 1:  # "ABC..." or hex: as Django's UUIDField reads it
                try:
                    key = (self._uuid_keyed[fk.model](key[0]),)
                except ValueProblem as problem:
                    raise PlanError(f"{fk.field} {problem}", self.index.describe(ordinal)) from None
            referenced = self.index.by_key[fk.model].get(key)
            if referenced is not None:
                return self.final_pk[referenced]
            target = self.targets.get(fk.model)
            if target is not None and key in target.by_key:
                return target.by_key[key]
            return self._missing(fk, key, ordinal)
        referenced = self.index.by_pk[fk.model].get(value)
        if referenced is None and type(value) is not int and fk.model in self.profile.models:
            try:  # a pk as Django's to_python reads it: "6" is 6
                value = normalise(self.profile.models[fk.model].pk, value)
            except ValueProblem as problem:
                raise PlanError(f"{fk.field} {problem}", self.index.describe(ordinal)) from None
            referenced = self.index.by_pk[fk.model].get(value)
        if referenced is not None:
            return self.final_pk[referenced]
        target = self.targets.get(fk.model)
        if target is not None:
            pk = value
            if pk in target.pks:  # as Django binds it; recorded with the row's natural key
                self.decisions.references.bind(fk.model, pk, target.key_of(pk), self.index.describe(ordinal), "pk")
                return pk
        raise PlanError(
            f"{fk.field} references {fk.model} pk={value!r}, found neither in the backup nor in the target",
            self.index.describe(ordinal),
        )

    def _missing(self, fk: ForeignKey, key: Key, ordinal: int) -> Any:
        """A natural-key reference found nowhere: create the row where the profile says so."""
        model = self.profile.models.get(fk.model)
        problem = f"{fk.field} references {fk.model} {key!r}, found neither in the backup nor in the target"
        if model is None or model.missing != CREATE:
            raise PlanError(problem, self.index.describe(ordinal))
        referrer = self.index.describe(ordinal)
        if self.options.missing == "fail":
            self.decisions.missing[fk.model].setdefault(key, []).append(referrer)
            return None
        created = self.decisions.created[fk.model].get(key)
        if created is None:
            created = self._create(model, key, referrer)
            self.decisions.created[fk.model][key] = created
        elif referrer not in created["referenced_by"]:
            created["referenced_by"].append(referrer)
        return created["pk"]

    def _create(self, model: ModelProfile, key: Key, referrer: str) -> dict[str, Any]:
        if len(key) != len(model.natural_key) or any(name in model.foreign_keys for name in model.natural_key):
            raise PlanError(f"cannot create {model.label} {key!r} from its natural key", referrer)
        pk = self._take_pk(model.label)
        values: dict[str, Any] = dict(zip(model.natural_key, key, strict=True))
        for name, column in model.fields.items():
            if name in values:
                continue
            if name in model.create_values:
                value = model.create_values[name]
                values[name] = f"!{self.new_secret()}" if value == "!" else value
            elif column.kind is Kind.IP_ADDRESS and not column.nullable:
                raise PlanError(
                    f"cannot create {model.label} {key!r}: its IP address field {name!r} may not be empty", referrer
                )
            else:
                values[name] = _default(column, self.options.now, self.new_uuid)
        for name, fk in model.foreign_keys.items():
            if not fk.nullable:
                raise PlanError(
                    f"cannot create {model.label} {key!r}: its foreign key {name!r} may not be empty", referrer
                )
        row = [pk, *(values[name] for name in model.fields), *(None for _ in model.foreign_keys)]
        return {"key": list(key), "pk": pk, "values": values, "row": row, "referenced_by": [referrer]}

    def label_of_content_type(self, content_type: Any) -> str | None:
        """The model label a content type value names: ``[app_label, model]`` or a pk."""
        if isinstance(content_type, list) and len(content_type) == 2:
            return f"{content_type[0]}.{content_type[1]}"
        if content_type is None or isinstance(content_type, list):
            return None
        found = self.index.by_pk["contenttypes.contenttype"].get(content_type)
        if found is not None and found in self.index.raw_key:
            app_label, model = self.index.raw_key[found]
            return f"{app_label}.{model}"
        target = self.targets.get("contenttypes.contenttype")
        key = target.key_of(content_type) if target is not None else None
        return f"{key[0]}.{key[1]}" if key is not None and len(key) == 2 else None

    def columns(self, label: str) -> list[str]:
        return self._columns[label]

    def created_rows(self) -> dict[str, list[list[Any]]]:
        return {label: [c["row"] for c in created.values()] for label, created in self.decisions.created.items()}

    def allocate_link_ids(self, table: str, count: int) -> int:
        """The first of ``count`` new ids of an M2M through table, recorded as an allocation."""
        first = self._next_link_id.get(table, 0) + 1
        self._next_link_id[table] = first + count - 1
        self.allocations.append(
            Allocation(table, table, first, count, "many-to-many links: next free ids of the through table")
        )
        return first


def _default(column: Column, now: str, new_uuid: Callable[[], str]) -> Any:
    """The value of a NOT NULL column of a row created from its natural key alone."""
    if column.nullable:
        return None
    defaults: dict[Kind, Any] = {
        Kind.TEXT: "",
        Kind.BOOLEAN: False,
        Kind.INTEGER: 0,
        Kind.FLOAT: 0.0,
        Kind.DECIMAL: "0",
        Kind.DATETIME: now,
        Kind.DATE: now[:10],
        Kind.TIME: "00:00:00",
        Kind.DURATION: 0,
        Kind.JSON: {},
        Kind.BINARY: "",
        Kind.ARRAY: [],
    }
    return new_uuid() if column.kind is Kind.UUID else defaults[column.kind]


def columns_of(model: ModelProfile) -> list[str]:
    """The column order of a model's rows in the ledger (a composite pk's columns are among them)."""
    return [
        *([] if model.composite else [model.pk.name]),
        *(c.name for c in model.fields.values()),
        *(fk.column for fk in model.foreign_keys.values()),
    ]


def plain_pk(pk: Any) -> Any:
    """A pk as events carry it: a composite pk as a list."""
    return list(pk) if isinstance(pk, tuple) else pk
