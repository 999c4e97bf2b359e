"""Planning a restore: identify every backup row, resolve its references, order the writes.

Pure: the caller feeds records (twice: once to index, once to build rows) and the
keys of rows the target already holds; the planner answers with final rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.errors import PlanError, ProfileError
from domain.profile import ForeignKey, Kind, ModelProfile, Profile
from domain.records import Record, describe
from domain.values import ValueProblem, checker, normalise

Key = tuple[Any, ...]


@dataclass
class TargetKeys:
    """Keys of the rows one target table already holds, loaded in bulk."""

    by_key: dict[Key, Any] = field(default_factory=dict)
    pks: set[Any] = field(default_factory=set)
    max_pk: int = 0

    def key_of(self, pk: Any) -> Key | None:
        if not hasattr(self, "_key_by_pk"):
            self._key_by_pk = {pk_: key for key, pk_ in self.by_key.items()}
        return self._key_by_pk.get(pk)


def flatten_target_keys(
    profile: Profile, raw: dict[str, list[tuple[Any, Key]]], max_pks: dict[str, int]
) -> dict[str, TargetKeys]:
    """Natural keys of existing rows from ``(pk, natural key columns)``; FK parts become keys."""
    result: dict[str, TargetKeys] = {}

    def build(label: str) -> TargetKeys:
        if label in result:
            return result[label]
        model = profile.models[label]
        keys = TargetKeys(max_pk=max_pks.get(label, 0))
        result[label] = keys
        for pk, parts in raw.get(label, []):
            keys.pks.add(pk)
            if model.natural_key:
                flat: list[Any] = []
                for name, part in zip(model.natural_key, parts, strict=True):
                    fk = model.foreign_keys.get(name)
                    if fk is None:
                        flat.append(part)
                    else:
                        referenced = build(fk.model).key_of(part)
                        flat.extend(referenced if referenced is not None else (part,))
                keys.by_key[tuple(flat)] = pk
        return keys

    for label in profile.models:
        build(label)
    return result


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


class Index:
    """First pass: every record's model, backup pk and natural key, checked for duplicates."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.model_of: dict[int, str] = {}
        self.backup_pk: dict[int, Any] = {}
        self.raw_key: dict[int, Key] = {}
        self.by_pk: dict[str, dict[Any, int]] = defaultdict(dict)
        self.ordinals: dict[str, list[int]] = defaultdict(list)
        self._keys: dict[int, Key] = {}
        self.by_key: dict[str, dict[Key, int]] = defaultdict(dict)

    def add(self, record: Record) -> None:
        model = self.profile.models.get(record.model)
        if model is None:
            raise ProfileError(
                f"model {record.model!r} is known neither to the profile nor to the target "
                f"(no table {record.model.replace('.', '_')!r}); nothing was written",
                describe(record.ordinal, record.model, pk=record.pk),
            )
        self.model_of[record.ordinal] = record.model
        self.ordinals[record.model].append(record.ordinal)
        if record.pk is not None:
            try:
                pk = normalise(model.pk, record.pk)
            except ValueProblem as problem:
                raise PlanError(f"pk {problem}", describe(record.ordinal, record.model)) from None
            other = self.by_pk[record.model].setdefault(pk, record.ordinal)
            if other != record.ordinal:
                raise PlanError(
                    f"pk {pk!r} appears twice in the backup (also record {other})",
                    describe(record.ordinal, record.model, pk=pk),
                )
            self.backup_pk[record.ordinal] = pk
        if model.natural_key:
            parts = []
            for name in model.natural_key:
                if name not in record.fields:
                    raise PlanError(
                        f"natural key field {name!r} is missing",
                        describe(record.ordinal, record.model, pk=record.pk),
                    )
                parts.append(record.fields[name])
            self.raw_key[record.ordinal] = tuple(parts)
        elif record.pk is None:
            raise PlanError(
                "has neither a pk nor a natural key in the profile",
                describe(record.ordinal, record.model),
            )

    def counts(self) -> dict[str, int]:
        return {label: len(ordinals) for label, ordinals in sorted(self.ordinals.items())}

    def key(self, ordinal: int, targets: dict[str, TargetKeys]) -> Key:
        """The flattened natural key of a backup row (FK parts become the referenced key)."""
        if ordinal in self._keys:
            return self._keys[ordinal]
        label = self.model_of[ordinal]
        model = self.profile.models[label]
        flat: list[Any] = []
        for name, part in zip(model.natural_key, self.raw_key[ordinal], strict=True):
            fk = model.foreign_keys.get(name)
            if fk is None:
                flat.append(_key_part(model, name, part, ordinal))
            elif isinstance(part, list):
                flat.extend(part)
            else:
                flat.extend(self._key_by_pk(fk, part, targets, ordinal))
        key = tuple(flat)
        self._keys[ordinal] = key
        return key

    def _key_by_pk(self, fk: ForeignKey, pk: Any, targets: dict[str, TargetKeys], ordinal: int) -> Key:
        referenced = self.by_pk[fk.model].get(pk)
        if referenced is not None and self.profile.models[fk.model].natural_key:
            return self.key(referenced, targets)
        existing = targets[fk.model].key_of(pk) if fk.model in targets else None
        if existing is not None:
            return existing
        raise PlanError(
            f"{fk.field} references {fk.model} pk={pk!r}, found neither in the backup nor in the target",
            describe(ordinal, self.model_of[ordinal], pk=self.backup_pk.get(ordinal)),
        )

    def describe(self, ordinal: int) -> str:
        label = self.model_of[ordinal]
        return describe(ordinal, label, self._keys.get(ordinal), self.backup_pk.get(ordinal))


