"""Composite primary keys (Django 5.2 ``CompositePrimaryKey``): a record's pk is a list, one value per field
of the key, and the row is known by the whole tuple.

``dumpdata`` writes the pk as that list (``"pk": [1, 1]``) and every field of the key among the fields too
(a foreign key part as the referenced row's pk, or its natural key with ``--natural-foreign``). ``loaddata``
reads the list as the model's pk (a JSON string of it too), refusing a list of another length or a value
its field does not take. Here a part's value is the record's field where it gives one, else the pk's: a
foreign key part given by natural key follows the referenced row to the pk the restore gives it. A pk part
that contradicts its field is refused (``loaddata`` would silently take the pk's value).

Nothing references a row of a composite-pk model (Django 5.2 has no foreign key to one): its key is decided
after every other model's rows are identified, from those rows' final pks.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from domain.errors import PlanError
from domain.profile import Column, Kind, ModelProfile, Profile
from domain.records import Record, describe
from domain.values import ValueProblem, checker, normalise

if TYPE_CHECKING:
    from domain.index import TargetKeys
    from domain.plan_state import PlannerState


def part_column(profile: Profile, model: ModelProfile, name: str) -> Column:
    """The column a part's value is checked by: its own, or the referenced model's pk for a foreign key."""
    fk = model.foreign_keys.get(name)
    if fk is None:
        return model.fields[name]
    referenced = profile.models.get(fk.model)
    if referenced is None:
        return Column(fk.column, Kind.INTEGER, False)  # a model the target lacks: refused when resolved
    if fk.to_field and fk.to_field in referenced.fields:
        return referenced.fields[fk.to_field]
    return referenced.pk


def record_pk(profile: Profile, model: ModelProfile, record: Record) -> tuple[Any, ...] | None:
    """The record's pk as a tuple of values checked by their fields, or None when it gives none."""
    pk = record.pk
    if pk is None:
        return None
    names = ", ".join(model.composite)
    where = describe(record.ordinal, record.model, pk=pk)
    if isinstance(pk, str):  # as CompositePrimaryKey.to_python reads a string: JSON
        try:
            pk = json.loads(pk)
        except ValueError:
            raise PlanError(f"pk {record.pk!r} is not a list of the values of ({names})", where) from None
    if not isinstance(pk, list) or len(pk) != len(model.composite):
        raise PlanError(
            f"pk must be a list of {len(model.composite)} values, one per field of the composite pk ({names}), "
            f"not {record.pk!r}",
            where,
        )
    parts = []
    for name, value in zip(model.composite, pk, strict=True):
        try:
            parts.append(normalise(part_column(profile, model, name), value))
        except ValueProblem as problem:
            raise PlanError(f"pk part {name!r} ({value!r}) {problem}", where) from None
    return tuple(parts)


def key_parts(profile: Profile, model: ModelProfile, record: Record, pk: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The raw value of each part of the key: the record's field, else its pk's (checked by ``record_pk``)."""
    where = describe(record.ordinal, record.model, pk=record.pk)
    parts = []
    for position, name in enumerate(model.composite):
        given = name in record.fields
        value = record.fields.get(name)
        if given and value is None:
            raise PlanError(f"field {name!r} is null but it is part of the composite pk", where)
        if pk is None:
            if not given:
                raise PlanError(f"field {name!r} is missing and the record has no pk to take it from", where)
            parts.append(value)
            continue
        if given and not (isinstance(value, list) and name in model.foreign_keys):  # a natural key is not compared
            try:
                same = normalise(part_column(profile, model, name), value) == pk[position]
            except ValueProblem as problem:
                raise PlanError(f"field {name!r} {problem}", where) from None
            if not same:
                raise PlanError(
                    f"field {name!r} is {value!r} but the pk gives {pk[position]!r} for it: "
                    "a composite pk's parts must agree with its fields",
                    where,
                )
        parts.append(value if given else pk[position])
    return tuple(parts)


def identify_composite(planner: PlannerState, model: ModelProfile, target: TargetKeys) -> None:
    """After every other model's rows are identified: each record's key is the tuple of its parts, a foreign
    key part the referenced row's final pk, a plain part the record's value. A key the target holds is that
    row (unchanged, or a conflict); two records with one key are refused."""
    seen: dict[tuple[Any, ...], int] = {}
    checks = {name: checker(model.fields[name], planner.options.text_allows_nul) for name in model.fields}
    index = planner.index
    for ordinal in index.ordinals[model.label]:
        parts: list[Any] = []
        for name, part in zip(model.composite, index.key_parts[ordinal], strict=True):
            fk = model.foreign_keys.get(name)
            try:
                parts.append(planner.resolve(fk, part, ordinal) if fk is not None else checks[name](part))
            except ValueProblem as problem:
                raise PlanError(f"field {name!r} {problem}", index.describe(ordinal)) from None
        key = tuple(parts)
        other = seen.setdefault(key, ordinal)
        if other != ordinal:
            raise PlanError(
                f"pk {list(key)!r} appears twice in the backup once its parts are resolved (also record {other})",
                index.describe(ordinal),
            )
        planner.final_pk[ordinal] = key
        if key in target.pks:
            planner.matched[ordinal] = key
