"""The exact restore profile of the live Django project, read from its model registry.

What no schema can tell comes from the models themselves: ``db_table``, the fields
``natural_key()`` returns, model defaults, generic foreign keys, proxies and
multi-table inheritance. The result has the shape of ``domain.profile.Profile``'s
dict and is written as the TOML a profile file holds.

**Which fields a natural key is made of.** Django only knows a method, so it is
called: on an unsaved instance whose every field holds a distinct marker value
(a referenced row being such an instance of its own model), and each value the
method returns is traced back to the field that holds it; the values of a
referenced row's natural key stand for the foreign key field, as Django's
serializer writes them. When the method cannot be called that way (it reads
something else, or returns a computed value), the model's unique field sets are
searched for the one with as many values as ``get_by_natural_key`` takes
parameters. A model has a natural key only when Django's serializer would use it:
the model has ``natural_key()`` and its default manager ``get_by_natural_key()``.

**Settings.** ``RESTORE_LEDGER_PROFILE = {"app.model": {"policy": "map", "seeded": True}}``
adds what the project knows but no model says (which models the installation
seeds, a model's conflict policy); each key replaces the exported one.
"""

from __future__ import annotations

import inspect
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import tomli_w
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from domain.profile import COMPOSITE_PK, CREATE, FAIL, MAP, RESTORE, Kind
from infrastructure.schema import CONTRIB_MAPPED, USER_CREATE_VALUES

KINDS = {
    "AutoField": Kind.INTEGER,
    "BigAutoField": Kind.INTEGER,
    "SmallAutoField": Kind.INTEGER,
    "IntegerField": Kind.INTEGER,
    "BigIntegerField": Kind.INTEGER,
    "SmallIntegerField": Kind.INTEGER,
    "PositiveIntegerField": Kind.INTEGER,
    "PositiveBigIntegerField": Kind.INTEGER,
    "PositiveSmallIntegerField": Kind.INTEGER,
    "FloatField": Kind.FLOAT,
    "DecimalField": Kind.DECIMAL,
    "BooleanField": Kind.BOOLEAN,
    "NullBooleanField": Kind.BOOLEAN,
    "UUIDField": Kind.UUID,
    "DateTimeField": Kind.DATETIME,
    "DateField": Kind.DATE,
    "TimeField": Kind.TIME,
    "DurationField": Kind.DURATION,
    "JSONField": Kind.JSON,
    "BinaryField": Kind.BINARY,
    "ArrayField": Kind.ARRAY,
    "GenericIPAddressField": Kind.IP_ADDRESS,
}
_CONSTANT_FACTORIES = (dict, list, tuple, str, int, float, bool)


class ProfileExportError(Exception):
    """A model whose profile cannot be told from the registry, named, with what to do."""


def kind_of(field: models.Field[Any, Any]) -> Kind:
    """The logical kind of a concrete field; a relation has its target field's kind."""
    if field.is_relation and field.target_field is not None and field.target_field is not field:
        return kind_of(field.target_field)
    return KINDS.get(field.get_internal_type(), Kind.TEXT)


def _column(field: models.Field[Any, Any], nullable: bool | None = None) -> dict[str, Any]:
    kind = kind_of(field)
    column: dict[str, Any] = {
        "name": field.column,
        "kind": kind.value,
        "nullable": field.null if nullable is None else nullable,
    }
    if kind is Kind.ARRAY:  # django.contrib.postgres: its base field, maybe an array itself, says the items
        base, column["dimensions"] = field, 0
        while kind_of(base) is Kind.ARRAY:
            base, column["dimensions"] = base.base_field, column["dimensions"] + 1
        column["item"] = kind_of(base).value
        field = base
    if kind_of(field) is Kind.TEXT and getattr(field, "max_length", None):
        column["max_length"] = field.max_length
    return column


def label(model: type[models.Model]) -> str:
    return str(model._meta.label_lower)


def has_natural_key(model: type[models.Model]) -> bool:
    """Django's serializer uses a natural key only when both ends exist."""
    return hasattr(model, "natural_key") and hasattr(model._default_manager, "get_by_natural_key")


