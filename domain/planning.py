"""Planning a restore: identify every backup row, resolve its references, order the writes.

Pure: the caller feeds records (twice: once to index, once to build rows) and the
keys of rows the target already holds; the planner answers with final rows. The
planner's state is in ``domain.plan_state``, identifying rows in ``domain.identify``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import PlanError
from domain.identify import Identifying
from domain.index import Index, Key, TargetKeys, flatten_target_keys
from domain.links import Change, SymmetricLinks
from domain.ordering import write_order
from domain.plan_state import Allocation, BuiltRow, Decisions, Options, columns_of, plain_pk
from domain.profile import MAP, ForeignKey, Kind, ModelProfile, is_symmetrical
from domain.records import Record
from domain.references import refused_bindings
from domain.values import ValueProblem, normalise

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


class Planner(Identifying):
    """Decides the final pk of every backup row and builds its row with resolved references.

    Rows whose natural key exists in the target are matched to the existing row: mapped
    (policy ``map``) or recorded as a conflict, kept or updated. Pks and UUIDs taken in
    the target are reassigned; referenced rows that are missing are created where the
    profile allows it. Every such decision is kept in ``decisions`` for the ledger.
    """

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
            "backup_pk": plain_pk(self.index.backup_pk.get(ordinal)),
            "pk": plain_pk(pk),
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
                        "pk": plain_pk(pk),
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
