"""Before planning: foreign keys declared with ``db_constraint=False`` whose field name names no model,
told from the natural keys the backup gives them (``domain/unconstrained.py``). The profile the restore
records (its Validated event) holds each one taken as a foreign key."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.engine import Engine

from domain.index import Index
from domain.profile import ForeignKey, Profile
from domain.unconstrained import Key, flat, referenced_model
from infrastructure.target import existing_keys


def settle_unconstrained(profile: Profile, index: Index, engine: Engine) -> None:
    """Each such field whose model the backup's natural keys tell becomes a foreign key of its model; for
    the others, why not is kept for the refusal that names the field."""
    references = index.unconstrained
    for (label, name), entry in sorted(references.seen.items()):

        def holds(candidate: str, keys: set[Key]) -> bool:
            model = profile.models[candidate]
            ordinals = [o for other, m in profile.models.items() if other == candidate or m.alias_of == candidate
                        for o in index.ordinals.get(other, ())]  # fmt: skip
            lacking = keys - {flat(index.raw_key[o]) for o in ordinals if o in index.raw_key}
            if lacking and model.table:
                target = existing_keys(engine, profile, {candidate}).get(candidate)
                lacking -= set(target.by_key) if target is not None else set()
            return not lacking

        found, why = referenced_model(profile, entry, holds)
        if found is None:
            references.reasons[(label, name)] = why
            continue
        model = profile.models[label]
        column = model.fields[entry.column]
        fields = {n: c for n, c in model.fields.items() if n != entry.column}
        foreign_keys = model.foreign_keys | {name: ForeignKey(name, column.name, found, column.nullable)}
        defaults = {n: v for n, v in model.defaults.items() if n != entry.column}
        profile.models[label] = replace(model, fields=fields, foreign_keys=foreign_keys, defaults=defaults)
