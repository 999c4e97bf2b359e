"""``manage.py restore_ledger_backup -o PATH``: a verified, optionally signed backup package."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infrastructure.signing import KeyFileError
from restore_ledger_django.package import FORMATS, BackupOptions, PackageError, write_package
from restore_ledger_django.profile import ProfileExportError


class Command(BaseCommand):
    help = (
        "Write a backup package of this project: a streamed dumpdata fixture with natural keys, the media "
        "files its FileFields reference, the exact restore profile and a manifest (sha256 and size of every "
        "file, source system, time), optionally signed with an Ed25519 key. Progress on stderr. "
        "Example: manage.py restore_ledger_backup -o /backups/edms-2026-12-01.zip --format zip "
        "--sign-key /etc/edms/backup-key.pem"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", required=True, help="the package to write (a new path)")
        parser.add_argument("--format", default="dir", choices=FORMATS, help="a directory, a .zip or a .tar.gz")
        parser.add_argument("--media", action="store_true", default=True, help="copy referenced media (default)")
        parser.add_argument("--no-media", dest="media", action="store_false", help="leave media files out")
        parser.add_argument(
            "-e",
            "--exclude",
            action="append",
            default=[],
            metavar="LABEL",
            help="an app label or app.Model to leave out",
        )
        parser.add_argument(
            "--no-natural-foreign",
            dest="natural_foreign",
            action="store_false",
            default=True,
            help="write references as pks (default: natural keys, --natural-foreign)",
        )
        parser.add_argument(
            "--no-natural-primary",
            dest="natural_primary",
            action="store_false",
            default=True,
            help="write every pk (default: left out where a natural key exists, --natural-primary)",
        )
        parser.add_argument("--sign-key", help="PEM PKCS#8 Ed25519 private key to sign the manifest with")
        parser.add_argument("--signer", default="", help="who signs, recorded in the manifest and the ledger")
        parser.add_argument("--database", default="default", help="the database alias to back up")

    def handle(self, *args: Any, **options: Any) -> None:
        request = BackupOptions(
            output=Path(options["output"]),
            format=options["format"],
            media=options["media"],
            exclude=options["exclude"],
            natural_foreign=options["natural_foreign"],
            natural_primary=options["natural_primary"],
            sign_key=Path(options["sign_key"]) if options["sign_key"] else None,
            signer=options["signer"],
            database=options["database"],
        )
        verbose = options["verbosity"] > 0
        try:
            write_package(request, lambda line: self.stderr.write(line) if verbose else None)
        except (PackageError, ProfileExportError, KeyFileError, OSError) as error:
            raise CommandError(str(error)) from None
