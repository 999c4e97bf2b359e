"""Before planning: whether each self many-to-many relation whose symmetry the profile does not say is
symmetrical, from the links of the target and of the backup (``domain/symmetry.py``). The profile the
restore records (its Validated event) holds what was decided."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.engine import Engine

from domain.profile import Profile
from domain.symmetry import BackupLinks, Pairing, decide
from infrastructure.target import link_pairing


def unknown_relations(profile: Profile, labels: set[str]) -> dict[str, tuple[str, str, str]]:
    """Through table -> (source column, target column, "label.field") of the self relations of ``labels``
    whose symmetry the profile does not say."""
    found: dict[str, tuple[str, str, str]] = {}
    for label in sorted(labels):
        model = profile.models.get(label)
        if model is None:
            continue
        for name, m2m in model.many_to_many.items():
            if m2m.symmetrical is None and m2m.model in (model.label, model.alias_of):
                found.setdefault(m2m.table, (m2m.source_column, m2m.target_column, f"{model.alias_of or label}.{name}"))
    return found


def symmetry_evidence(
    profile: Profile, labels: set[str], backup: BackupLinks | None, engine: Engine
) -> dict[str, tuple[bool | None, str]]:
    """Per "label.field": symmetrical or not (None: unknown), and why."""
    relations = unknown_relations(profile, labels)
    target = link_pairing(engine, [(table, source, other) for table, (source, other, _) in relations.items()])
    return {
        name: decide(target[table], backup.pairing(table) if backup is not None else Pairing())
        for table, (_, _, name) in relations.items()
    }


def settle_symmetry(profile: Profile, labels: set[str], backup: BackupLinks, engine: Engine) -> None:
    """Give every such relation of ``labels`` (and of the models sharing its table) what its links say."""
    relations = unknown_relations(profile, labels)
    if not relations:
        return
    decided = symmetry_evidence(profile, labels, backup, engine)
    by_table = {table: decided[name][0] for table, (_, _, name) in relations.items()}
    for label, model in list(profile.models.items()):
        changed = {
            name: replace(m2m, symmetrical=by_table[m2m.table])
            for name, m2m in model.many_to_many.items()
            if m2m.table in by_table and m2m.symmetrical is None
        }
        if changed:
            profile.models[label] = replace(model, many_to_many=model.many_to_many | changed)
