"""Identifying every backup row: the target pk it gets (kept, matched by natural key, following its parent
row, allocated or reassigned) and the identity UUIDs that are reassigned, before any row is built."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from domain.composite import identify_composite
from domain.errors import PlanError
from domain.index import TargetKeys
from domain.plan_state import Allocation, PlannerState
from domain.profile import ForeignKey, Kind, ModelProfile, parent_link


class Identifying(PlannerState):
    """The first step of planning, after the backup is indexed and the target's keys are loaded."""

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
