"""Commands that act on a recorded restore: apply (or roll forward), rollback, and replay into another target."""

from __future__ import annotations

import dataclasses
import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cli.command import emit_json, ledger_left
from cli.main import main
from cli.options import free_text, ledger_option, reason_option
from cli.progress import shown


def on_restore(command: Callable[..., None]) -> Callable[..., None]:
    """The options of the commands that act on a recorded restore."""
    options = [
        click.argument("restore_id"),
        click.option(
            "--target",
            envvar="RESTORE_LEDGER_TARGET",
            help="Target database URL [env RESTORE_LEDGER_TARGET; default: the one the ledger recorded].",
        ),
        ledger_option,
        click.option("--actor", callback=free_text, help="Who does it [default: the OS user]."),
        reason_option("Why, for the ledger."),
        click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _print_outcome(outcome: Any, as_json: bool, verb: str, ledger_url: str) -> None:
    left = ledger_left(ledger_url)
    if as_json:
        emit_json(dataclasses.asdict(outcome) | {"ledger": left})
    else:
        click.echo(f"restore {outcome.restore_id} {verb}: {outcome.rows} rows in {outcome.seconds:.2f}s")
        click.echo(f"ledger {left['size']} events, root {left['root']}")


@main.command()
@on_restore
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def apply(
    restore_id: str, target: str | None, ledger: str, actor: str | None, reason: str, as_json: bool, quiet: bool
) -> None:
    """Apply a planned restore to its target, or roll a rolled back one forward.

    Refuses, naming what changed, when the target changed since planning in a way
    the plan depends on (a mapped row gone, an allocated pk or UUID now taken).

    \b
    Example:
      restore-ledger apply 0b6f3c1e-... --reason "reviewed by QA"

    Exit codes: 0 applied, 1 refused or failed, 2 usage error.
    """
    from application.apply import apply_restore

    with shown(quiet) as progress:
        outcome = apply_restore(restore_id, target, ledger, actor or getpass.getuser(), reason, progress=progress)
    _print_outcome(outcome, as_json, "applied", ledger)


@main.command()
@on_restore
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def rollback(
    restore_id: str, target: str | None, ledger: str, actor: str | None, reason: str, as_json: bool, quiet: bool
) -> None:
    """Roll back an applied restore: remove exactly the rows and media files it wrote,
    put back the rows it updated, in one target transaction.

    Refuses, naming the rows, when rows added since depend on the restore's rows or a
    restored row was changed since; nothing is lost either way.

    \b
    Example:
      restore-ledger rollback 0b6f3c1e-... --reason "wrong backup restored"

    Exit codes: 0 rolled back, 1 refused or failed, 2 usage error.
    """
    from application.rollback import rollback_restore

    with shown(quiet) as progress:
        outcome = rollback_restore(restore_id, target, ledger, actor or getpass.getuser(), reason, progress=progress)
    _print_outcome(outcome, as_json, "rolled back", ledger)


@main.command()
@click.argument("restore_id")
@click.option("--target", envvar="RESTORE_LEDGER_TARGET", required=True, help="The other target to replay into.")
@ledger_option
@click.option("--media-root", type=click.Path(file_okay=False, path_type=Path), help="Media root of that target.")
@click.option("--actor", callback=free_text, help="Who does it [default: the OS user].")
@reason_option("Why, for the ledger.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def replay(
    restore_id: str,
    target: str,
    ledger: str,
    media_root: Path | None,
    actor: str | None,
    reason: str,
    as_json: bool,
    quiet: bool,
) -> None:
    """Replay a recorded restore into another target: the same rows, pks and UUIDs.

    Refuses, naming them, when rows the restore mapped onto are missing there or have
    another identity.

    \b
    Example:
      restore-ledger replay 0b6f3c1e-... --target postgresql://staging/edms --reason "staging copy"

    Exit codes: 0 replayed, 1 refused or failed, 2 usage error.
    """
    from application.replay import replay_restore

    with shown(quiet) as progress:
        outcome = replay_restore(restore_id, target, ledger, actor or getpass.getuser(), reason, media_root, progress)
    _print_outcome(outcome, as_json, "replayed", ledger)
