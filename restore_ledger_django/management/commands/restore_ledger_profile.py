"""``manage.py restore_ledger_profile``: print the project's exact restore profile as TOML."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from restore_ledger_django.profile import ProfileExportError, export_profile, to_toml


class Command(BaseCommand):
    help = (
        "Print the exact restore profile of this project (tables, keys, natural keys as natural_key() "
        "defines them, defaults, generic relations, proxies, inheritance) as TOML. "
        "Example: manage.py restore_ledger_profile > profile.toml"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            profile = export_profile()
        except ProfileExportError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(to_toml(profile, "this Django project"), ending="")
