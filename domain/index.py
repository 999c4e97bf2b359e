"""The first pass of planning: every backup record's model, pk and natural key, and the keys of
the rows the target holds already.

Pure: the caller feeds records and the keys it loaded from the target.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from operator import is_
from typing import Any

from domain.composite import key_parts, record_pk
from domain.errors import PlanError, ProfileError
from domain.ordinals import OrdinalMap
from domain.profile import ForeignKey, ModelProfile, Profile, own_key, parent_link, relabel
from domain.records import Record, describe
from domain.symmetry import BackupLinks
from domain.unconstrained import UnconstrainedReferences
from domain.values import ValueProblem, normalise

Key = tuple[Any, ...]
SAMPLED = 20  # records per model whose references are looked at for their shape
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


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
            if own_key(model):
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


class Index:
    """First pass: every record's model, backup pk and natural key, checked for duplicates."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.model_of: OrdinalMap[str] = OrdinalMap()
        self.backup_pk: OrdinalMap[Any] = OrdinalMap()
        self.raw_key: OrdinalMap[Key] = OrdinalMap()
        self.by_pk: dict[str, dict[Any, int]] = defaultdict(dict)
        self.ordinals: dict[str, list[int]] = defaultdict(list)
        self._keys: OrdinalMap[Key] = OrdinalMap()
        self.by_key: dict[str, dict[Key, int]] = defaultdict(dict)
        self.uuids: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        self.uuid_repeats: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.content_types: set[Any] = set()  # content type values of generic foreign keys
        self.key_parts: dict[int, Key] = {}  # a composite pk's raw parts, by ordinal (domain.composite)
        self.parent_refs: dict[int, Any] = {}  # a multi-table child without pk -> its parent link's value
        # a proxy's label (or a custom db_table's) -> the table's label
        self.uuid_references: dict[str, bool] = {}  # referenced model -> every sampled reference a UUID
        self.alias_of: dict[str, str] = {label: m.alias_of for label, m in profile.models.items() if m.alias_of}
        self.self_links = BackupLinks()  # links of self relations whose symmetry the profile does not say
        self._unknown_symmetry: dict[str, list[tuple[str, str]]] = {}
        self.unconstrained = UnconstrainedReferences()  # fields a model lacks, whose <field>_id column it has
        self._allowed: dict[str, frozenset[str]] = {}

    def add(self, record: Record) -> None:
        model = self.profile.models.get(record.model) or self._by_table(record)
        if model is None:
            raise ProfileError(
                f"model {record.model!r} is known neither to the profile nor to the target "
                f"(no table {record.model.replace('.', '_')!r}); for a proxy model or a custom db_table, "
                f'name its table in a profile file ([models."{record.model}"] table = "..."); nothing was written',
                describe(record.ordinal, record.model, pk=record.pk),
            )
        self.model_of[record.ordinal] = record.model
        self.ordinals[record.model].append(record.ordinal)
        if model.composite:
            self._add_composite(model, record)
        elif record.pk is not None:
            try:
                pk = normalise(model.pk, record.pk)
            except ValueProblem as problem:
                raise PlanError(f"pk {problem}", describe(record.ordinal, record.model)) from None
            if record.model in self.alias_of:  # references to the concrete model find the proxy's rows
                self.by_pk[self.alias_of[record.model]].setdefault(pk, record.ordinal)
            other = self.by_pk[record.model].setdefault(pk, record.ordinal)
            if other != record.ordinal:
                raise PlanError(
                    f"pk {pk!r} appears twice in the backup (also record {other})",
                    describe(record.ordinal, record.model, pk=pk),
                )
            self.backup_pk[record.ordinal] = pk
        if model.parent:  # a multi-table child is its parent row: no key of its own
            link = record.fields.get(parent_link(model))
            if record.pk is None and link is not None:
                self.parent_refs[record.ordinal] = link
        elif model.natural_key:
            parts = []
            for name in model.natural_key:
                if name not in record.fields:
                    if model.natural_key == model.uuid_fields[:1]:
                        break  # a UUID left out: the row is known by its pk, or gets a new one
                    raise PlanError(
                        f"natural key field {name!r} is missing",
                        describe(record.ordinal, record.model, pk=record.pk),
                    )
                parts.append(record.fields[name])
            else:
                if parts != [None] or model.natural_key != model.uuid_fields[:1]:
                    self.raw_key[record.ordinal] = tuple(parts)
        for name in model.uuid_fields:
            self._add_uuid(model, name, record)
        for gfk in model.generic_foreign_keys.values():
            content_type = record.fields.get(gfk.ct_field)
            if content_type is not None:
                self.content_types.add(tuple(content_type) if isinstance(content_type, list) else content_type)
        if len(self.ordinals[record.model]) <= SAMPLED:
            self._sample_references(model, record)
        for name, table in self._self_relations(model):
            key = self.raw_key.get(record.ordinal)
            self.self_links.add(table, record.ordinal, record.pk, key, record.fields.get(name))
        allowed = self._allowed.get(model.label)
        if allowed is None:
            allowed = self._allowed[model.label] = allowed_fields(model)
        if not allowed.issuperset(record.fields):
            self.unconstrained.see(model, record.fields, allowed)

    def _self_relations(self, model: ModelProfile) -> list[tuple[str, str]]:
        """(field, through table) of the model's self many-to-many relations whose symmetry is unknown."""
        found = self._unknown_symmetry.get(model.label)
        if found is None:
            found = [
                (name, m2m.table)
                for name, m2m in model.many_to_many.items()
                if m2m.symmetrical is None and m2m.model in (model.label, model.alias_of)
            ]
            self._unknown_symmetry[model.label] = found
        return found

    def _add_composite(self, model: ModelProfile, record: Record) -> None:
        """A composite pk: the record's pk tuple (checked, unique in the backup) and its key's raw parts."""
        pk = record_pk(self.profile, model, record)
        self.key_parts[record.ordinal] = key_parts(self.profile, model, record, pk)
        if pk is None:
            return
        other = self.by_pk[record.model].setdefault(pk, record.ordinal)
        if other != record.ordinal:
            raise PlanError(
                f"pk {list(pk)!r} appears twice in the backup (also record {other})",
                describe(record.ordinal, record.model, pk=pk),
            )
        self.backup_pk[record.ordinal] = pk

    def _sample_references(self, model: ModelProfile, record: Record) -> None:
        """How the first records of a model reference others: a one-part natural key that is a UUID
        says the referenced model's ``natural_key()`` is its UUID."""
        for name, fk in model.foreign_keys.items():
            value = record.fields.get(name)
            if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
                self.uuid_references[fk.model] = self.uuid_references.get(fk.model, True) and bool(
                    UUID_TEXT.fullmatch(value[0])
                )
            elif isinstance(value, list):
                self.uuid_references[fk.model] = False

    def fit_keys(self) -> list[str]:
        """After reading: models referenced by their UUID though a unique non-UUID column was inferred as
        their natural key take the UUID as natural key (rows are keyed again from the UUIDs read)."""
        switched = []
        for label, by_uuid in sorted(self.uuid_references.items()):
            model = self.profile.models.get(label)
            if not by_uuid or model is None or not model.uuid_fields or model.natural_key == model.uuid_fields[:1]:
                continue
            if len(model.natural_key) != 1 or model.natural_key[0] in model.foreign_keys:
                continue
            name = model.uuid_fields[0]
            self.profile.models[label] = replace(model, natural_key=(name,))
            for ordinal in self.ordinals.get(label, ()):
                self.raw_key.pop(ordinal, None)
            for value, ordinal in self.uuids.get((label, name), {}).items():
                self.raw_key[ordinal] = (value,)
            switched.append(label)
        return switched

    def _add_uuid(self, model: ModelProfile, name: str, record: Record) -> None:
        """Identity UUIDs of the backup, by value: repeats and reassignments are decided from them."""
        value = record.fields.get(name)
        if value is None:
            return
        try:
            value = normalise(model.fields[name], value)
        except ValueProblem:
            return  # refused with the record named when its row is built
        first = self.uuids[(model.label, name)].setdefault(value, record.ordinal)
        if first != record.ordinal:
            self.uuid_repeats[(model.label, name)].append(record.ordinal)

    def _by_table(self, record: Record) -> ModelProfile | None:
        """A backup label the target's labels do not know: its table under another label (an app label
        with ``_``: relabelled), else the one model of its app whose fields are exactly the record's (a
        proxy model as dumpdata writes it: an alias writing to that model's table), else, for a label the
        target's content types name, the one table no content type names whose fields are exactly the
        record's (a custom ``db_table``: relabelled)."""
        label = record.model
        table = label.replace(".", "_")
        found = [m for m in self.profile.models.values() if m.table == table]
        if len(found) == 1:
            relabel(self.profile, found[0].label, label)
            return self.profile.models[label]
        app = label.partition(".")[0]
        fitting = [m for m in self._fitting(record) if m.label.partition(".")[0] == app]
        if len(fitting) != 1:
            known = self.profile.known_labels
            orphans = [m for m in self._fitting(record) if known and label in known and m.label not in known]
            if len(orphans) != 1:
                return None
            relabel(self.profile, orphans[0].label, label)
            return self.profile.models[label]
        self.alias_of[label] = fitting[0].label
        self.profile.models[label] = replace(fitting[0], label=label, alias_of=fitting[0].label)
        return self.profile.models[label]

    def _fitting(self, record: Record) -> list[ModelProfile]:
        """Models (not aliases) whose fields are exactly the record's, many-to-many fields aside."""
        names = set(record.fields)
        fitting = []
        for model in self.profile.models.values():
            columns = set(model.fields) | set(model.foreign_keys)
            if model.label not in self.alias_of and columns <= names <= columns | set(model.many_to_many):
                fitting.append(model)
        return fitting

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
            elif part is None:
                flat.append(None)
            else:
                flat.extend(self._key_by_pk(fk, part, targets, ordinal))
        key = tuple(flat)
        raw = self.raw_key[ordinal]
        if len(key) == len(raw) and all(map(is_, key, raw)):
            key = raw  # one tuple, not two, where the key is the record's own values
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


def allowed_fields(model: ModelProfile) -> frozenset[str]:
    """The field names a record of the model may give."""
    return (
        frozenset(model.fields)
        | frozenset(model.foreign_keys)
        | frozenset(model.many_to_many)
        | frozenset([parent_link(model)] if model.parent else [])
    )


def _key_part(model: ModelProfile, name: str, part: Any, ordinal: int) -> Any:
    column = model.fields.get(name)
    if column is None:
        return part
    try:
        return normalise(column, part)
    except ValueProblem as problem:
        raise PlanError(f"natural key field {name!r} {problem}", describe(ordinal, model.label)) from None