def _key_part(model: ModelProfile, name: str, part: Any, ordinal: int) -> Any:
    column = model.fields.get(name)
    if column is None:
        return part
    try:
        return normalise(column, part)
    except ValueProblem as problem:
        raise PlanError(f"natural key field {name!r} {problem}", describe(ordinal, model.label)) from None


class Planner:
    """Decides the final pk of every backup row and builds its row with resolved references."""

    def __init__(self, index: Index, targets: dict[str, TargetKeys], link_max_ids: dict[str, int]) -> None:
        self.index = index
        self.profile = index.profile
        self.targets = targets
        self.final_pk: dict[int, Any] = {}
        self.allocations: list[Allocation] = []
        self.order, self.deferred = write_order(self.profile, set(index.ordinals))
        self._next_link_id = dict(link_max_ids)
        self._columns = {label: columns_of(self.profile.models[label]) for label in index.ordinals}
        self._checks = {
            label: [(name, checker(column)) for name, column in self.profile.models[label].fields.items()]
            for label in index.ordinals
        }
        self._allowed = {
            label: frozenset(model.fields) | frozenset(model.foreign_keys) | frozenset(model.many_to_many)
            for label, model in self.profile.models.items()
        }

    def identify(self) -> None:
        """Give every backup row its target pk; check natural keys for duplicates and conflicts."""
        for label in sorted(self.index.ordinals):
            model = self.profile.models[label]
            target = self.targets[label]
            by_key = self.index.by_key[label]
            without_pk: list[int] = []
            for ordinal in self.index.ordinals[label]:
                if model.natural_key:
                    key = self.index.key(ordinal, self.targets)
                    other = by_key.setdefault(key, ordinal)
                    if other != ordinal:
                        raise PlanError(
                            f"natural key {key!r} appears twice in the backup (also record {other})",
                            self.index.describe(ordinal),
                        )
                    if key in target.by_key:
                        raise PlanError(
                            f"a row with this natural key exists in the target already "
                            f"(pk {target.by_key[key]!r}); restoring onto existing rows needs a "
                            "mapping policy",
                            self.index.describe(ordinal),
                        )
                pk = self.index.backup_pk.get(ordinal)
                if pk is None:
                    without_pk.append(ordinal)
                elif pk in target.pks:
                    raise PlanError(f"pk {pk!r} is taken in the target by another row", self.index.describe(ordinal))
                else:
                    self.final_pk[ordinal] = pk
            if without_pk:
                self._allocate(model, without_pk)

    def _allocate(self, model: ModelProfile, ordinals: list[int]) -> None:
        if model.pk.kind is not Kind.INTEGER:
            raise PlanError(
                f"has no pk and the pk column {model.pk.name!r} is not an integer to allocate",
                self.index.describe(ordinals[0]),
            )
        backup_max = max((pk for pk in self.index.by_pk[model.label]), default=0)
        first = max(self.targets[model.label].max_pk, backup_max) + 1
        for offset, ordinal in enumerate(ordinals):
            self.final_pk[ordinal] = first + offset
        self.allocations.append(
            Allocation(
                model.label,
                model.table,
                first,
                len(ordinals),
                "rows serialized without pk (natural primary keys): next free pks of the target",
            )
        )

    def resolve(self, fk: ForeignKey, value: Any, ordinal: int) -> Any:
        """The target pk a foreign key value (natural key list or pk) refers to."""
        if isinstance(value, list):
            key = tuple(value)
            referenced = self.index.by_key[fk.model].get(key)
            if referenced is not None:
                return self.final_pk[referenced]
            target = self.targets.get(fk.model)
            if target is not None and key in target.by_key:
                return target.by_key[key]
            raise PlanError(
                f"{fk.field} references {fk.model} {key!r}, found neither in the backup nor in the target",
                self.index.describe(ordinal),
            )
        referenced = self.index.by_pk[fk.model].get(value)
        if referenced is not None:
            return self.final_pk[referenced]
        target = self.targets.get(fk.model)
        if target is not None and value in target.pks:
            return value
        raise PlanError(
            f"{fk.field} references {fk.model} pk={value!r}, found neither in the backup nor in the target",
            self.index.describe(ordinal),
        )

    def columns(self, label: str) -> list[str]:
        return self._columns[label]

    def build(self, record: Record) -> BuiltRow:
        """The final row of a record: values in ``columns(model)`` order, deferred FKs, M2M links."""
        model = self.profile.models[record.model]
        ordinal = record.ordinal
        pk = self.final_pk[ordinal]
        fields = record.fields
        if not self._allowed[record.model].issuperset(fields):
            unknown = sorted(set(fields) - self._allowed[record.model])
            raise PlanError(
                f"field {unknown[0]!r} is not a column of table {model.table!r}", self.index.describe(ordinal)
            )
        values: list[Any] = [pk]
        name = ""
        try:
            for name, check in self._checks[record.model]:
                values.append(check(fields[name]))
        except KeyError:
            raise PlanError(f"field {name!r} is missing", self.index.describe(ordinal)) from None
        except ValueProblem as problem:
            raise PlanError(f"field {name!r} {problem}", self.index.describe(ordinal)) from None
        deferred: list[tuple[str, Any, Any]] = []
        deferred_fields = self.deferred.get(record.model, set())
        for name, fk in model.foreign_keys.items():
            value = fields.get(name)
            if value is None:
                if not fk.nullable:
                    raise PlanError(f"field {name!r} is null but NOT NULL", self.index.describe(ordinal))
                values.append(None)
                continue
            target_pk = self.resolve(fk, value, ordinal)
            if name in deferred_fields:
                deferred.append((fk.column, pk, target_pk))
                values.append(None)
            else:
                values.append(target_pk)
        links: list[tuple[str, Any, Any]] = []
        for name, m2m in model.many_to_many.items():
            related = fields.get(name) or []
            if not isinstance(related, list):
                raise PlanError(f"field {name!r} expected a list, got {related!r}", self.index.describe(ordinal))
            fk = ForeignKey(name, m2m.target_column, m2m.model, False)
            for value in related:
                links.append((m2m.table, pk, self.resolve(fk, value, ordinal)))
        return BuiltRow(record.model, values, deferred, links)

    def allocate_link_ids(self, table: str, count: int) -> int:
        """The first of ``count`` new ids of an M2M through table, recorded as an allocation."""
        first = self._next_link_id.get(table, 0) + 1
        self._next_link_id[table] = first + count - 1
        self.allocations.append(
            Allocation(table, table, first, count, "many-to-many links: next free ids of the through table")
        )
        return first