def export_profile() -> dict[str, dict[str, Any]]:
    """Every installed model's profile, by label, in ``Profile.from_dict`` form."""
    overrides: dict[str, dict[str, Any]] = getattr(settings, "RESTORE_LEDGER_PROFILE", {})
    user_label = label(get_user_model())
    result: dict[str, dict[str, Any]] = {}
    for model in apps.get_models():
        entry = model_profile(model)
        if entry["label"] in CONTRIB_MAPPED:
            entry["policy"] = MAP
        if entry["label"] == user_label and entry["natural_key"]:
            entry["missing"] = CREATE
            entry["create_values"] = {k: v for k, v in USER_CREATE_VALUES.items() if k in entry["fields"]}
        entry.update(overrides.get(entry["label"], {}))
        result[entry["label"]] = entry
    unknown = sorted(set(overrides) - set(result))
    if unknown:
        raise ProfileExportError(f"RESTORE_LEDGER_PROFILE names models that are not installed: {', '.join(unknown)}")
    return dict(sorted(result.items()))


def model_profile(model: type[models.Model]) -> dict[str, Any]:
    """One model: its table, pk, plain fields, references, natural key and what Django alone knows."""
    meta = model._meta
    concrete = meta.concrete_model
    assert concrete is not None
    cmeta = concrete._meta
    pk = cmeta.pk
    assert pk is not None
    fields: dict[str, Any] = {}
    foreign_keys: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    uuid_fields: list[str] = []
    soft_uuids: list[str] = []
    for field in cmeta.local_concrete_fields:
        if field is pk:
            continue
        if field.is_relation and field.related_model is not None:
            target = field.target_field
            foreign_keys[field.name] = {
                "field": field.name,
                "column": field.column,
                "model": label(field.related_model._meta.concrete_model),
                "nullable": field.null,
                **({"to_field": target.name} if not target.primary_key else {}),
            }
            continue
        fields[field.name] = _column(field)
        if kind_of(field) is Kind.UUID:
            (uuid_fields if field.unique else soft_uuids).append(field.name)
        default = _default(field)
        if default is not None:
            defaults[field.name] = default
    many_to_many = {
        field.name: {
            "field": field.name,
            "table": field.remote_field.through._meta.db_table,
            "source_column": field.m2m_column_name(),
            "target_column": field.m2m_reverse_name(),
            "model": label(field.related_model._meta.concrete_model),
            # a self relation: whether Django holds each link in both directions (no schema tells)
            **({"symmetrical": bool(field.remote_field.symmetrical)} if field.related_model is concrete else {}),
        }
        for field in cmeta.local_many_to_many
        if field.remote_field.through._meta.auto_created and not meta.proxy
    }
    entry: dict[str, Any] = {
        "label": label(model),
        "table": cmeta.db_table,
        "pk": _column(pk, nullable=False),
        "natural_key": _unique_natural_key(concrete) if has_natural_key(model) else [],
        "uuid_fields": uuid_fields,
        "soft_uuids": soft_uuids,
        "fields": fields,
        "foreign_keys": foreign_keys,
        "many_to_many": many_to_many,
        "policy": RESTORE,
        "seeded": False,
        "missing": FAIL,
        "create_values": {},
        "defaults": defaults,
        "generic_foreign_keys": {
            f.name: {"field": f.name, "ct_field": f.ct_field, "id_field": f.fk_field}
            for f in cmeta.private_fields
            if hasattr(f, "ct_field") and hasattr(f, "fk_field")
        },
        "parent": next((label(parent) for parent, ptr in cmeta.parents.items() if ptr is pk), ""),
        "alias_of": label(concrete) if meta.proxy else "",
    }
    composite = getattr(models, "CompositePrimaryKey", None)  # Django 5.2
    if composite is not None and isinstance(pk, composite):  # the pk is its fields' columns, among the fields
        entry["pk"] = {"name": COMPOSITE_PK.name, "kind": COMPOSITE_PK.kind.value, "nullable": False}
        entry["composite"] = [field.name for field in pk.fields]
        entry["natural_key"] = []
    return entry


def _default(field: models.Field[Any, Any]) -> Any:
    """The field's default in the form ``dumpdata`` writes it; None when there is none to record
    (no default, or a callable whose every call gives another value, such as ``uuid.uuid4``). A text
    or binary field without one has Django's implicit empty default, which no schema holds."""
    if not field.has_default():
        return "" if field.get_default() in ("", b"") else None
    if callable(field.default) and field.default not in _CONSTANT_FACTORIES:
        return None
    value = field.get_default()
    if value is None:
        return None
    encoded = json.loads(
        json.dumps(field.get_prep_value(value) if isinstance(field, models.JSONField) else value, cls=DjangoJSONEncoder)
    )
    return encoded


# ---- natural keys -------------------------------------------------------------------------------


