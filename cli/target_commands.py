"""Commands about a target as a whole: its status, rebuilding it, and adopting a copy of it."""

from __future__ import annotations

import dataclasses
import getpass
from pathlib import Path

import click

from cli.command import emit_json
from cli.main import main
from cli.options import TARGET_HELP, free_text, ledger_option, reason_option

TARGET = click.option("--target", envvar="RESTORE_LEDGER_TARGET", required=True, help=TARGET_HELP)


@main.command()
@TARGET
@ledger_option
@click.option("--of", "of", help="The original target's id, when the ledger holds restores of several.")
@click.option(
    "--media-root",
    type=click.Path(file_okay=False, path_type=Path),
    help="The new target's own media root (never the original's).",
)
@click.option(
    "--backup-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Where to find the backups holding media files, by their sha256 [default: where each was restored from].",
)
@click.option(
    "--media-store",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A content-addressed media store (files at SHA[:2]/SHA) to take media files from instead of backups.",
)
@click.option("--actor", callback=free_text, help="Who rebuilds [default: the OS user].")
@reason_option("Why, for the ledger.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def rebuild(
    target: str,
    ledger: str,
    of: str | None,
    media_root: Path | None,
    backup_dir: Path | None,
    media_store: Path | None,
    actor: str | None,
    reason: str,
    as_json: bool,
) -> None:
    """Rebuild a target from the ledger into a fresh database that holds the schema and the
    seeded rows (a copy of the original from before its first restore): every restore of the
    original that is applied now, in the order the original received them.

    All or nothing: one transaction for every restore; a refusal leaves the new target and
    its media root as they were. Rows come from the ledger; media files from the backups
    (found by sha256) or a media store, each file's digest verified. The new target gets
    its own id; each restore records a replay into it, with actor and reason.

    \b
    Example:
      restore-ledger rebuild --target sqlite:///edms-rebuilt.sqlite3 --media-root ./media-rebuilt \\
          --backup-dir ./backups --reason "DR drill"

    Exit codes: 0 rebuilt, 1 refused (nothing written to the target), 2 usage error.
    """
    from application.rebuild import RebuildRequest, rebuild_target

    request = RebuildRequest(
        target, ledger, of, media_root, backup_dir, media_store, actor or getpass.getuser(), reason
    )
    outcome = rebuild_target(request)
    if as_json:
        emit_json(dataclasses.asdict(outcome))
        return
    click.echo(
        f"rebuilt target {outcome.original_id} as new target {outcome.target_id}: "
        f"{len(outcome.restores)} restores in {outcome.seconds:.2f}s"
    )
    for restore_id in outcome.restores:
        click.echo(f"  {restore_id}")


@main.command()
@TARGET
@ledger_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def status(target: str, ledger: str, as_json: bool) -> None:
    """Show every restore the ledger knows for the target (failed and refused ones too), with its
    state, actor and time, and the next command to run; warn where the target and the ledger
    disagree (a copy, another ledger's restores). Reads only: writes nothing anywhere.

    \b
    Example:
      restore-ledger status --target sqlite:///edms.sqlite3

    Exit codes: 0 shown, 1 the target cannot be read, 2 usage error (e.g. no ledger there).
    """
    from application.status import target_status

    result = target_status(target, ledger)
    if as_json:
        emit_json(dataclasses.asdict(result))
        return
    busy = " (locked by a running command)" if result.busy else ""
    adopted = f", adopted from {result.adopted_from}" if result.adopted_from else ""
    click.echo(f"target {result.url}: id {result.target_id or '(none yet)'}{adopted}{busy}")
    click.echo(f"ledger {result.ledger}")
    for warning in result.warnings:
        click.echo(f"WARNING: {warning}")
    click.echo(f"{len(result.pending)} intents pending" if result.pending else "nothing pending")
    for item in result.pending:
        click.echo(f"  pending {item['action']} of restore {item['restore_id']}")
    if not result.restores:
        click.echo("no restore of this target in this ledger")
    for run in result.restores:
        click.echo(f"{run['restore_id']}  {run['status']}  {run['started_at']}  by {run['actor']}")
        if run["reason"]:
            click.echo(f"    reason: {run['reason']}")
        if run["failure"]:
            failure = run["failure"]
            where = f"{failure['record']}: " if failure["record"] else ""
            click.echo(f"    failed at {failure['stage']}: {where}{failure['reason']}")
        if run["last_refusal"]:
            click.echo(f"    last refusal ({run['last_refusal']['event']}): {run['last_refusal'].get('reason', '')}")
        if run["note"]:
            click.echo(f"    {run['note']}")
        if run["next"]:
            click.echo(f"    next: {run['next']}")


@main.group("target")
def target_group() -> None:
    """Targets themselves: give a copy of a target its own id.

    \b
    Example:
      restore-ledger target adopt --target sqlite:///staging.sqlite3 --reason "staging copy of prod"
    """


@target_group.command("adopt")
@TARGET
@ledger_option
@click.option("--actor", callback=free_text, help="Who adopts it [default: the OS user].")
@reason_option("Why, for the ledger.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def target_adopt(target: str, ledger: str, actor: str | None, reason: str, as_json: bool) -> None:
    """Give a copy of a target (cp, pg_dump | pg_restore, CREATE DATABASE ... TEMPLATE) its own id.

    A copy carries the original's id; every command refuses to act on it until it is adopted.
    Afterwards it is a target of its own: restores go into it, and the original's restores are
    never applied, rolled back or replayed through it. Recorded in the ledger with the
    original's id.

    \b
    Example:
      restore-ledger target adopt --target sqlite:///staging.sqlite3 --reason "staging copy of prod"

    Exit codes: 0 adopted, 1 refused (not a copy, or another ledger's), 2 usage error.
    """
    from application.adopt import adopt_target

    outcome = adopt_target(target, ledger, actor or getpass.getuser(), reason)
    if as_json:
        emit_json(dataclasses.asdict(outcome))
        return
    click.echo(
        f"target {outcome.url} is now target {outcome.target_id}, "
        f"a copy of target {outcome.original_id} ({outcome.original_url})"
    )


@main.command("store-media")
@click.argument("backup", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--media-store",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The store's directory, e.g. next to the ledger.",
)
def store_media(backup: Path, media_store: Path) -> None:
    """Keep the media files of BACKUP in a content-addressed store (SHA[:2]/SHA), each verified
    against its manifest's sha256, for `rebuild --media-store` when the backup is gone.

    \b
    Example:
      restore-ledger store-media edms-backup.zip --media-store ./restore-ledger-media

    Exit codes: 0 stored, 1 unreadable backup or a file that does not match its sha256, 2 usage error.
    """
    from application.media_store import store_media as store

    outcome = store(backup, media_store)
    click.echo(f"{outcome.files} media files of {outcome.backup} in {media_store} ({outcome.added} new)")
