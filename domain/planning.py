"""Planning a restore: identify every backup row, resolve its references, order the writes.

Pure: the caller feeds records (twice: once to index, once to build rows) and the
keys of rows the target already holds; the planner answers with final rows.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.composite import identify_composite
from domain.errors import PlanError
from domain.index import Index, Key, TargetKeys, allowed_fields, flatten_target_keys
from domain.links import Change, Existing, SymmetricLinks
from domain.ordering import write_order
from domain.ordinals import OrdinalMap
from domain.profile import CREATE, MAP, Column, ForeignKey, Kind, ModelProfile, is_symmetrical, parent_link
from domain.records import Record
from domain.references import ReferenceDecisions, UuidFollower, refused_bindings
from domain.values import ValueProblem, checker, normalise

__all__ = [  # the index and the write order live in their own modules; planning re-exports them
    "Allocation",
    "BuiltRow",
    "Decisions",
    "Index",
    "Key",
    "Options",
    "Planner",
    "TargetKeys",
    "columns_of",
    "flatten_target_keys",
    "same_value",
    "write_order",
]


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


class Planner:
    """Decides the final pk of every backup row and builds its row with resolved references.

    Rows whose natural key exists in the target are matched to the existing row: mapped
    (policy ``map``) or recorded as a conflict, kept or updated. Pks and UUIDs taken in
    the target are reassigned; referenced rows that are missing are created where the
    profile allows it. Every such decision is kept in ``decisions`` for the ledger.
    """

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

    def _creatable(self, labels: set[str]) -> set[str]:
        return {
            fk.model
            for label in labels
            for fk in self.profile.models[label].foreign_keys.values()
            if fk.model in self.profile.models and self.profile.models[fk.model].missing == CREATE
        }

    def identify(self) -> None:
        """Give every backup row its target pk: kept, matched by natural key, allocated or reassigned."""
        referenced = {
            fk.model for label in self.index.ordinals for fk in self.profile.models[label].foreign_keys.values()
        }
        referenced |= {
            m.model for label in self.index.ordinals for m in self.profile.models[label].many_to_many.values()
        }
        referenced |= {self.label_of_content_type(value) or "" for value in self.index.content_types}
        for label in sorted(self.index.ordinals, key=self._depth):
            model = self.profile.models[label]
            target = self.targets[label]
            if model.composite:
                continue  # known by its key, which follows the rows its parts reference: decided last
            if model.parent:
                self._follow_parent(model, target)
                continue
            by_key = self.index.by_key[label]
            without_pk: list[int] = []
            taken: list[int] = []
            for ordinal in self.index.ordinals[label]:
                if model.natural_key and ordinal in self.index.raw_key:
                    key = self.index.key(ordinal, self.targets)
                    other = by_key.setdefault(key, ordinal)
                    if label in self.index.alias_of:
                        self.index.by_key[self.index.alias_of[label]].setdefault(key, ordinal)
                    if other != ordinal:
                        raise PlanError(
                            f"natural key {key!r} appears twice in the backup (also record {other})",
                            self.index.describe(ordinal),
                        )
                    if key in target.by_key:
                        self.final_pk[ordinal] = self.matched[ordinal] = target.by_key[key]
                        continue
                pk = self.index.backup_pk.get(ordinal)
                if pk is None:
                    without_pk.append(ordinal)
                elif pk in target.pks and not model.natural_key and self._unreferenced(label, referenced):
                    # the same row restored again, if its values are the same: decided when it is built
                    self.final_pk[ordinal] = self.matched[ordinal] = pk
                    self.tentative.add(ordinal)
                elif pk in target.pks:
                    taken.append(ordinal)
                else:
                    self.final_pk[ordinal] = pk
            self._allocate(model, without_pk, taken)
        for label in sorted(self.index.ordinals):
            model = self.profile.models[label]
            if model.composite:
                identify_composite(self, model, self.targets[label])

    def _unreferenced(self, label: str, referenced: set[str]) -> bool:
        """Nothing in the backup references rows of ``label`` (or of the model it is an alias of)."""
        return label not in referenced and self.index.alias_of.get(label, label) not in referenced

    def _depth(self, label: str) -> tuple[int, str]:
        """Parents of multi-table inheritance before their children, else by label."""
        depth, model = 0, self.profile.models[label]
        while model.parent and model.parent in self.profile.models and depth < 50:
            depth, model = depth + 1, self.profile.models[model.parent]
        return depth, label

    def _follow_parent(self, model: ModelProfile, target: TargetKeys) -> None:
        """A multi-table child's pk is its parent row's: it follows the parent when that row is matched or
        moved. A child row the target holds already is compared (unchanged or a conflict)."""
        parents = self.index.by_pk[model.parent]
        parent_target = self.targets.get(model.parent)
        self._next_pk[model.label] = target.max_pk + 1
        by_final = {self.final_pk[o]: o for o in self.index.ordinals.get(model.parent, ()) if o in self.index.raw_key}
        for ordinal in self.index.ordinals[model.label]:
            pk = self.index.backup_pk.get(ordinal)
            parent = parents.get(pk)
            if ordinal in self.index.parent_refs:  # no pk: the parent link names the row, as dumpdata wrote it
                link = ForeignKey(parent_link(model), model.pk.name, model.parent, False)
                final = self.resolve(link, self.index.parent_refs[ordinal], ordinal)
                self._key_as_parent(model, ordinal, final, by_final)
            elif parent is not None:
                final = self.final_pk[parent]
            elif parent_target is not None and pk in parent_target.pks:
                final = pk  # the parent row is not in the backup but in the target: bound by pk, recorded
                self.decisions.references.bind(
                    model.parent, pk, parent_target.key_of(pk), self.index.describe(ordinal), "parent"
                )
            else:
                raise PlanError(
                    f"its parent row {model.parent} pk={pk!r} is found neither in the backup nor in the target",
                    self.index.describe(ordinal),
                )
            self.final_pk[ordinal] = final
            if final in target.pks:
                self.matched[ordinal] = final

    def _key_as_parent(self, model: ModelProfile, ordinal: int, final: Any, parents: dict[Any, int]) -> None:
        """A child whose natural key is its parent's (inherited ``natural_key()``) is found by that key;
        ``parents``: the parent rows of the backup by their final pk."""
        if not model.natural_key or model.natural_key != self.profile.models[model.parent].natural_key:
            return
        found = parents.get(final)
        target = self.targets.get(model.parent)
        key = self.index.key(found, self.targets) if found is not None else target.key_of(final) if target else None
        if key is not None:
            self.index.by_key[model.label].setdefault(key, ordinal)

    def _allocate(self, model: ModelProfile, without_pk: list[int], taken: list[int]) -> None:
        """New pks after the largest of the target and the backup: a contiguous range, recorded."""
        shared = self.index.alias_of.get(model.label, model.label)  # a proxy takes pks of its table's model
        backup_max = max((pk for pk in self.index.by_pk[shared] if isinstance(pk, int)), default=0)
        first = max(self.targets[model.label].max_pk + 1, backup_max + 1, self._next_pk.get(shared, 0))
        self._next_pk[shared] = first
        if not without_pk and not taken:
            return
        if model.pk.kind is not Kind.INTEGER:
            raise PlanError(
                f"needs a new pk and the pk column {model.pk.name!r} is not an integer to allocate",
                self.index.describe((without_pk or taken)[0]),
            )
        for ordinal in without_pk:
            self.final_pk[ordinal] = self._take_pk(model.label)
        if without_pk:
            self.allocations.append(
                Allocation(
                    model.label,
                    model.table,
                    first,
                    len(without_pk),
                    "rows serialized without pk (natural primary keys): next free pks of the target",
                )
            )
        for ordinal in taken:
            old = self.index.backup_pk[ordinal]
            self.final_pk[ordinal] = new = self._take_pk(model.label)
            self.decisions.pks[model.label].append(
                {
                    "record": self.index.describe(ordinal),
                    "old": old,
                    "new": new,
                    "reason": f"pk {old} is taken in the target by another row",
                }
            )

    def _take_pk(self, label: str) -> int:
        label = self.index.alias_of.get(label, label)
        if label not in self._next_pk:  # a model only created (referenced, not in the backup)
            self._next_pk[label] = self.targets[label].max_pk + 1 if label in self.targets else 1
        pk = self._next_pk[label]
        self._next_pk[label] = pk + 1
        return pk

    def matched_pks(self) -> dict[str, list[Any]]:
        """The existing rows the backup matched, per model: their values are loaded for review."""
        found: dict[str, list[Any]] = defaultdict(list)
        for ordinal, pk in self.matched.items():
            found[self.index.model_of[ordinal]].append(pk)
        return dict(found)

    def uuid_columns(self) -> list[tuple[str, str]]:
        """(model, field) of every UUID column the restore writes: their taken values are loaded."""
        return [
            (label, name) for label in sorted(self.index.ordinals) for name in self.profile.models[label].uuid_fields
        ]

    def decide_uuids(self) -> None:
        """Before any row is built: the identity UUIDs that are reassigned, so that soft references
        to them, wherever they come in the backup, follow. A free UUID is kept; one taken in the
        target by another row, or repeated in the backup, gets a new one."""
        self._uuids_decided = True
        for (label, name), values in sorted(self.index.uuids.items()):
            taken = self.taken_uuids.get((label, name), set())
            repeats = set(self.index.uuid_repeats.get((label, name), ()))
            position = dict(self._uuid_positions.get(label, ())).get(name)
            if position is None:
                continue
            changes: list[tuple[int, str | None, str]] = [(o, old, "") for old, o in values.items()]
            changes += [(o, None, "repeat") for o in sorted(repeats)]
            for ordinal, old, why in changes:
                if ordinal in self.matched:
                    continue
                if self.options.uuids == "regenerate":
                    reason = "--uuids regenerate: no backup UUID reappears"
                elif why == "repeat":
                    reason = f"{name} appears twice in the backup"
                elif old in taken:
                    reason = f"{name} {old} is used by another row of the target"
                else:
                    continue
                new = self.new_uuid()
                self._uuid_changes.setdefault(ordinal, []).append((position, new))
                entry = {"record": self.index.describe(ordinal), "old": old, "new": new, "reason": reason}
                self.decisions.uuids[(label, name)].append(entry)
                if old is not None:
                    self.follower.add(label, old, new)

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

    def columns(self, label: str) -> list[str]:
        return self._columns[label]

    def build(self, record: Record) -> BuiltRow | None:
        """The final row of a record, or None for a row matched to an existing one (decided here)."""
        model = self.profile.models[record.model]
        ordinal = record.ordinal
        pk = self.final_pk[ordinal]
        fields = record.fields
        if not self._allowed[record.model].issuperset(fields):
            unknown = sorted(set(fields) - self._allowed[record.model])
            reason = self.index.unconstrained.reasons.get((record.model, unknown[0]))
            if reason is not None:
                raise PlanError(
                    f"field {unknown[0]!r} is not a column of table {model.table!r}, nor a foreign key that can be "
                    f'told: {reason}; give its model in a profile file: [models."{record.model}".foreign_keys] '
                    f'{unknown[0]} = {{ column = "{unknown[0]}_id", model = "app.model", nullable = true }}',
                    self.index.describe(ordinal),
                )
            raise PlanError(
                f"field {unknown[0]!r} is not a column of table {model.table!r}", self.index.describe(ordinal)
            )
        if not self._uuids_decided:
            self.decide_uuids()
        parts: dict[str, Any] = {}  # a composite pk's parts, decided by identify()
        if model.composite:
            parts = dict(zip(model.composite, pk, strict=True))
            fields = fields | {name: value for name, value in parts.items() if name in model.fields}
        values: list[Any] = [pk]
        name = ""
        try:
            for name, check in self._checks[record.model]:
                values.append(check(fields[name] if name in fields else self._default_of(model, name, ordinal)))
        except ValueProblem as problem:
            raise PlanError(f"field {name!r} {problem}", self.index.describe(ordinal)) from None
        if self._soft_positions[record.model]:
            self._follow_soft(model, ordinal, values)
        for gfk, ct_fk, position in self._generic[record.model]:
            self._follow_generic(model, gfk.field, ct_fk, fields.get(gfk.ct_field), position, ordinal, values)
        references: list[Any] = []
        for name, fk in model.foreign_keys.items():
            if name in parts:
                references.append(parts[name])
                continue
            value = fields.get(name)
            if value is None and not fk.nullable:
                raise PlanError(f"field {name!r} is null but NOT NULL", self.index.describe(ordinal))
            references.append(None if value is None else self.resolve(fk, value, ordinal))
        if ordinal in self.matched:
            if self._decide_match(model, ordinal, values + references):
                replace = model.policy != MAP and (model.on_conflict or self.options.on_conflict) == "update"
                links = self._links(model, ordinal, self.matched[ordinal], fields, matched=True, replace=replace)
                return BuiltRow(record.model, [], [], links) if links else None
            values[0] = pk = self.final_pk[ordinal]  # another row had its pk: it gets a new one
        for position, new in self._uuid_changes.get(ordinal, ()):
            values[position] = new
        deferred: list[tuple[str, Any, Any]] = []
        deferred_fields = self.deferred.get(record.model, set())
        for (name, fk), target_pk in zip(model.foreign_keys.items(), references, strict=True):
            if name in deferred_fields and target_pk is not None:
                deferred.append((fk.column, pk, target_pk))
                values.append(None)
            else:
                values.append(target_pk)
        if model.composite:  # the key is the parts' columns: the row has no pk column of its own
            return BuiltRow(record.model, values[1:], deferred, [])
        links = self._links(model, ordinal, pk, fields, matched=False, replace=True)
        return BuiltRow(record.model, values, deferred, links)

    def _links(
        self, model: ModelProfile, ordinal: int, pk: Any, fields: dict[str, Any], matched: bool, replace: bool
    ) -> list[tuple[str, Any, Any]]:
        """The row's many-to-many links, as Django's ``set()`` leaves them. A row matched onto an existing
        one gets the links it lacks, each a decision (a matched group gets the permissions the backup gives
        it); with ``replace`` (``--on-conflict update``) it loses those the record does not give, each a
        decision too. A symmetrical relation's links are decided over the whole backup (``finish``)."""
        links: list[tuple[str, Any, Any]] = []
        for name, m2m in model.many_to_many.items():
            if name not in fields:
                continue
            related = fields[name]
            if not isinstance(related, list):
                raise PlanError(f"field {name!r} expected a list, got {related!r}", self.index.describe(ordinal))
            fk = ForeignKey(name, m2m.target_column, m2m.model, False)
            wanted = {self.resolve(fk, value, ordinal): value for value in related}
            if is_symmetrical(model, m2m):
                symmetric = self._symmetric_links(model, name)
                symmetric.assign(ordinal, pk, list(wanted), replace=replace or not matched)
                continue
            existing = self.existing_links.get(m2m.table, {}).get(pk, {}) if matched else {}
            for target, value in wanted.items():
                if target in existing:
                    continue
                links.append((m2m.table, pk, target))
                if matched:
                    self.decisions.references.links[(model.label, name)].append(
                        {"record": self.index.describe(ordinal), "source": pk, "target": target, "to": value}
                    )
            if matched and replace:
                gone = [Change(pk, target, ordinal, link_id) for target, link_id in existing.items()]
                self._unlink(model.label, name, [change for change in gone if change.target not in wanted])
        return links

    def _symmetric_links(self, model: ModelProfile, name: str) -> SymmetricLinks:
        table = model.many_to_many[name].table
        if table not in self._symmetric:
            self._symmetric[table] = (model.label, name, SymmetricLinks(self.existing_links.get(table, {})))
        return self._symmetric[table][2]

    def _unlink(self, label: str, name: str, changes: list[Change]) -> None:
        for change in changes:
            entry = {
                "record": self.index.describe(change.ordinal),
                "source": change.source,
                "target": change.target,
                "id": change.link_id,
            }
            self.decisions.references.unlinked[(label, name)].append(
                entry | ({"reverse": True} if change.reverse else {})
            )

    def symmetric_links(self) -> list[tuple[str, Any, Any]]:
        """After the build pass: the links the symmetrical relations gain (to be written); those they lose
        and those existing rows gain are decisions."""
        written: list[tuple[str, Any, Any]] = []
        for table, (label, name, symmetric) in sorted(self._symmetric.items()):
            table_of = self.profile.models[label].table
            new_rows = {
                self.final_pk[o]
                for other, ordinals in self.index.ordinals.items()
                if self.profile.models[other].table == table_of
                for o in ordinals
                if o not in self.matched
            }
            added, removed = symmetric.changes()
            for change in added:
                written.append((table, change.source, change.target))
                if change.source not in new_rows:  # an existing row gains the link
                    self.decisions.references.links[(label, name)].append(
                        {
                            "record": self.index.describe(change.ordinal),
                            "source": change.source,
                            "target": change.target,
                            "to": None,
                        }
                        | ({"reverse": True} if change.reverse else {})
                    )
            self._unlink(label, name, removed)
        return written

    def _default_of(self, model: ModelProfile, name: str, ordinal: int) -> Any:
        """A field the record leaves out: the default the profile knows (the schema's, Django's own models',
        or the model's as restore_ledger_django exported it), as loaddata fills in the model's default;
        else the field is named: a Python-side default is not guessed."""
        if name in model.defaults:
            return model.defaults[name]
        raise PlanError(
            f"field {name!r} is missing, and its model's default is not known: the target's column has none "
            "(give the field in the record, or use the profile that `manage.py restore_ledger_profile` "
            "exports, which has the model's defaults)",
            self.index.describe(ordinal),
        )

    def _follow_soft(self, model: ModelProfile, ordinal: int, values: list[Any]) -> None:
        """A non-unique UUID column holding the UUID of a restored row whose UUID was reassigned."""
        for name, position in self._soft_positions[model.label]:
            followed = self.follower.follow(values[position])
            if followed is None:
                continue
            new, owner = followed
            self.decisions.references.soft[(model.label, name)].append(
                {"record": self.index.describe(ordinal), "old": values[position], "new": new, "model": owner}
            )
            values[position] = new

    def _follow_generic(
        self, model: ModelProfile, name: str, ct_fk: ForeignKey, content_type: Any, position: int, ordinal: int,
        values: list[Any],
    ) -> None:  # fmt: skip
        """A generic foreign key's object id follows its row to the pk the restore gives it."""
        object_id = values[position]
        label = self.label_of_content_type(content_type)
        if object_id is None or object_id == "" or label is None or label not in self.profile.models:
            return
        referenced = self.profile.models[label]
        try:
            backup_pk = normalise(referenced.pk, object_id)
        except ValueProblem:
            return
        found = self.index.by_pk[label].get(backup_pk)
        if found is None:
            target = self.targets.get(label)
            key = target.key_of(backup_pk) if target is not None else None
            how = "generic" if target is not None and backup_pk in target.pks else "dangling"
            if self.index.ordinals.get(label) and not self.index.by_pk.get(label):
                how = "no backup pks"  # the rows came with natural primary keys: their old pks are unknown
            self.decisions.references.bind(label, backup_pk, key, self.index.describe(ordinal), how)
            return
        final = self.final_pk[found]
        if final == backup_pk:
            return
        new = str(final) if isinstance(object_id, str) else final
        self.decisions.references.generic[(model.label, name)].append(
            {
                "record": self.index.describe(ordinal),
                "column": model.fields[model.generic_foreign_keys[name].id_field].name,
                "model": label,
                "old": object_id,
                "new": new,
                "object": self.index.describe(found),
            }
        )
        values[position] = new

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

    def _decide_match(self, model: ModelProfile, ordinal: int, backup: list[Any]) -> bool:
        """A backup row whose natural key exists in the target: mapped, unchanged, or a conflict kept
        or updated (True). A row matched by its pk alone whose values differ is another row (False)."""
        pk = self.matched[ordinal]
        existing = self.existing.get(model.label, {}).get(pk, {})
        columns = self._columns[model.label]
        if model.composite:  # ``backup`` leads with the key, as every row does while it is built
            columns = [model.pk.name, *columns]
        kinds = {c.name: c.kind for c in model.fields.values()}
        record = self.index.describe(ordinal)
        entry: dict[str, Any] = {
            "record": record,
            "key": list(self.index.key(ordinal, self.targets)) if ordinal in self.index.raw_key else [],
            "backup_pk": _plain_pk(self.index.backup_pk.get(ordinal)),
            "pk": _plain_pk(pk),
        }
        if model.uuid_fields:
            uuid_field = model.uuid_fields[0]
            entry["backup_uuid"] = backup[columns.index(model.fields[uuid_field].name)]
            entry["uuid_column"] = model.fields[uuid_field].name
            entry["uuid"] = existing.get(model.fields[uuid_field].name)
        if model.policy == MAP:
            self.decisions.mapped[model.label].append(entry)
            return True
        differing = {
            column: [existing.get(column), value]
            for column, value in zip(columns[1:], backup[1:], strict=True)
            if not same_value(kinds.get(column, Kind.INTEGER), existing.get(column), value)
        }
        if not differing:
            same = "pk" if ordinal in self.tentative else "natural key"
            entry["reason"] = f"same {same} and the same values"
            self.decisions.unchanged[model.label].append(entry)
            return True
        if ordinal in self.tentative:
            del self.matched[ordinal]
            self.final_pk[ordinal] = new = self._take_pk(model.label)
            self.decisions.pks[model.label].append(
                {"record": record, "old": pk, "new": new, "reason": f"pk {pk} is taken in the target by another row"}
            )
            return False
        entry["differing"] = differing
        entry["resolution"] = resolution = model.on_conflict or self.options.on_conflict
        self.decisions.conflicts[model.label].append(entry)
        if resolution == "update":
            changed = {c: pair for c, pair in differing.items() if c not in model.uuid_fields}
            if changed:
                self.decisions.updates[model.label].append(
                    {
                        "record": record,
                        "pk": _plain_pk(pk),
                        "before": {c: pair[0] for c, pair in changed.items()},
                        "after": {c: pair[1] for c, pair in changed.items()},
                    }
                )
        return True

    def finish(self) -> None:
        """After the build pass: refuse missing references listed together, and note re-initialisation."""
        if self.decisions.missing:
            listed = "; ".join(
                f"{label} {key!r} referenced by {', '.join(referrers[:3])}"
                + (f" and {len(referrers) - 3} more" if len(referrers) > 3 else "")
                for label, keys in sorted(self.decisions.missing.items())
                for key, referrers in keys.items()
            )
            count = sum(len(keys) for keys in self.decisions.missing.values())
            raise PlanError(
                f"{count} referenced rows are missing and --missing-users fail forbids creating them: {listed}"
            )
        for label, mappings in sorted(self.decisions.mapped.items()):
            if not self.profile.models[label].seeded:
                continue
            differing = [
                m
                for m in mappings
                if m.get("backup_uuid") != m.get("uuid") or (m["backup_pk"] is not None and m["backup_pk"] != m["pk"])
            ]
            if differing:
                self.decisions.reinitialised.append(
                    {
                        "model": label,
                        "rows": len(differing),
                        "evidence": [
                            f"{m['record']}: backup uuid {m.get('backup_uuid')} pk {m['backup_pk'] or '-'}, "
                            f"target uuid {m.get('uuid')} pk {m['pk']}"
                            for m in differing[:5]
                        ],
                    }
                )
        self.check_bindings()

    def check_bindings(self) -> None:
        """Pk-only references to seeded rows of a target found re-initialised name other rows now:
        refused, naming them, unless the user trusts the pks."""
        if not self.decisions.reinitialised or self.options.trust_pks:
            return
        seeded = {label for label, model in self.profile.models.items() if model.seeded}
        lines = refused_bindings(self.decisions.references.bound, seeded)
        if lines:
            raise PlanError(
                f"the target was re-initialised, so {len(lines)} pk-only references to its seeded rows may name "
                f"other rows than in the backup's database: {'; '.join(lines[:5])}"
                + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
                + "; restore from a dump with natural keys, or pass --trust-pks to bind them by pk"
            )

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


def same_value(kind: Kind, existing: Any, backup: Any) -> bool:
    """Whether a stored value (in logical form) and a backup value mean the same."""
    if existing is None or backup is None:
        return existing is backup
    if kind is Kind.DECIMAL:
        try:
            return Decimal(str(existing)) == Decimal(str(backup))
        except InvalidOperation:
            return False
    if kind is Kind.DATETIME:
        return datetime.fromisoformat(str(existing)) == datetime.fromisoformat(str(backup))
    return bool(existing == backup)


def columns_of(model: ModelProfile) -> list[str]:
    """The column order of a model's rows in the ledger (a composite pk's columns are among them)."""
    return [
        *([] if model.composite else [model.pk.name]),
        *(c.name for c in model.fields.values()),
        *(fk.column for fk in model.foreign_keys.values()),
    ]


def _plain_pk(pk: Any) -> Any:
    """A pk as events carry it: a composite pk as a list."""
    return list(pk) if isinstance(pk, tuple) else pk
