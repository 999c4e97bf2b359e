"""Write a backup of this EDMS with the real ``dumpdata``: a fixture, or a package with media.

``make_backup OUT.json`` writes the fixture as ``dumpdata`` does; ``--package DIR``
writes a backup package directory: ``manifest.json``, ``data/edms.json`` and
``media/`` with every file of MEDIA_ROOT, each listed with sha256 and size.
"""

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


def _entry(root: Path, path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {
        "path": path.relative_to(root).as_posix(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


class Command(BaseCommand):
    help = "Dump the database with natural keys (or plain pks) as a fixture or a backup package."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output")
        parser.add_argument("--package", action="store_true", help="write a package directory")
        parser.add_argument("--plain-pks", action="store_true", help="no natural keys")
        parser.add_argument("--format", default="json", choices=["json", "jsonl"])
        parser.add_argument("--exclude", action="append", default=[], help="an app or model label to leave out")

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"])
        keys: dict[str, Any] = (
            {} if options["plain_pks"] else {"use_natural_foreign_keys": True, "use_natural_primary_keys": True}
        )
        keys["exclude"] = options["exclude"]
        if not options["package"]:
            call_command("dumpdata", format=options["format"], output=str(output), indent=None, **keys)
            return
        (output / "data").mkdir(parents=True, exist_ok=True)
        fixture = output / "data" / f"edms.{options['format']}"
        call_command("dumpdata", format=options["format"], output=str(fixture), **keys)
        media = Path(settings.MEDIA_ROOT)
        if media.exists():
            shutil.copytree(media, output / "media", dirs_exist_ok=True)
        files = [_entry(output, fixture)]
        files += [_entry(output, p) for p in sorted((output / "media").rglob("*")) if p.is_file()]
        manifest = {
            "format_version": 1,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source_system": "example EDMS (Django)",
            "files": files,
        }
        (output / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