class _Markers:
    """Distinct values, one per field, remembering which top-level field each came from."""

    def __init__(self) -> None:
        self.count = 0
        self.owner: dict[str, str] = {}

    def value(self, field: models.Field[Any, Any], owner: str) -> Any:
        self.count += 1
        n = self.count
        kind = kind_of(field)
        value: Any
        if kind is Kind.INTEGER:
            value = 7_340_000 + n
        elif kind is Kind.UUID:
            value = uuid.UUID(int=0x7E57_0000 + n)
        elif kind is Kind.DATE:
            value = date(1901, 1, 1) + timedelta(days=n)
        elif kind is Kind.DATETIME:
            value = datetime(1901, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
        elif kind is Kind.DECIMAL:
            value = Decimal(7_340_000 + n)
        elif kind is Kind.TEXT:
            value = f"rl-marker-{n}"
        else:
            return None
        self.owner[str(value)] = owner
        return value


def _instance(model: type[models.Model], markers: _Markers, owner: str | None, depth: int) -> models.Model:
    instance = model()
    for field in model._meta.concrete_fields:
        name = owner or field.name
        if field.is_relation and field.related_model is not None:
            if depth < 4 and not field.remote_field.parent_link:
                setattr(instance, field.name, _instance(field.related_model, markers, name, depth + 1))
            continue
        value = markers.value(field, name)
        if value is not None:
            setattr(instance, field.attname, value)
    return instance


def natural_key_fields(model: type[models.Model]) -> tuple[str, ...]:
    """The fields ``model.natural_key()`` is made of, in order; a FK field stands for the
    referenced row's whole natural key. ``ProfileExportError`` if it cannot be told."""
    traced = _traced(model)
    if traced is not None:
        return traced
    found = _by_unique_sets(model)
    if found is not None:
        return found
    raise ProfileExportError(
        f"{label(model)}: cannot tell which fields natural_key() returns; give them in settings, "
        f'RESTORE_LEDGER_PROFILE = {{"{label(model)}": {{"natural_key": [...]}}}}'
    )


def _traced(model: type[models.Model]) -> tuple[str, ...] | None:
    markers = _Markers()
    try:
        values = tuple(_instance(model, markers, None, 0).natural_key())
    except Exception:
        return None
    names: list[str] = []
    for value in values:
        owner = markers.owner.get(str(value))
        if owner is None:
            return None
        names.append(owner)
    result: list[str] = []
    position = 0
    while position < len(names):
        name = names[position]
        field = model._meta.get_field(name)
        width = 1
        if field.is_relation and field.related_model is not None:
            width = len(natural_key_fields(field.related_model)) if has_natural_key(field.related_model) else 1
        if names[position : position + width] != [name] * width:
            return None
        result.append(name)
        position += width
    return tuple(result)


def _unique_natural_key(model: type[models.Model]) -> list[str]:
    """The fields of the model's natural key, when they hold one of its unique sets (or a parent's); else none:
    a natural key that is not unique names no one row (django-taggit's ``TaggedItem``: its ``object_id``
    alone), and its rows are restored as rows without a natural key."""
    names = set(natural_key_fields(model))
    owners = [model, *model._meta.get_parent_list()]
    if any(set(unique) <= names for owner in owners for unique in _unique_sets(owner)):
        return list(natural_key_fields(model))
    return []


def _unique_sets(model: type[models.Model]) -> list[tuple[str, ...]]:
    meta = model._meta
    sets = [(f.name,) for f in meta.local_concrete_fields if f.unique and not f.primary_key]
    sets += [tuple(together) for together in meta.unique_together]
    sets += [
        tuple(c.fields)
        for c in meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.fields and c.condition is None
    ]
    return sorted(set(sets), key=lambda names: (len(names), names))


def _by_unique_sets(model: type[models.Model]) -> tuple[str, ...] | None:
    try:
        parameters = inspect.signature(model._default_manager.get_by_natural_key).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters.values()):
        return None
    arity = len(parameters)
    for names in _unique_sets(model):
        width = 0
        for name in names:
            field = model._meta.get_field(name)
            related = field.related_model if field.is_relation else None
            width += len(natural_key_fields(related)) if related is not None and has_natural_key(related) else 1
        if width == arity:
            return names
    return None


# ---- TOML -------------------------------------------------------------------------------------------


def to_toml(profile: dict[str, dict[str, Any]], source: str) -> str:
    """The profile as a profile file: ``[models."app.model"]`` tables, loadable with ``--profile``."""
    header = (
        f"# Restore profile of {source}, exported from its model registry by restore_ledger_profile.\n"
        "# Every key is exact; give it to a restore with --profile, or let a backup package carry it.\n\n"
    )
    return header + tomli_w.dumps({"models": {name: _without_nones(entry) for name, entry in profile.items()}})


def _without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nones(v) for v in value if v is not None]
    return value
