"""profile show: the restore profile inferred from a target's schema."""

from __future__ import annotations

from pathlib import Path

import click

from cli.main import main
from cli.options import TARGET_HELP


@main.group()
def profile() -> None:
    """The restore profile: how each model maps onto the target.

    \b
    Example:
      restore-ledger profile show --target sqlite:///edms.sqlite3
    """


@profile.command("show")
@click.option("--target", envvar="RESTORE_LEDGER_TARGET", required=True, help=TARGET_HELP)
@click.option(
    "--profile",
    "profile_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML profile overriding the inferred one.",
)
@click.option(
    "--backup",
    type=click.Path(exists=True, path_type=Path),
    help="Show only the backup's models, with what the backup's shape says (records without pk, references).",
)
def profile_show(target: str, profile_file: Path | None, backup: Path | None) -> None:
    """Print the profile inferred from the target schema, as TOML to start a profile file from,
    each inference with its evidence as a comment.

    \b
    Example:
      restore-ledger profile show --target sqlite:///edms.sqlite3 --backup backup.json > profile.toml
    """
    from application.profile import show_profile

    click.echo(show_profile(target, profile_file, backup))
