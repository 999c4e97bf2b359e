"""restore and plan: read a backup, plan it against the target, record every decision, and apply it."""

from __future__ import annotations

import dataclasses
import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cli.command import emit_json, ledger_left
from cli.main import main
from cli.options import TARGET_HELP, free_text, ledger_option, limit_options, limits_from, reason_option
from cli.progress import shown


def restore_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options restore and plan share."""
    options = [
        click.argument("backup", type=click.Path(exists=True, path_type=Path)),
        click.option("--target", envvar="RESTORE_LEDGER_TARGET", required=True, help=TARGET_HELP),
        ledger_option,
        click.option(
            "--profile",
            "profile_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="TOML profile overriding the inferred one.",
        ),
        click.option(
            "--media-root", type=click.Path(file_okay=False, path_type=Path), help="Where the backup's media files go."
        ),
        click.option(
            "--on-conflict",
            type=click.Choice(["keep-existing", "update"]),
            default="keep-existing",
            show_default=True,
            help="A backup row that exists in the target with other values: keep the target's, or take "
            "the backup's (the before image is recorded).",
        ),
        click.option(
            "--missing-users",
            type=click.Choice(["create", "fail"]),
            default="create",
            show_default=True,
            help="Users referenced but found nowhere: create them inactive with unusable passwords, or refuse.",
        ),
        click.option(
            "--uuids",
            type=click.Choice(["keep", "regenerate"]),
            default="keep",
            show_default=True,
            help="Keep backup UUIDs that are free (taken ones are reassigned), or give every row a new one.",
        ),
        click.option(
            "--trust-pks",
            is_flag=True,
            help="Bind pk-only references to seeded rows of a target found re-initialised by pk anyway "
            "(refused without it: those pks may name other rows now).",
        ),
        click.option(
            "--require-signature",
            is_flag=True,
            help="Refuse a backup package whose manifest is not signed by the key of --public-key.",
        ),
        click.option(
            "--public-key",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="PEM Ed25519 public key the package must be signed with (with --require-signature).",
        ),
        click.option("--actor", callback=free_text, help="Who runs the restore [default: the OS user]."),
        reason_option("Why the restore is run, for the ledger."),
        click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON."),
        click.option("--quiet", is_flag=True, help="No progress on stderr."),
    ]
    command = limit_options(command)
    for option in reversed(options):
        command = option(command)
    return command


def _run_restore(options: dict[str, Any], apply: bool, dry_run: bool = False) -> None:
    from application.restore import RestoreRequest
    from application.restore import restore as run_restore

    request = RestoreRequest(
        backup=options["backup"],
        target_url=options["target"],
        ledger_url=options["ledger"],
        actor=options["actor"] or getpass.getuser(),
        reason=options["reason"],
        profile_file=options["profile_file"],
        media_root=options["media_root"],
        dry_run=dry_run,
        apply=apply,
        on_conflict=options["on_conflict"],
        missing_users=options["missing_users"],
        uuids=options["uuids"],
        limits=limits_from(options),
        require_signature=options["require_signature"],
        public_key=options["public_key"],
        trust_pks=options["trust_pks"],
    )
    with shown(options["quiet"]) as progress:
        outcome = run_restore(request, progress)
    left = {} if dry_run else {"ledger": ledger_left(options["ledger"])}
    if options["as_json"]:
        emit_json(dataclasses.asdict(outcome) | left)
        return
    if outcome.resumed:
        click.echo(
            f"restore {outcome.restore_id} of this backup had been interrupted; it is now finished and "
            f"{outcome.status}: {outcome.rows_written} rows"
        )
        click.echo(f"ledger {left['ledger']['size']} events, root {left['ledger']['root']}")
        return
    verb = "planned (dry run, nothing written)" if dry_run else "applied" if apply else "planned (not applied)"
    click.echo(
        f"restore {outcome.restore_id} {verb}: {sum(outcome.counts.values())} records "
        f"from {outcome.backup['format']} backup"
    )
    for label, count in outcome.counts.items():
        click.echo(f"  {label:<40} {count:>8}")
    click.echo("  decisions: " + ", ".join(f"{kind} {count}" for kind, count in outcome.decisions.items()))
    for allocation in outcome.allocations:
        click.echo(
            f"  allocated {allocation['count']} pks of {allocation['table']} from {allocation['first']}: "
            f"{allocation['reason']}"
        )
    for label, fields in outcome.deferred.items():
        click.echo(f"  {label}: {', '.join(fields)} written empty first, set after the cycle's rows exist")
    if outcome.media_files:
        click.echo(f"  media files: {outcome.media_files}")
    if outcome.already_present:
        click.echo(
            "  every record of the backup is in the target already (unchanged, mapped or kept conflicts): "
            "nothing to write"
        )
    if apply and not dry_run:
        click.echo(f"  rows written: {outcome.rows_written} in {outcome.seconds:.2f}s")
    else:
        click.echo(f"  review: restore-ledger ledger show {outcome.restore_id} --decisions")
    if left:
        click.echo(f"  ledger: {left['ledger']['size']} events, root {left['ledger']['root']}")


@main.command()
@restore_options
@click.option("--dry-run", is_flag=True, help="Plan and print; write nothing anywhere.")
def restore(dry_run: bool, **options: Any) -> None:
    """Restore BACKUP into the target: plan, record every decision, then apply.

    BACKUP is a dumpdata JSON or JSON Lines file (plain, .gz, .bz2, .xz), a .zip
    holding one, or a backup package with manifest.json (.zip, .tar.gz, directory).
    The format is detected from the content. Rows whose natural key exists in the
    target are mapped onto it or recorded as conflicts; missing users are created;
    taken pks and UUIDs are reassigned; each decision is an event in the ledger.

    \b
    Example:
      restore-ledger restore edms.json.gz --target sqlite:///edms.sqlite3 \\
          --media-root ./media --reason "restore after re-initialisation"

    Exit codes: 0 restored, 1 refused or failed (the ledger says why, the target
    is untouched), 2 usage error.
    """
    _run_restore(options, apply=True, dry_run=dry_run)


@main.command()
@restore_options
def plan(**options: Any) -> None:
    """Plan the restore of BACKUP into the target and record it, without writing the target.

    Review the decisions with `ledger show RESTORE_ID --decisions`, then `apply` it.

    \b
    Example:
      restore-ledger plan edms.json --target sqlite:///edms.sqlite3 --reason "DR drill"

    Exit codes: 0 planned, 1 refused, 2 usage error.
    """
    _run_restore(options, apply=False)
