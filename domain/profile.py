"""The restore profile: for each model label, where and how its rows are written."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
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
    ARRAY = "array"  # PostgreSQL's array (Django's ArrayField): ``item`` is its items' kind
    IP_ADDRESS = "ipaddress"  # Django's GenericIPAddressField: text, IPv6 in its compressed lower-case form


# the kinds an array's items may have: those whose logical form PostgreSQL reads as it is
ARRAY_ITEMS = frozenset(
    {
        Kind.INTEGER,
        Kind.FLOAT,
        Kind.DECIMAL,
        Kind.BOOLEAN,
        Kind.TEXT,
        Kind.UUID,
        Kind.DATETIME,
        Kind.DATE,
        Kind.TIME,
        Kind.IP_ADDRESS,
    }
)


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the target; for an array, ``item`` is its items' kind, ``max_length`` theirs, and
    ``dimensions`` how deeply its lists nest (``integer[][]``: 2)."""

    name: str
    kind: Kind
    nullable: bool
    max_length: int | None = None
    item: Kind | None = None
    dimensions: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.kind is not Kind.ARRAY:  # the form profiles had before arrays
            del data["item"], data["dimensions"]
        return data


@dataclass(frozen=True, slots=True)
class ForeignKey:
    field: str
    column: str
    model: str
    nullable: bool
    to_field: str = ""  # Django's ``to_field``: the column holds this unique field of the row, not its pk


@dataclass(frozen=True, slots=True)
class ManyToMany:
    field: str
    table: str
    source_column: str
    target_column: str
    model: str
    # a self relation that holds each link in both directions (Django's ``symmetrical``): True or False where
    # known (a package's profile, a profile file, the links seen), None where nothing tells (links as given)
    symmetrical: bool | None = None


def is_symmetrical(model: ModelProfile, m2m: ManyToMany) -> bool:
    """Whether the restore writes each link of ``m2m`` in both directions, as Django does."""
    return m2m.symmetrical is True and m2m.model in (model.label, model.alias_of)


@dataclass(frozen=True, slots=True)
class GenericForeignKey:
    """Django's ``GenericForeignKey``: a content type FK field and an object id field naming any row."""

    field: str
    ct_field: str
    id_field: str


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
    soft_uuids: tuple[str, ...] = ()  # non-unique UUID fields: they may hold other rows' UUIDs
    generic_foreign_keys: dict[str, GenericForeignKey] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # column defaults, for fields a record leaves out
    parent: str = ""  # multi-table inheritance: the pk is a one-to-one FK to this model's pk (``*_ptr_id``)
    on_conflict: str = ""  # "keep-existing" or "update" for this model, whatever the restore's option
    alias_of: str = ""  # a proxy model (or a custom db_table named in a profile file): the table's own label
    # Django 5.2 ``CompositePrimaryKey``: the fields (plain or foreign keys) whose columns are the pk, in order;
    # ``pk`` is then no column of its own (``COMPOSITE_PK``) and a row's pk is the tuple of those fields' values
    composite: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pk"] = self.pk.to_dict()
        data["fields"] = {name: column.to_dict() for name, column in self.fields.items()}
        if not self.composite:  # left out: the profiles (and digests) of single-column pks are as they were
            del data["composite"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelProfile:
        model = cls._from_dict(data)
        unknown = [n for n in model.composite if n not in model.fields and n not in model.foreign_keys]
        if unknown or len(model.composite) == 1:
            raise ValueError(f"composite must name two or more fields of the model, not {list(model.composite)!r}")
        return model

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> ModelProfile:
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
            soft_uuids=tuple(data.get("soft_uuids", ())),
            generic_foreign_keys={
                name: GenericForeignKey(**gfk) for name, gfk in data.get("generic_foreign_keys", {}).items()
            },
            defaults=dict(data.get("defaults", {})),
            parent=str(data.get("parent", "")),
            on_conflict=_choice(data, "on_conflict", ("", "keep-existing", "update")),
            alias_of=str(data.get("alias_of", "")),
            composite=tuple(data.get("composite", ())),
        )


COMPOSITE_PK = Column("pk", Kind.JSON, False)  # the pk of a model whose pk is several columns


def key_columns(model: ModelProfile) -> list[str]:
    """The columns of the model's pk: one, or those of a composite pk's fields in order."""
    if not model.composite:
        return [model.pk.name]
    return [model.foreign_keys[n].column if n in model.foreign_keys else model.fields[n].name for n in model.composite]


def own_key(model: ModelProfile) -> tuple[str, ...]:
    """The natural key the model's own table holds: none for a multi-table child, whose natural key (its
    parent's fields) names the parent row, which the child follows."""
    return () if model.parent else model.natural_key


def parent_link(model: ModelProfile) -> str:
    """The field of a multi-table child that points at its parent row (``product_ptr`` for the pk column
    ``product_ptr_id``): dumpdata writes it with natural primary keys, a natural key or the parent's pk."""
    name = model.pk.name
    return name[:-3] if model.parent and name.endswith("_id") else ""


def _choice(data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = data.get(key, allowed[0])
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _column(data: dict[str, Any]) -> Column:
    kind = Kind(data["kind"])
    item = Kind(data["item"]) if kind is Kind.ARRAY else None
    return Column(
        name=data["name"],
        kind=kind,
        nullable=bool(data["nullable"]),
        max_length=data.get("max_length"),
        item=item,
        dimensions=int(data.get("dimensions", 1)) if item is not None else 0,
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """``models`` by label. ``known_labels``: every model label the target's ``django_content_type`` names
    (proxies and models with a custom ``db_table`` too); not part of the recorded profile."""

    models: dict[str, ModelProfile]
    known_labels: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {label: model.to_dict() for label, model in sorted(self.models.items())}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls({label: ModelProfile.from_dict(model) for label, model in data.items()})

    def digest(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def relabel(profile: Profile, old: str, new: str) -> None:
    """Give the model ``old`` the label ``new``, and every reference to it too (in place)."""
    model = profile.models.pop(old)
    profile.models[new] = replace(model, label=new)
    for label, other in list(profile.models.items()):
        fks = {n: replace(fk, model=new) if fk.model == old else fk for n, fk in other.foreign_keys.items()}
        m2m = {n: replace(m, model=new) if m.model == old else m for n, m in other.many_to_many.items()}
        if fks != other.foreign_keys or m2m != other.many_to_many:
            profile.models[label] = replace(other, foreign_keys=fks, many_to_many=m2m)
