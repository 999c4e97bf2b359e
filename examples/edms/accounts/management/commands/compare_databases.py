"""Compare the ``default`` and ``target`` databases object by object through the ORM.

Objects are serialized with natural keys, so that rows whose pks differ but whose
values and references are the same compare equal. Exits 1 on any difference.
"""

import json
import sys
from typing import Any

from django.apps import apps
from django.core import serializers
from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Model


def related_paths(model: type[Model]) -> list[str]:
    """Foreign keys two levels deep: what the natural keys of referenced rows need, in one query."""
    paths = []
    for field in model._meta.fields:
        if field.many_to_one and field.related_model is not None:
            paths.append(field.name)
            for inner in field.related_model._meta.fields:
                if inner.many_to_one:
                    paths.append(f"{field.name}__{inner.name}")
    return paths


def snapshot(alias: str, exclude: set[str], skip: set[tuple[str, str]]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for model in apps.get_models(include_auto_created=False):
        label = model._meta.label_lower
        if label in exclude:
            continue
        objects = (
            model._default_manager.using(alias)
            .select_related(*related_paths(model))
            .prefetch_related(*(f.name for f in model._meta.many_to_many))
        )
        skipped = {key for skipped_label, key in skip if skipped_label == label}
        if skipped:
            objects = [o for o in objects if "/".join(map(str, o.natural_key())) not in skipped]
        rows = serializers.serialize(
            "python",
            objects,
            use_natural_foreign_keys=True,
            use_natural_primary_keys=True,
        )
        result[label] = {json.dumps(row, sort_keys=True, default=str) for row in rows}
    return result


class Command(BaseCommand):
    help = "Compare the default and target databases; exit 1 when they differ."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--exclude", action="append", default=[], help="a model label to leave out")
        parser.add_argument("--skip", action="append", default=[], help="label=natural/key of one object to leave out")

    def handle(self, *args: Any, **options: Any) -> None:
        skip = {tuple(item.split("=", 1)) for item in options["skip"]}
        source = snapshot("default", set(options["exclude"]), skip)  # type: ignore[arg-type]
        target = snapshot("target", set(options["exclude"]), skip)  # type: ignore[arg-type]
        differences = 0
        for label in sorted(source):
            missing = source[label] - target[label]
            extra = target[label] - source[label]
            for row in sorted(missing)[:5]:
                self.stdout.write(f"missing in target: {row}")
            for row in sorted(extra)[:5]:
                self.stdout.write(f"extra in target: {row}")
            differences += len(missing) + len(extra)
        total = sum(len(rows) for rows in source.values())
        self.stdout.write(f"compared {total} objects, {differences} differences")
        sys.exit(1 if differences else 0)