def columns_of(model: ModelProfile) -> list[str]:
    """The column order of a model's rows in the ledger."""
    return [
        model.pk.name,
        *(c.name for c in model.fields.values()),
        *(fk.column for fk in model.foreign_keys.values()),
    ]


def write_order(profile: Profile, labels: set[str]) -> tuple[list[str], dict[str, set[str]]]:
    """Models with referenced ones first; nullable FKs inside a cycle are written empty, then set.

    Returns the order and, per model, the FK fields to defer. A cycle made only of
    non-nullable foreign keys cannot be written and is a ``PlanError``.
    """
    edges: dict[str, list[ForeignKey]] = {
        label: [fk for fk in profile.models[label].foreign_keys.values() if fk.model in labels]
        for label in sorted(labels)
    }
    component = _components(edges)
    deferred: dict[str, set[str]] = defaultdict(set)
    for label, fks in edges.items():
        for fk in fks:
            if fk.nullable and component[fk.model] == component[label]:
                deferred[label].add(fk.field)
    remaining = {label: {fk.model for fk in fks if fk.field not in deferred[label]} for label, fks in edges.items()}
    order: list[str] = []
    ready = sorted(label for label, deps in remaining.items() if not deps)
    while ready:
        label = ready.pop(0)
        order.append(label)
        for other, deps in remaining.items():
            if label in deps:
                deps.discard(label)
                if not deps and other not in order and other not in ready:
                    ready.append(other)
        ready.sort()
    stuck = sorted(label for label in remaining if label not in order)
    if stuck:
        fields = [
            f"{label}.{fk.field} -> {fk.model}"
            for label in stuck
            for fk in edges[label]
            if fk.model in stuck and fk.field not in deferred[label]
        ]
        raise PlanError(
            "these models reference each other only through non-nullable foreign keys, "
            f"so no order can write them: {', '.join(fields)}"
        )
    return order, dict(deferred)


def _components(edges: dict[str, list[ForeignKey]]) -> dict[str, int]:
    """Strongly connected components (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = 0
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(fk.model for fk in edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(fk.model for fk in edges[successor])))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = index[node]
                    if member == node:
                        break
    return component
