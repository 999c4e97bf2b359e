"""Compare a backup with a target, model by model: rows equal, different (with the fields),
missing and extra; with a ledger, the differences a restore decided are told apart.

Rows are matched by identity: the natural key where the model has one, else its UUID
field, else its pk; references compare by the identity of the row they point at, so
pks that differ between the backup and the target are no difference. With the ledger
of a restore of this backup, the pks and UUIDs it reassigned are followed, and the
rows it mapped onto existing rows, kept as they were (conflicts) or created, are
counted as ``decided``, not as differences. One table of the target is held at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from application.ledger import Ledger
from application.report import restore_decisions, summaries
from domain.errors import RestoreError
from domain.planning import Index, TargetKeys, columns_of
from domain.profile import Kind, ModelProfile, Profile, key_columns
from domain.records import Record
from domain.values import ValueProblem, normalise
from infrastructure.backup import Backup, open_backup
from infrastructure.profile_file import load_profile
from infrastructure.storage import from_storage
from infrastructure.target import connect, existing_keys
from infrastructure.target_schema import table_rows

Identity = Any


class CompareError(RestoreError):
    stage = "compare"


@dataclass
class ModelComparison:
    equal: int = 0
    different: list[dict[str, Any]] = field(default_factory=list)  # {key, fields: {name: [backup, target]}}
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    decided: list[dict[str, Any]] = field(default_factory=list)  # {key, decision, fields}


@dataclass
class Comparison:
    backup: str
    target: str
    restore_id: str | None
    models: dict[str, ModelComparison] = field(default_factory=dict)

    @property
    def differences(self) -> int:
        return sum(len(m.different) + len(m.missing) + len(m.extra) for m in self.models.values())


@dataclass
class _Decided:
    """What a restore's ledger says about the rows it wrote."""

    pks: dict[str, dict[Any, Any]] = field(default_factory=lambda: defaultdict(dict))  # label: backup pk -> pk
    uuids: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # label: backup -> uuid
    rows: dict[str, dict[Any, str]] = field(default_factory=lambda: defaultdict(dict))  # label: target pk -> kind


def compare_backup(
    backup: Path, target_url: str, ledger_url: str | None = None, restore_id: str | None = None,
    profile_file: Path | None = None,
) -> Comparison:  # fmt: skip
    engine = connect(target_url)
    try:
        with open_backup(backup) as opened:
            profile = load_profile(engine, profile_file, opened.profile_text())
            decided, restore_id = _decisions(ledger_url, restore_id, opened.info.sha256)
            return _compare(opened, profile, engine, decided, Comparison(str(backup), target_url, restore_id))
    finally:
        engine.dispose()


def _decisions(ledger_url: str | None, restore_id: str | None, sha256: str) -> tuple[_Decided, str | None]:
    decided = _Decided()
    if ledger_url is None:
        return decided, None
    if restore_id is None:
        runs = [
            r for r in summaries(Ledger(ledger_url)) if r["status"] == "applied" and r["backup"].get("sha256") == sha256
        ]
        if not runs:
            raise CompareError(f"the ledger holds no applied restore of this backup (sha256 {sha256[:12]}...)")
        restore_id = str(runs[-1]["restore_id"])
    for line in restore_decisions(ledger_url, restore_id):
        details, label = line["details"], line["model"]
        if line["kind"] == "pk":
            decided.pks[label][details["old"]] = details["new"]
        elif line["kind"] == "uuid":
            decided.uuids[label][str(details["old"])] = str(details["new"])
        elif line["kind"] in ("mapped", "conflict", "created", "updated") and "pk" in details:
            pk = details["pk"]
            decided.rows[label][tuple(pk) if isinstance(pk, list) else pk] = line["kind"]  # a composite pk: a list
    return decided, restore_id


