"""Write the rows of a freshly migrated and seeded EDMS as JSON, for build_target.py --reinitialised.

    EDMS_DB=/tmp/seed.sqlite3 manage.py migrate && manage.py seed_system --reinit \\
        && manage.py export_seed schema/seed.json

Values are written as the ORM reads them (UUIDs, ISO datetimes), table by table in
creation order, so that a target can be seeded without Django on either backend.
"""

import json
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.core.serializers.json import DjangoJSONEncoder


class Command(BaseCommand):
    help = "Export every non-empty table of the seeded database as JSON rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output")

    def handle(self, *args: Any, **options: Any) -> None:
        tables = []
        for model in apps.get_models(include_auto_created=True):
            fields = [f for f in model._meta.concrete_fields]
            rows = [[getattr(obj, f.attname) for f in fields] for obj in model._default_manager.order_by("pk")]
            if rows:
                columns = [{"name": f.column, "type": f.get_internal_type()} for f in fields]
                tables.append({"table": model._meta.db_table, "columns": columns, "rows": rows})
        Path(options["output"]).write_text(json.dumps(tables, cls=DjangoJSONEncoder, indent=1) + "\n")
