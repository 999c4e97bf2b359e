"""``restore-ledger compare``: a backup against a target, model by model."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from cli.command import Refused
from cli.main import main
from cli.options import TARGET_HELP

SHOWN = 20  # rows named per model and kind in the text output; --json names every row


@main.command()
@click.argument("backup", type=click.Path(exists=True, path_type=Path))
@click.option("--target", envvar="RESTORE_LEDGER_TARGET", required=True, help=TARGET_HELP)
@click.option(
    "--ledger",
    envvar="RESTORE_LEDGER_URL",
    help="Ledger of the restore of BACKUP: its decisions (mapped, kept, created rows, reassigned pks and "
    "UUIDs) are told apart from differences [env RESTORE_LEDGER_URL].",
)
@click.option("--restore", "restore_id", help="With --ledger: that restore [default: the last applied one of BACKUP].")
@click.option(
    "--profile",
    "profile_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML profile overriding the inferred one (and the package's).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(
    backup: Path, target: str, ledger: str | None, restore_id: str | None, profile_file: Path | None, as_json: bool
) -> None:
    """Compare BACKUP with the target, per model: rows equal, different (with the
    fields), missing from the target and extra in it. Rows match by natural key,
    else UUID, else pk; references by the row they point at.

    The check after a disaster-recovery drill: restore, then compare.

    \b
    Example:
      restore-ledger compare edms-backup.zip --target sqlite:///edms.sqlite3 \\
          --ledger restore-ledger.sqlite3

    Exit codes: 0 no difference (decided rows aside), 1 differences found or
    unreadable, 2 usage error.
    """
    from application.compare import compare_backup

    result = compare_backup(backup, target, ledger, restore_id, profile_file)
    if as_json:
        data = dataclasses.asdict(result)
        data["differences"] = result.differences
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        if result.restore_id:
            click.echo(f"decisions of restore {result.restore_id} told apart")
        click.echo(f"{'model':<40} {'equal':>7} {'different':>9} {'missing':>7} {'extra':>7} {'decided':>7}")
        for label, model in result.models.items():
            click.echo(
                f"{label:<40} {model.equal:>7} {len(model.different):>9} {len(model.missing):>7} "
                f"{len(model.extra):>7} {len(model.decided):>7}"
            )
            for row in model.different[:SHOWN]:
                fields = "; ".join(f"{name}: {pair[0]!r} in the backup, {pair[1]!r} in the target"
                                   for name, pair in row["fields"].items())  # fmt: skip
                click.echo(f"  different {label} {row['key']}: {fields}")
            for key in model.missing[:SHOWN]:
                click.echo(f"  missing   {label} {key}")
            for key in model.extra[:SHOWN]:
                click.echo(f"  extra     {label} {key}")
        click.echo(f"{result.differences} differences")
    if result.differences and as_json:
        click.get_current_context().exit(1)  # the JSON says it all: no message after it
    if result.differences:
        raise Refused(f"{result.differences} differences between {backup} and the target")