class _Identities:
    """The identity of a row, on either side, and of the row a reference points at."""

    def __init__(self, profile: Profile, index: Index, targets: dict[str, TargetKeys], decided: _Decided) -> None:
        self.profile, self.index, self.targets, self.decided = profile, index, targets, decided
        self.backup_by_pk: dict[str, dict[Any, Identity]] = defaultdict(dict)
        self.target_by_pk: dict[str, dict[Any, Identity]] = {}

    def uuid_field(self, model: ModelProfile) -> str | None:
        return None if model.natural_key or not model.uuid_fields else model.uuid_fields[0]

    def of_record(self, record: Record) -> Identity:
        model = self.profile.models[record.model]
        if model.natural_key:
            return self.index.key(record.ordinal, self.targets)
        if model.composite:  # the key's parts, a foreign key part by the identity of the row it references
            return _flat(
                self.of_reference(model.foreign_keys[name].model, part)
                if name in model.foreign_keys
                else normalise(model.fields[name], part)
                for name, part in zip(model.composite, self.index.key_parts[record.ordinal], strict=True)
            )
        name = self.uuid_field(model)
        if name is not None and record.fields.get(name) is not None:
            uuid = str(normalise(model.fields[name], record.fields[name]))
            return self.decided.uuids[record.model].get(uuid, uuid)
        pk = normalise(model.pk, record.pk)
        return self.decided.pks[record.model].get(pk, pk)

    def of_reference(self, label: str, value: Any) -> Identity:
        """A backup reference: a natural key (a list) or a backup pk."""
        if value is None:
            return None
        if isinstance(value, list):
            return tuple(value)
        model = self.profile.models[label]
        pk = normalise(model.pk, value)
        if pk in self.backup_by_pk[label]:
            return self.backup_by_pk[label][pk]
        if model.natural_key:
            ordinal = self.index.by_pk[label].get(pk)
            if ordinal is not None:
                return self.index.key(ordinal, self.targets)
        return self.decided.pks[label].get(pk, pk)

    def of_target(self, label: str, pk: Any, engine: Any) -> Identity:
        if pk is None:
            return None
        model = self.profile.models[label]
        if model.natural_key:
            return self.targets[label].key_of(pk) if label in self.targets else pk
        name = self.uuid_field(model)
        if name is None:
            return pk
        if label not in self.target_by_pk:
            convert = from_storage(Kind.UUID)
            rows = table_rows(engine, model.table, [model.pk.name, model.fields[name].name])
            self.target_by_pk[label] = {row[0]: convert(row[1]) for row in rows}
        return self.target_by_pk[label].get(pk, pk)


def _compare(opened: Backup, profile: Profile, engine: Any, decided: _Decided, result: Comparison) -> Comparison:
    index = Index(profile)
    for record in opened.records():
        index.add(record)
    labels = set(index.ordinals)
    related = {m2m.model for label in labels for m2m in profile.models[label].many_to_many.values()}
    targets = existing_keys(engine, profile, labels | (related & set(profile.models)))
    ids = _Identities(profile, index, targets, decided)
    for record in opened.records():  # backup pk -> identity of rows without a natural key
        model = profile.models[record.model]
        if not model.natural_key and record.pk is not None and not model.composite:
            ids.backup_by_pk[record.model][normalise(model.pk, record.pk)] = ids.of_record(record)
    for label in sorted(labels):
        result.models[label] = _compare_model(opened, profile.models[label], engine, ids)
    return result


