"""Foreign keys declared with ``db_constraint=False`` whose field name names no model.

Such a field is still a ``<field>_id`` column, but without a constraint the schema does not say which
model it references, and when no model is named like the field (``section`` referencing a category),
inference cannot tell. The backup may: ``dumpdata --natural-foreign`` writes a reference to a model with a
natural key as that natural key. When every value of the field is a natural key, and the rows of exactly
one model (in the backup or the target) hold every one of them, that model is the one referenced. Pks do
not tell (every model has rows with small integer pks), nor do keys several models hold: the field is then
refused, named, with what a profile file must say.

Pure: the caller looks the keys up in the target (``candidates`` says which models to look in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.profile import ModelProfile, Profile

Key = tuple[Any, ...]


@dataclass
class Unnamed:
    """What the backup gives for one such field: its natural keys, and how many values were pks."""

    label: str
    name: str
    column: str
    keys: set[Key] = field(default_factory=set)
    pks: int = 0


def flat(value: Any) -> Key:
    if isinstance(value, list | tuple):
        return tuple(part for item in value for part in flat(item))
    return (value,)


class UnconstrainedReferences:
    """The backup's values of fields a model lacks but whose ``<field>_id`` column it has."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], Unnamed] = {}
        self.reasons: dict[tuple[str, str], str] = {}  # why a field was not taken as a foreign key

    def see(self, model: ModelProfile, fields: dict[str, Any], allowed: frozenset[str]) -> None:
        for name, value in fields.items():
            if name in allowed or f"{name}_id" not in model.fields or value is None:
                continue
            entry = self.seen.setdefault((model.label, name), Unnamed(model.label, name, f"{name}_id"))
            if isinstance(value, list):
                entry.keys.add(flat(value))
            else:
                entry.pks += 1


def key_width(profile: Profile, model: ModelProfile, depth: int = 0) -> int:
    """How many values the model's natural key is written as (a FK part as its row's whole key)."""
    width = 0
    for name in model.natural_key:
        fk = model.foreign_keys.get(name)
        referenced = profile.models.get(fk.model) if fk is not None else None
        if referenced is not None and referenced.natural_key and depth < 8:
            width += key_width(profile, referenced, depth + 1)
        else:
            width += 1
    return width


def candidates(profile: Profile, entry: Unnamed) -> list[str]:
    """The models whose natural key has the width of the field's keys (none when a value is a pk)."""
    widths = {len(key) for key in entry.keys}
    if entry.pks or len(widths) != 1:
        return []
    [width] = widths
    return sorted(
        label
        for label, model in profile.models.items()
        if model.natural_key and not model.alias_of and key_width(profile, model) == width
    )


def referenced_model(
    profile: Profile, entry: Unnamed, holds: Callable[[str, set[Key]], bool]
) -> tuple[str | None, str]:
    """The one model whose rows hold every key of the field (``holds(label, keys)``), or None and why."""
    column = (
        f"{entry.label}'s column {entry.column!r} has no foreign key constraint (db_constraint=False) and no model "
        f"is named {entry.name!r}"
    )
    if entry.pks:
        return None, (
            f"{column}; the backup gives it as pks ({entry.pks} references), which do not tell which model "
            "they reference"
        )
    found = [label for label in candidates(profile, entry) if holds(label, entry.keys)]
    if len(found) == 1:
        return found[0], f"{entry.name}: the one model whose rows hold its {len(entry.keys)} natural keys"
    if not found:
        return None, f"{column}; no model's rows hold its natural keys ({_shown(entry.keys)})"
    return None, f"{column}; the rows of {', '.join(found)} all hold its natural keys ({_shown(entry.keys)})"


def _shown(keys: Iterable[Key]) -> str:
    listed = sorted(keys, key=repr)
    return ", ".join(repr(list(key)) for key in listed[:3]) + (
        f" and {len(listed) - 3} more" if len(listed) > 3 else ""
    )
