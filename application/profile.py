"""Show the restore profile of a target, as TOML to start a profile file from, with the evidence
of each inference; with a backup, what the backup's shape says too."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from application.symmetry import symmetry_evidence
from domain.index import UUID_TEXT
from domain.profile import Kind, ModelProfile, Profile
from domain.symmetry import BackupLinks
from infrastructure.backup import open_backup
from infrastructure.profile_file import load_profile, to_toml
from infrastructure.schema import CONTRIB_NATURAL_KEYS
from infrastructure.target import connect, redact


def show_profile(target_url: str, profile_file: Path | None = None, backup: Path | None = None) -> str:
    engine = connect(target_url)
    try:
        profile = load_profile(engine, profile_file)
        shape = _shape(profile, backup) if backup is not None else None
        used = set(shape.counts) if shape is not None else set(profile.models)
        symmetry = symmetry_evidence(profile, used, shape.links if shape is not None else None, engine)
        notes = {label: _evidence(model, shape, symmetry) for label, model in profile.models.items()}
        shown = Profile({label: model for label, model in profile.models.items() if label in used})
        source = redact(engine.url) + (f", for the backup {backup}" if backup is not None else "")
        unknown = sorted(used - set(profile.models))
        text = to_toml(shown, source, notes)
        if unknown:
            text += "".join(
                f"# {label}: in the backup, but no table of the target has this label\n" for label in unknown
            )
        return text
    finally:
        engine.dispose()


class _Shape:
    """What the backup says about each model: records, records without pk, how references look."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.without_pk: Counter[str] = Counter()
        self.references: dict[str, Counter[str]] = defaultdict(Counter)  # referenced label -> forms
        self.links = BackupLinks()  # links of self relations whose symmetry is unknown


def _shape(profile: Profile, backup: Path) -> _Shape:
    shape = _Shape()
    with open_backup(backup) as opened:
        for record in opened.records():
            label = record.model
            if label not in profile.models:
                table = label.replace(".", "_")
                label = next((m.label for m in profile.models.values() if m.table == table), label)
                if label != record.model:
                    profile.models[record.model] = profile.models[label]
                    label = record.model
            shape.counts[label] += 1
            if record.pk is None:
                shape.without_pk[label] += 1
            model = profile.models.get(label)
            if model is None:
                continue
            for name, fk in model.foreign_keys.items():
                value = record.fields.get(name)
                if value is not None:
                    shape.references[fk.model][_form(value)] += 1
            key = [record.fields.get(name) for name in model.natural_key] if model.natural_key else None
            for name, m2m in model.many_to_many.items():
                if m2m.symmetrical is None and m2m.model in (model.label, model.alias_of):
                    shape.links.add(m2m.table, record.ordinal, record.pk, key, record.fields.get(name))
    return shape


def _form(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str) and UUID_TEXT.fullmatch(value[0]):
        return "a UUID natural key"
    if isinstance(value, list):
        return f"a {len(value)}-part natural key"
    return "a pk"


def _evidence(model: ModelProfile, shape: _Shape | None, symmetry: dict[str, tuple[bool | None, str]]) -> list[str]:
    notes = [f"table {model.table}: the table of this label (django_content_type or <app_label>_<model>)"]
    for name, m2m in model.many_to_many.items():
        if m2m.model not in (model.label, model.alias_of):
            continue
        if m2m.symmetrical is not None:
            notes.append(f"many-to-many {name}: {'' if m2m.symmetrical else 'not '}symmetrical, as the profile says")
        elif f"{model.alias_of or model.label}.{name}" in symmetry:
            notes.append(f"many-to-many {name}: {symmetry[f'{model.alias_of or model.label}.{name}'][1]}")
    if model.composite:
        notes.append(_composite_note(model))
    elif model.label in CONTRIB_NATURAL_KEYS:
        notes.append(f"natural key {list(model.natural_key)}: Django's own natural key of {model.label}")
    elif model.natural_key and model.natural_key == model.uuid_fields[:1]:
        notes.append(
            f"natural key {list(model.natural_key)}: its unique UUID column, the only unique column set "
            "(a row whose UUID the target holds is the same row)"
        )
    elif model.natural_key:
        notes.append(f"natural key {list(model.natural_key)}: the smallest unique constraint of the table")
    else:
        notes.append("no natural key: no unique constraint but the pk; rows are known by their pk")
    if model.uuid_fields:
        notes.append(f"identity UUIDs {list(model.uuid_fields)}: unique UUID columns; reassigned when taken")
    if model.soft_uuids:
        notes.append(
            f"soft references {list(model.soft_uuids)}: non-unique UUID columns; kept, and following a restored "
            "row whose UUID is reassigned"
        )
    for gfk in model.generic_foreign_keys.values():
        notes.append(
            f"generic foreign key {gfk.field}: {gfk.ct_field} (content type) + {gfk.id_field}; the id follows "
            "its row to the pk the restore gives it"
        )
    missing = [
        name
        for name, column in model.fields.items()
        if name not in model.defaults and not column.nullable and name not in model.composite  # the pk gives it
    ]
    if missing:
        notes.append(f"refused when a record leaves out: {', '.join(missing)} (no default in the schema)")
    if model.fields and any(c.kind is Kind.JSON for c in model.fields.values()):
        json_fields = [n for n, c in model.fields.items() if c.kind is Kind.JSON]
        notes.append(f"JSON: {', '.join(json_fields)} (stored as JSON, never as a JSON string of JSON)")
    if shape is not None:
        count, without = shape.counts.get(model.label, 0), shape.without_pk.get(model.label, 0)
        notes.append(f"backup: {count} records, {without} without pk")
        if without and not model.natural_key:
            notes.append("backup: records without pk and no natural key: each gets a new pk")
        forms = shape.references.get(model.label)
        if forms:
            seen = ", ".join(f"{n} as {form}" for form, n in sorted(forms.items()))
            notes.append(f"backup: references to it: {seen}")
            arity = f"a {len(model.natural_key)}-part natural key"
            if "a UUID natural key" in forms and model.uuid_fields:
                if model.natural_key != model.uuid_fields[:1]:
                    notes.append(f"backup: referenced by UUID: the restore takes {model.uuid_fields[0]} as natural key")
                arity = "a UUID natural key"
            odd = [form for form in forms if form not in ("a pk", arity)]
            if odd:
                notes.append(
                    f"backup: references as {odd[0]} do not fit the natural key {list(model.natural_key)}: "
                    "give the natural key in a profile file"
                )
    return notes


def _composite_note(model: ModelProfile) -> str:
    """A composite pk (Django 5.2 ``CompositePrimaryKey``): what a record's pk is, and how a row is found."""
    parts = [
        f"{name} ({model.foreign_keys[name].column}, following the {model.foreign_keys[name].model} row)"
        if name in model.foreign_keys
        else f"{name} ({model.fields[name].name})"
        for name in model.composite
    ]
    return (
        f"composite pk {list(model.composite)}: the table's primary key is several columns: {', '.join(parts)}; "
        "a record's pk is the list of their values, a row the target holds with the whole key is that row"
    )
