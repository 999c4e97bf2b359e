"""Load a fixture with ``loaddata`` into ``default`` (the oracle), then compare it with ``other`` (the restore).

Prints one JSON object:

- ``loaddata``: null when Django loaded the fixture, else Django's error message (then ``default`` is as it
  was: ``loaddata`` is atomic);
- ``raw``: per table, the rows (every column, in the backend's storage form) found only in one database;
  pks must be equal, except those of auto-created M2M tables, which no fixture holds;
- ``natural``: per model label, objects found only in one database, compared by natural identity: pks of
  models with a natural key and references are replaced by natural keys, generic foreign keys by the
  natural key of the object they point at, and every other column is its storage form;
- ``sequences``: tables of ``other`` whose next generated pk is taken already (PostgreSQL).
"""

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django.db.models import Model

SHOWN = 6


def storage(value: Any) -> str:
    """The value as the backend stores it, as text: equal text, equal storage."""
    if isinstance(value, memoryview):
        value = bytes(value)
    return repr(value)


@contextmanager
def raw_cursor(alias: str) -> Iterator[Any]:
    """A cursor that returns what the backend stores: on SQLite without Django's type converters."""
    connection = connections[alias]
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            yield cursor
        return
    plain = sqlite3.connect(connection.settings_dict["NAME"])
    try:
        yield plain.cursor()
    finally:
        plain.close()


def unkept_pks() -> dict[str, str]:
    """Tables whose pks no fixture holds, so Django numbers them as it inserts: auto-created M2M tables."""
    tables = {}
    for model in apps.get_models():
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through._meta
            if through.auto_created:
                tables[through.db_table] = through.pk.column
    return tables


def table_rows(alias: str) -> dict[str, Counter[str]]:
    """Every row of every table, in storage form; pks of auto-created M2M tables left out."""
    connection = connections[alias]
    tables = sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))
    unkept = unkept_pks()
    result = {}
    with raw_cursor(alias) as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            rows = (dict(zip(columns, map(storage, row), strict=True)) for row in cursor.fetchall())
            result[table] = Counter(
                json.dumps({k: v for k, v in row.items() if k != unkept.get(table)}, sort_keys=True) for row in rows
            )
    return result


def identity(obj: Model | None) -> Any:
    if obj is None:
        return None
    key = obj.natural_key() if hasattr(obj, "natural_key") else obj.pk
    return [obj._meta.label_lower, list(key) if isinstance(key, tuple | list) else storage(key)]


def storage_columns(model: type[Model], alias: str) -> dict[tuple[Any, ...], dict[str, str]]:
    """The non-relational columns of each row, in storage form, by pk."""
    connection = connections[alias]
    meta = model._meta
    pk_columns = [f.column for f in meta.pk_fields]
    fields = [f for f in meta.local_concrete_fields if not f.is_relation and f.column not in pk_columns]
    names = ", ".join(connection.ops.quote_name(c) for c in [*pk_columns, *(f.column for f in fields)])
    with raw_cursor(alias) as cursor:
        cursor.execute(f"SELECT {names} FROM {connection.ops.quote_name(meta.db_table)}")
        rows = cursor.fetchall()
    width = len(pk_columns)
    return {tuple(row[:width]): {f.name: storage(v) for f, v in zip(fields, row[width:], strict=True)} for row in rows}


def natural_objects(alias: str) -> dict[str, Counter[str]]:
    result: dict[str, Counter[str]] = {}
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy:
            continue
        objects = list(model._default_manager.using(alias).order_by())
        raw = storage_columns(model, alias)
        gfks = [f for f in meta.private_fields if isinstance(f, GenericForeignKey)]
        rows = serializers.serialize("python", objects, use_natural_foreign_keys=True, use_natural_primary_keys=True)
        counted: Counter[str] = Counter()
        for obj, row in zip(objects, rows, strict=True):
            fields = row["fields"]
            pk = tuple(obj.pk) if meta.is_composite_pk else (obj.pk,)
            fields.update(raw[pk])
            for field in meta.many_to_many:
                if field.name in fields:  # a taggit manager is no serialized field
                    fields[field.name] = sorted(map(json.dumps, fields[field.name]))
            for gfk in gfks:
                fields[gfk.fk_field] = identity(getattr(obj, gfk.name))
            if "pk" in row:
                row["pk"] = storage(row["pk"])
            else:  # the natural key names the row, also where its fields do not (a multi-table child's)
                row["natural_key"] = list(obj.natural_key())
            counted[json.dumps(row, sort_keys=True, default=storage)] += 1
        result[meta.label_lower] = counted
    return result


def differences(oracle: dict[str, Counter[str]], restored: dict[str, Counter[str]]) -> dict[str, Any]:
    found = {}
    for name in sorted(set(oracle) | set(restored)):
        missing = oracle.get(name, Counter()) - restored.get(name, Counter())
        extra = restored.get(name, Counter()) - oracle.get(name, Counter())
        if missing or extra:
            found[name] = {
                "missing": sorted(missing.elements())[:SHOWN],
                "extra": sorted(extra.elements())[:SHOWN],
                "counts": [missing.total(), extra.total()],
            }
    return found


def sequences_behind(alias: str) -> list[str]:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return []
    behind = []
    with connection.cursor() as cursor:
        for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
            for sequence in connection.introspection.get_sequences(cursor, table):
                column = connection.ops.quote_name(sequence["column"])
                cursor.execute(f"SELECT MAX({column}) FROM {connection.ops.quote_name(table)}")
                (maximum,) = cursor.fetchone()
                cursor.execute(f"SELECT last_value, is_called FROM {connection.ops.quote_name(sequence['name'])}")
                position, called = cursor.fetchone()
                following = position + 1 if called else position
                if maximum is not None and following <= maximum:
                    behind.append(f"{table}.{sequence['column']}: next {following}, max {maximum}")
    return behind


class Command(BaseCommand):
    help = "loaddata FIXTURE into default, then compare default with other; print the differences as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("fixture", nargs="?", help="none: compare only")

    def handle(self, *args: Any, **options: Any) -> None:
        refused = None
        if options["fixture"]:
            try:
                call_command("loaddata", options["fixture"], verbosity=0)
            except Exception as error:
                refused = f"{type(error).__name__}: {error}"
        report = {
            "loaddata": refused,
            "raw": differences(table_rows("default"), table_rows("other")),
            "natural": differences(natural_objects("default"), natural_objects("other")),
            "sequences": sequences_behind("other"),
        }
        self.stdout.write(json.dumps(report, indent=1, sort_keys=True))
