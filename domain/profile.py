"""The restore profile: for each model label, where and how its rows are written."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """The logical kind of a column, independent of the backend's storage form."""

    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    TEXT = "text"
    UUID = "uuid"
    DATETIME = "datetime"
    DATE = "date"
    TIME = "time"
    DURATION = "duration"
    JSON = "json"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    nullable: bool
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class ForeignKey:
    field: str
    column: str
    model: str
    nullable: bool
    to_field: str | None = None  # the referenced model's unique field, when it is not the pk


@dataclass(frozen=True, slots=True)
class GenericForeignKey:
    """Django's ``GenericForeignKey``: a content type and an object id naming another row."""

    field: str
    content_type: str
    object_id: str


@dataclass(frozen=True, slots=True)
class ManyToMany:
    field: str
    table: str
    source_column: str
    target_column: str
    model: str


RESTORE = "restore"  # a backup row whose natural key exists in the target is a conflict
MAP = "map"  # ... is mapped onto the existing row, which keeps its identity and values
FAIL = "fail"  # a reference to a row found neither in the backup nor in the target fails
CREATE = "create"  # ... creates the row from its natural key and create_values


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """How one model label maps onto the target.

    ``fields`` maps each plain field name to its column; ``natural_key`` lists field
    names, where a foreign key field stands for the referenced row's natural key.
    ``policy``, ``seeded``, ``missing`` and ``create_values`` say how rows that exist
    already, or are referenced but missing, are decided.
    """

    label: str
    table: str
    pk: Column
    natural_key: tuple[str, ...] = ()
    uuid_fields: tuple[str, ...] = ()
    fields: dict[str, Column] = field(default_factory=dict)
    foreign_keys: dict[str, ForeignKey] = field(default_factory=dict)
    many_to_many: dict[str, ManyToMany] = field(default_factory=dict)
    policy: str = RESTORE
    seeded: bool = False
    missing: str = FAIL
    create_values: dict[str, Any] = field(default_factory=dict)
    secret_fields: tuple[str, ...] = ()  # shown redacted in reviews and reports (``password`` always is)
    # Known only to the live Django project (``manage.py restore_ledger_profile``):
    defaults: dict[str, Any] = field(default_factory=dict)  # field name -> the model field's default
    generic_foreign_keys: dict[str, GenericForeignKey] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)  # multi-table inheritance: parent label -> ptr field
    proxy_for: str = ""  # a proxy model: the label of its concrete model

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelProfile:
        return cls(
            label=data["label"],
            table=data["table"],
            pk=_column(data["pk"]),
            natural_key=tuple(data.get("natural_key", ())),
            uuid_fields=tuple(data.get("uuid_fields", ())),
            fields={name: _column(col) for name, col in data.get("fields", {}).items()},
            foreign_keys={name: ForeignKey(**fk) for name, fk in data.get("foreign_keys", {}).items()},
            many_to_many={name: ManyToMany(**m2m) for name, m2m in data.get("many_to_many", {}).items()},
            policy=_choice(data, "policy", (RESTORE, MAP)),
            seeded=bool(data.get("seeded", False)),
            missing=_choice(data, "missing", (FAIL, CREATE)),
            create_values=dict(data.get("create_values", {})),
            secret_fields=tuple(data.get("secret_fields", ())),
            defaults=dict(data.get("defaults", {})),
            generic_foreign_keys={
                name: GenericForeignKey(**{"field": name, **gfk})
                for name, gfk in data.get("generic_foreign_keys", {}).items()
            },
            parents=dict(data.get("parents", {})),
            proxy_for=str(data.get("proxy_for", "")),
        )


def _choice(data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = data.get(key, allowed[0])
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _column(data: dict[str, Any]) -> Column:
    return Column(
        name=data["name"],
        kind=Kind(data["kind"]),
        nullable=bool(data["nullable"]),
        max_length=data.get("max_length"),
    )


@dataclass(frozen=True, slots=True)
class Profile:
    models: dict[str, ModelProfile]

    def to_dict(self) -> dict[str, Any]:
        return {label: model.to_dict() for label, model in sorted(self.models.items())}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls({label: ModelProfile.from_dict(model) for label, model in data.items()})

    def digest(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
