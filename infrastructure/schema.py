"""Inferring the restore profile from the target schema, with Django's conventions.

Table ``<app_label>_<model>``, FK column ``<field>_id``, M2M through table
``<app_label>_<model>_<field>``, natural key = the model's unique constraint (FK
columns in it stand for the referenced row's natural key). Django's own contrib
models have their natural keys built in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.profile import (
    COMPOSITE_PK,
    CREATE,
    MAP,
    RESTORE,
    Column,
    ForeignKey,
    GenericForeignKey,
    Kind,
    ManyToMany,
    ModelProfile,
    Profile,
)
from infrastructure.target import OWN_TABLES

CONTRIB_TABLES = {
    "django_content_type": "contenttypes.contenttype",
    "auth_permission": "auth.permission",
    "auth_group": "auth.group",
    "auth_user": "auth.user",
    "django_site": "sites.site",
    "django_admin_log": "admin.logentry",
    "django_session": "sessions.session",
    "django_migrations": "migrations.migration",
}
CONTRIB_NATURAL_KEYS = {
    "contenttypes.contenttype": ("app_label", "model"),
    "auth.permission": ("codename", "content_type"),
    "auth.group": ("name",),
    "auth.user": ("username",),
    "sites.site": ("domain",),
}
# Rows every migrated Django database has already: the backup's are mapped onto them.
CONTRIB_MAPPED = {"contenttypes.contenttype", "auth.permission"}
DJANGO_USER_COLUMNS = {"password", "is_active", "is_staff", "is_superuser"}
USER_CREATE_VALUES = {"is_active": False, "is_staff": False, "is_superuser": False, "password": "!"}
# Python-side model defaults of Django's own models, which no schema holds: applied only to the contrib table
# whose columns are exactly the model's (a swapped or changed user model is left to a profile)
CONTRIB_DEFAULTS = {
    "auth.user": (
        frozenset({"id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
                   "is_staff", "is_active", "date_joined"}),
        {"is_superuser": False, "is_staff": False, "is_active": True, "first_name": "", "last_name": "", "email": "",
         "last_login": None},
    ),
}  # fmt: skip
SKIPPED_TABLES = OWN_TABLES | {"sqlite_sequence", "django_migrations"}


def _kind(column: dict[str, Any], json_columns: set[str], dialect: str) -> Kind:
    type_ = column["type"]
    name = type(type_).__name__.upper()
    declared = str(type_).lower() if not isinstance(type_, sa.types.NullType) else ""
    if column["name"] in json_columns or name in ("JSON", "JSONB"):
        return Kind.JSON
    if isinstance(type_, sa.ARRAY):
        return Kind.ARRAY
    if name == "UUID" or (dialect == "sqlite" and declared == "char(32)"):
        return Kind.UUID
    if name == "INET" or (dialect == "sqlite" and declared == "char(39)"):
        return Kind.IP_ADDRESS  # Django's GenericIPAddressField: inet, or char(39) where no type holds addresses
    if name in ("INTERVAL",):
        return Kind.DURATION
    if isinstance(type_, sa.types.Boolean):
        return Kind.BOOLEAN
    if isinstance(type_, sa.types.DateTime) or name in ("TIMESTAMP", "DATETIME"):
        return Kind.DATETIME
    if isinstance(type_, sa.types.Date):
        return Kind.DATE
    if isinstance(type_, sa.types.Time):
        return Kind.TIME
    if isinstance(type_, sa.types.Integer):
        return Kind.INTEGER
    if isinstance(type_, sa.types.Float) or name in ("REAL", "DOUBLE_PRECISION", "DOUBLE"):
        return Kind.FLOAT
    if isinstance(type_, sa.types.Numeric):
        return Kind.DECIMAL
    if isinstance(type_, sa.types.LargeBinary) or name in ("BLOB", "BYTEA"):
        return Kind.BINARY
    return Kind.TEXT


def _json_columns(conn: Connection, table: str, dialect: str) -> set[str]:
    """SQLite has no JSON type: Django marks a JSONField with CHECK (JSON_VALID(col))."""
    if dialect != "sqlite":
        return set()
    found = set()
    for check in sa.inspect(conn).get_check_constraints(table):
        text = check["sqltext"]
        if "JSON_VALID(" in text.upper():
            inner = text[text.upper().index("JSON_VALID(") + len("JSON_VALID(") :]
            found.add(inner.split(")")[0].strip('"` '))
    return found


def _array_dimensions(conn: Connection, table: str, dialect: str) -> dict[str, int]:
    """How deeply each array column of a PostgreSQL table nests, as declared (``integer[][]``: 2)."""
    if dialect != "postgresql":
        return {}
    rows = conn.exec_driver_sql(
        "SELECT attname, attndims FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND attndims > 0",
        (_q(conn, table),),
    )
    return {name: int(dimensions) for name, dimensions in rows}


def _column(column: dict[str, Any], data: dict[str, Any], dialect: str) -> Column:
    """A plain column: its kind, nullability, length; an array's items' kind and its dimensions."""
    kind = _kind(column, data["json"], dialect)
    type_ = column["type"]
    if kind is Kind.ARRAY:
        item = _kind({"name": "", "type": type_.item_type}, set(), dialect)
        length = getattr(type_.item_type, "length", None) if item is Kind.TEXT else None
        dimensions = data["dimensions"].get(column["name"], 1)
        return Column(column["name"], kind, bool(column["nullable"]), length, item, dimensions)
    length = getattr(type_, "length", None) if kind is Kind.TEXT else None
    return Column(column["name"], kind, bool(column["nullable"]), length)


def unique_sets(conn: Connection, table: str, dialect: str) -> list[tuple[str, ...]]:
    """Every unique column set of a table but its primary key, in a stable order."""
    sets: list[tuple[str, ...]] = []
    if dialect == "sqlite":
        for index in conn.exec_driver_sql(f"PRAGMA index_list({_q(conn, table)})").fetchall():
            name, unique, origin = index[1], index[2], index[3]
            if unique and origin != "pk":
                info = conn.exec_driver_sql(f"PRAGMA index_info({_q(conn, name)})").fetchall()
                sets.append(tuple(row[2] for row in sorted(info)))
    else:
        inspector = sa.inspect(conn)
        sets += [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        sets += [
            tuple(c for c in i["column_names"] if c)
            for i in inspector.get_indexes(table)
            if i["unique"] and all(i["column_names"])
        ]
    unique = sorted(set(sets), key=lambda cols: (len(cols), cols))
    return unique


def _q(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def label_for(table: str, hints: Iterable[str] = ()) -> str:
    """The model label of a table: contrib, a hinted label whose table it is, else split at ``_``."""
    if table in CONTRIB_TABLES:
        return CONTRIB_TABLES[table]
    for hint in hints:
        if hint.replace(".", "_") == table:
            return hint
    app, _, model = table.partition("_")
    return f"{app}.{model}" if model else table


def infer_profile(engine: Engine, hints: Iterable[str] = ()) -> Profile:
    """The profile of every table of the target, by reflection."""
    hints = list(hints)
    dialect = engine.dialect.name
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables = [t for t in inspector.get_table_names() if t not in SKIPPED_TABLES]
        reflected: dict[str, dict[str, Any]] = {
            table: {
                "columns": inspector.get_columns(table),
                "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                "fks": inspector.get_foreign_keys(table),
                "unique": unique_sets(conn, table, dialect),
                "json": _json_columns(conn, table, dialect),
                "dimensions": _array_dimensions(conn, table, dialect),
            }
            for table in tables
        }
        if "django_content_type" in tables:  # the target says which labels exist
            hints += [f"{app}.{model}" for app, model in conn.exec_driver_sql(
                "SELECT app_label, model FROM django_content_type"
            )]  # fmt: skip
    labels = {table: label_for(table, hints) for table in tables}
    through = {table: _through(table, data, reflected) for table, data in reflected.items()}
    models: dict[str, ModelProfile] = {}
    for table, data in reflected.items():
        if through[table] is not None or not data["pk"]:
            continue
        models[labels[table]] = _model(labels[table], table, data, labels, dialect, reflected)
    _drop_keys_through_models_without_one(models)
    for table, found in through.items():
        if found is None:
            continue
        source_table, field, source_column, target_column, target_table = found
        source = models.get(labels[source_table])
        if source is None or target_table not in labels:
            continue
        source.many_to_many[field] = ManyToMany(field, table, source_column, target_column, labels[target_table])
    return Profile(models, frozenset(hints))


def _through(
    table: str, data: dict[str, Any], reflected: dict[str, dict[str, Any]]
) -> tuple[str, str, str, str, str] | None:
    """An auto-created M2M table: ``id`` and two FKs, named ``<source table>_<field>``."""
    columns = [c["name"] for c in data["columns"]]
    fks = [fk for fk in data["fks"] if len(fk["constrained_columns"]) == 1]
    if len(columns) != 3 or len(fks) != 2 or data["pk"] != ["id"]:
        return None
    for source, other in (fks, fks[::-1]):
        source_table = source["referred_table"]
        if table.startswith(source_table + "_") and source_table in reflected:
            field = table[len(source_table) + 1 :]
            source_column = source["constrained_columns"][0]
            target_column = other["constrained_columns"][0]
            if source_table == other["referred_table"]:  # self-referencing: from_x_id, to_x_id
                source_column, target_column = sorted(
                    (source_column, target_column), key=lambda c: not c.startswith("from_")
                )
            return source_table, field, source_column, target_column, other["referred_table"]
    return None


def _model(
    label: str, table: str, data: dict[str, Any], labels: dict[str, str], dialect: str, reflected: dict[str, Any]
) -> ModelProfile:
    pk_name = data["pk"][0] if len(data["pk"]) == 1 else ""  # else a composite pk: its columns are fields
    fk_by_column = {
        fk["constrained_columns"][0]: fk["referred_table"]
        for fk in data["fks"]
        if len(fk["constrained_columns"]) == 1 and fk["referred_table"] in labels
    }
    to_fields = {
        fk["constrained_columns"][0]: fk["referred_columns"][0]
        for fk in data["fks"]
        if len(fk["constrained_columns"]) == 1
        and fk["referred_table"] in reflected
        and fk["referred_columns"] != reflected[fk["referred_table"]]["pk"]
    }
    fk_by_column |= _unconstrained(data, labels, set(fk_by_column), pk_name)
    fields: dict[str, Column] = {}
    foreign_keys: dict[str, ForeignKey] = {}
    pk = Column(pk_name, Kind.INTEGER, False) if pk_name else COMPOSITE_PK
    extra_parent = ""
    field_of_column: dict[str, str] = {}
    for column in data["columns"]:
        name = column["name"]
        kind = _kind(column, data["json"], dialect)
        if name == pk_name:
            pk = Column(name, kind, False)
            field_of_column[name] = name
            if name in fk_by_column:  # multi-table inheritance: the parent's pk is the child's
                extra_parent = labels[fk_by_column[name]]
        elif name in fk_by_column:
            field = name[:-3] if name.endswith("_id") else name
            foreign_keys[field] = ForeignKey(
                field, name, labels[fk_by_column[name]], bool(column["nullable"]), to_fields.get(name, "")
            )
            field_of_column[name] = field
        else:
            fields[name] = _column(column, data, dialect)
            field_of_column[name] = name
    unique_columns = {columns[0] for columns in data["unique"] if len(columns) == 1}
    # identity UUIDs are unique; any other UUID column may hold other rows' UUIDs (a soft reference)
    uuid_fields = tuple(n for n, c in fields.items() if c.kind is Kind.UUID and c.name in unique_columns)
    soft_uuids = tuple(n for n, c in fields.items() if c.kind is Kind.UUID and c.name not in unique_columns)
    natural_key = (
        ()
        if not pk_name
        # a composite pk is the row's identity
        else (
            CONTRIB_NATURAL_KEYS.get(label)
            or _natural_key(
                data["unique"], fields, field_of_column, {c["name"] for c in data["columns"] if c["nullable"]}
            )
            or uuid_fields[:1]
        )
    )
    policy = MAP if label in CONTRIB_MAPPED else RESTORE
    extra: dict[str, Any] = {
        "soft_uuids": soft_uuids,
        "generic_foreign_keys": _generic_foreign_keys(foreign_keys, fields),
        "defaults": {n: d for n, c in fields.items() if (d := _default(data["columns"], c)) is not _NO_DEFAULT}
        | _contrib_defaults(label, {c["name"] for c in data["columns"]}),
        "parent": extra_parent,
        "composite": () if pk_name else tuple(field_of_column[c] for c in data["pk"]),
    }
    if fields.keys() >= DJANGO_USER_COLUMNS and natural_key:
        # a Django user model: a user referenced but missing is created inactive, never staff
        return ModelProfile(
            label,
            table,
            pk,
            natural_key,
            uuid_fields,
            fields,
            foreign_keys,
            {},
            policy,
            False,
            CREATE,
            dict(USER_CREATE_VALUES),
            **extra,
        )
    return ModelProfile(label, table, pk, natural_key, uuid_fields, fields, foreign_keys, {}, policy, **extra)


_NO_DEFAULT = object()


def _contrib_defaults(label: str, columns: set[str]) -> dict[str, Any]:
    known = CONTRIB_DEFAULTS.get(label)
    return dict(known[1]) if known is not None and columns == known[0] else {}


def _drop_keys_through_models_without_one(models: dict[str, ModelProfile]) -> None:
    """A unique set whose FK part points at a model without a natural key names no row by natural
    key (Django would not give it one): such a model is known by its pk."""
    changed = True
    while changed:
        changed = False
        for label, model in list(models.items()):
            if label in CONTRIB_NATURAL_KEYS or not model.natural_key:
                continue
            parts = [model.foreign_keys[name].model for name in model.natural_key if name in model.foreign_keys]
            if any(part in models and not models[part].natural_key for part in parts):
                models[label] = replace(model, natural_key=())
                changed = True


def _unconstrained(data: dict[str, Any], labels: dict[str, str], constrained: set[str], pk: str) -> dict[str, str]:
    """Foreign keys declared with ``db_constraint=False``: a ``<field>_id`` column without a constraint
    whose field names exactly one model (``page_id`` -> the one model named ``page``)."""
    by_model: dict[str, list[str]] = {}
    for table, label in labels.items():
        by_model.setdefault(label.rpartition(".")[2], []).append(table)
    found = {}
    for column in data["columns"]:
        name = column["name"]
        if name in constrained or name == pk or not name.endswith("_id") or name == "object_id":
            continue
        if not isinstance(column["type"], sa.types.Integer | sa.types.String | sa.types.NullType | sa.Uuid):
            continue
        tables = by_model.get(name[:-3].replace("_", ""), [])
        if len(tables) == 1:
            found[name] = tables[0]
    return found


_GFK_NAMES = (("content_type", ("object_id", "object_pk")), ("_content_type", ("_object_id", "_object_pk")))


def _generic_foreign_keys(foreign_keys: dict[str, ForeignKey], fields: dict[str, Column]) -> dict[str, Any]:
    """Django's ``GenericForeignKey`` convention: an FK ``<p>content_type`` to the content types and an
    id field ``<p>object_id`` (or ``object_pk``) beside it."""
    found: dict[str, GenericForeignKey] = {}
    for name, fk in foreign_keys.items():
        if fk.model != "contenttypes.contenttype":
            continue
        for suffix, id_suffixes in _GFK_NAMES:
            if name == suffix.lstrip("_") or name.endswith(suffix):
                prefix = name[: -len(suffix.lstrip("_"))] if name != suffix.lstrip("_") else ""
                for id_suffix in id_suffixes:
                    id_field = prefix + id_suffix.lstrip("_") if prefix else id_suffix.lstrip("_")
                    if id_field in fields:
                        gfk_name = prefix.rstrip("_") or "content_object"
                        found[gfk_name] = GenericForeignKey(gfk_name, name, id_field)
                        break
                break
    return found


def _default(columns: list[dict[str, Any]], column: Column) -> Any:
    """A column's default as the schema declares it, when it is a plain literal; else no default."""
    [reflected] = [c for c in columns if c["name"] == column.name]
    text = reflected.get("default")
    if text is None:  # NULL for a nullable column; a NOT NULL one has its model's default, which only its code knows
        return None if column.nullable else _NO_DEFAULT
    text = str(text).strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if "::" in text:
        text = text.split("::", 1)[0]
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        value: Any = text[1:-1].replace("''", "'")
        if column.kind is Kind.JSON:
            try:
                return json.loads(value)
            except ValueError:
                return _NO_DEFAULT
        return value
    lowered = text.lower()
    if lowered in ("true", "false") and column.kind is Kind.BOOLEAN:
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        number = int(text)
    except ValueError:
        return _NO_DEFAULT
    return bool(number) if column.kind is Kind.BOOLEAN else number


def _natural_key(
    unique_sets: list[tuple[str, ...]], fields: dict[str, Column], field_of_column: dict[str, str], nullable: set[str]
) -> tuple[str, ...]:
    """The smallest unique column set that is not made of UUIDs alone (a UUID is no natural key) and has no
    nullable column (many rows may hold NULL there: a nullable one-to-one names no row)."""
    for columns in unique_sets:
        if all(c in fields and fields[c].kind is Kind.UUID for c in columns) or nullable & set(columns):
            continue
        if all(c in field_of_column for c in columns):
            return tuple(field_of_column[c] for c in columns)
    return ()
