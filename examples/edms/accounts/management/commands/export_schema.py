"""Print the schema of the migrated SQLite database as SQL, without any data.

Used to produce ``schema/sqlite.sql``, so that building an example target needs
no Django: ``EDMS_DB=/tmp/s.sqlite3 manage.py migrate && manage.py export_schema``.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = "Print the CREATE statements of the migrated database (SQLite)."

    def handle(self, *args: Any, **options: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%' ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid"
            )
            for (sql,) in cursor.fetchall():
                self.stdout.write(f"{sql};")