def _compare_model(opened: Backup, model: ModelProfile, engine: Any, ids: _Identities) -> ModelComparison:
    label = model.label
    composite = bool(model.composite)
    columns = [*([] if composite else [model.pk.name]), *columns_of(model)[0 if composite else 1 :]]
    keys = key_columns(model)
    converters = [from_storage(c.kind) for c in model.fields.values()]
    target: dict[Identity, dict[str, Any]] = {}
    for stored in table_rows(engine, model.table, columns):
        if composite:  # no pk column: the key is its fields' columns, as the ledger's decisions name it
            named = dict(zip(columns, stored, strict=True))
            pk: Any = tuple(named[c] for c in keys)
            stored = (pk, *stored)
        else:
            pk = from_storage(model.pk.kind)(stored[0])
        values: dict[str, Any] = {"": pk}
        for (name, _column), convert, value in zip(model.fields.items(), converters, stored[1:], strict=False):
            values[name] = convert(value)
        for offset, (name, fk) in enumerate(model.foreign_keys.items(), start=1 + len(model.fields)):
            values[name] = ids.of_target(fk.model, stored[offset], engine)
        if composite:
            identity: Identity = _flat(values[name] for name in model.composite)
        elif model.natural_key or ids.uuid_field(model):
            identity = ids.of_target(label, pk, engine)
        else:
            identity = pk
        target[identity] = values
    links = _target_links(model, engine, ids)
    result = ModelComparison()
    for record in opened.records():
        if record.model != label:
            continue
        identity = ids.of_record(record)
        row = target.pop(identity, None)
        if row is None:
            result.missing.append(_text(identity))
            continue
        fields = _differing(model, record, row, links.get(row[""], {}), ids)
        kind = ids.decided.rows[label].get(row[""])
        if kind is not None and (fields or kind != "updated"):
            result.decided.append({"key": _text(identity), "decision": kind, "fields": fields})
        elif fields:
            result.different.append({"key": _text(identity), "fields": fields})
        else:
            result.equal += 1
    for identity, row in target.items():
        kind = ids.decided.rows[label].get(row[""])
        if kind is not None:
            result.decided.append({"key": _text(identity), "decision": kind, "fields": {}})
        else:
            result.extra.append(_text(identity))
    return result


def _target_links(model: ModelProfile, engine: Any, ids: _Identities) -> dict[Any, dict[str, set[Identity]]]:
    links: dict[Any, dict[str, set[Identity]]] = defaultdict(lambda: defaultdict(set))
    for name, m2m in model.many_to_many.items():
        for source, other in table_rows(engine, m2m.table, [m2m.source_column, m2m.target_column]):
            links[source][name].add(ids.of_target(m2m.model, other, engine))
    return links


def _differing(
    model: ModelProfile, record: Record, row: dict[str, Any], links: dict[str, set[Identity]], ids: _Identities
) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for name, column in model.fields.items():
        if name not in record.fields or (name in model.uuid_fields and not model.natural_key):
            continue
        try:
            value = normalise(column, record.fields[name])
        except ValueProblem:
            value = record.fields[name]
        if name in model.uuid_fields and value is not None:
            value = ids.decided.uuids[model.label].get(str(value), value)
        if not _same(column.kind, value, row[name]):
            found[name] = [value, row[name]]
    for name, fk in model.foreign_keys.items():
        if name in record.fields:
            value = ids.of_reference(fk.model, record.fields[name])
            if value != row[name]:
                found[name] = [_text(value), _text(row[name])]
    for name, m2m in model.many_to_many.items():
        if name in record.fields and isinstance(record.fields[name], list):
            wanted = {ids.of_reference(m2m.model, v) for v in record.fields[name]}
            have = links.get(name, set())
            if wanted != have:
                found[name] = [sorted(map(_text, wanted - have)), sorted(map(_text, have - wanted))]
    return found


def _same(kind: Kind, backup: Any, target: Any) -> bool:
    if backup == target:
        return True
    if backup is None or target is None:
        return False
    if kind in (Kind.DECIMAL, Kind.FLOAT):
        try:
            return Decimal(str(backup)) == Decimal(str(target))
        except InvalidOperation:
            return False
    return str(backup) == str(target)


def _text(identity: Identity) -> str:
    if isinstance(identity, tuple):
        return "/".join(map(str, identity))
    return str(identity)


def _flat(parts: Iterable[Identity]) -> tuple[Any, ...]:
    """A composite pk's identity: its parts in order, a referenced row's natural key spread out."""
    return tuple(value for part in parts for value in (part if isinstance(part, tuple) else (part,)))
