"""restore-ledger: restore Django dumpdata backups through an audit ledger.

Exit codes: 0 success, 1 the restore was refused or failed (the ledger records
why), 2 usage error.
"""

from __future__ import annotations

import csv
import dataclasses
import getpass
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from application.report import KINDS
from cli.options import free_text, limit_options, limits_from
from domain.errors import RestoreError

LEDGER_HELP = "Ledger database URL or SQLite path [env RESTORE_LEDGER_URL; default restore-ledger.sqlite3]."
ledger_option = click.option(
    "--ledger", envvar="RESTORE_LEDGER_URL", default="restore-ledger.sqlite3", show_default=True, help=LEDGER_HELP
)
TARGET_HELP = "Target database URL (sqlite:///file or postgresql://...) [env RESTORE_LEDGER_TARGET]."


class Refused(click.ClickException):
    """The one path by which a refused or failed restore reaches the user: exit code 1."""

    exit_code = 1

    def format_message(self) -> str:
        return self.message


class Command(click.Command):
    """Events saved while a command runs carry its name, actor and reason in their chain rows."""

    def invoke(self, ctx: click.Context) -> Any:
        from infrastructure.ledger_chain import recording_as

        params = ctx.params
        actor = str(params.get("actor") or (getpass.getuser() if "actor" in params else ""))
        with recording_as(command=ctx.command_path, actor=actor, reason=str(params.get("reason") or "")):
            return super().invoke(ctx)


def _reason(ctx: click.Context, param: click.Parameter, value: str) -> str:
    value = free_text(ctx, param, value) or ""
    if not value.strip():
        raise click.BadParameter("give why, for the ledger: it may not be empty")
    return value


def reason_option(help_text: str) -> Callable[[Any], Any]:
    """--reason, required and not blank [env RESTORE_LEDGER_REASON]."""
    return click.option(
        "--reason",
        envvar="RESTORE_LEDGER_REASON",
        required=True,
        callback=_reason,
        help=f"{help_text} Required [env RESTORE_LEDGER_REASON].",
    )


class Group(click.Group):
    command_class = Command
    group_class = type

    def invoke(self, ctx: click.Context) -> Any:
        from eventsourcing.persistence import PersistenceError

        from application.restore import ConfigurationError
        from infrastructure.ledger_store import LedgerUsageError
        from infrastructure.urls import BadUrl

        try:
            return super().invoke(ctx)
        except (ConfigurationError, BadUrl, LedgerUsageError) as error:
            raise click.UsageError(str(error)) from None
        except PersistenceError as error:
            raise Refused(f"the ledger cannot be read or written: {type(error).__name__}: {error}") from None
        except RestoreError as error:
            restore_id = getattr(error, "restore_id", None)
            action = getattr(error, "action", "apply")
            prefix = f"restore {restore_id} failed at {error.stage}: " if restore_id else ""
            if restore_id and action in ("rollback", "replay"):
                prefix = f"{action} of restore {restore_id} refused: "
            raise Refused(f"{prefix}{error}") from None


def render_progress(counts: dict[str, int], totals: dict[str, int], width: int = 24) -> str:
    """One status line: a bar for each stage whose total is known, a count for the others."""
    parts = []
    for stage, done in counts.items():
        total = totals.get(stage)
        if total:
            filled = min(width, width * done // total)
            parts.append(
                f"{stage} [{'#' * filled}{'-' * (width - filled)}] {100 * done // total:3d}% {done:,}/{total:,}"
            )
        else:
            parts.append(f"{stage} {done:,}")
    return "  ".join(parts)


class Progress:
    """Progress bars on stderr while reading, planning and applying; only when stderr is a
    terminal and --quiet is not given."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.counts: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.shown = 0.0

    def __call__(self, stage: str, count: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        self.counts[stage] = self.counts.get(stage, 0) + count
        if total is not None:
            self.totals[stage] = total
        now = time.monotonic()
        if now - self.shown > 0.1:
            self.shown = now
            click.echo(f"\r{render_progress(self.counts, self.totals)}", err=True, nl=False)

    def close(self) -> None:
        if self.enabled and self.counts:
            click.echo(f"\r{render_progress(self.counts, self.totals)}", err=True)


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="restore-ledger")
def main() -> None:
    """Restore Django dumpdata backups into re-initialised databases, recording every
    decision in an append-only ledger.

    \b
    Example:
      restore-ledger restore backup.json --target sqlite:///db.sqlite3 --reason "DR test"

    Exit codes: 0 success, 1 the restore was refused or failed, 2 usage error.
    """


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
    progress = Progress(not options["quiet"])
    try:
        outcome = run_restore(request, progress)
    finally:
        progress.close()
    left = {} if dry_run else {"ledger": _ledger_left(options["ledger"])}
    if options["as_json"]:
        _emit_json(dataclasses.asdict(outcome) | left)
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


def _ledger_left(ledger_url: str) -> dict[str, Any]:
    """The ledger's size and Merkle root after a command: compare with a signed checkpoint later."""
    from application.verify import head_of

    return head_of(ledger_url)


def _print_outcome(outcome: Any, as_json: bool, verb: str, ledger_url: str) -> None:
    left = _ledger_left(ledger_url)
    if as_json:
        _emit_json(dataclasses.asdict(outcome) | {"ledger": left})
    else:
        click.echo(f"restore {outcome.restore_id} {verb}: {outcome.rows} rows in {outcome.seconds:.2f}s")
        click.echo(f"ledger {left['size']} events, root {left['root']}")


@main.command()
@on_restore
def apply(restore_id: str, target: str | None, ledger: str, actor: str | None, reason: str, as_json: bool) -> None:
    """Apply a planned restore to its target, or roll a rolled back one forward.

    Refuses, naming what changed, when the target changed since planning in a way
    the plan depends on (a mapped row gone, an allocated pk or UUID now taken).

    \b
    Example:
      restore-ledger apply 0b6f3c1e-... --reason "reviewed by QA"

    Exit codes: 0 applied, 1 refused or failed, 2 usage error.
    """
    from application.apply import apply_restore

    outcome = apply_restore(restore_id, target, ledger, actor or getpass.getuser(), reason)
    _print_outcome(outcome, as_json, "applied", ledger)


@main.command()
@on_restore
def rollback(restore_id: str, target: str | None, ledger: str, actor: str | None, reason: str, as_json: bool) -> None:
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

    _print_outcome(rollback_restore(restore_id, target, ledger, actor or getpass.getuser(), reason), as_json,
                   "rolled back", ledger)  # fmt: skip


@main.command()
@click.argument("restore_id")
@click.option("--target", envvar="RESTORE_LEDGER_TARGET", required=True, help="The other target to replay into.")
@ledger_option
@click.option("--media-root", type=click.Path(file_okay=False, path_type=Path), help="Media root of that target.")
@click.option("--actor", callback=free_text, help="Who does it [default: the OS user].")
@reason_option("Why, for the ledger.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def replay(
    restore_id: str, target: str, ledger: str, media_root: Path | None, actor: str | None, reason: str, as_json: bool
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

    outcome = replay_restore(restore_id, target, ledger, actor or getpass.getuser(), reason, media_root)
    _print_outcome(outcome, as_json, "replayed", ledger)


@main.command()
@click.argument("backup", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the inspection as JSON.")
@limit_options
def inspect(backup: Path, as_json: bool, **limits: Any) -> None:
    """Inspect BACKUP without a target: format, manifest check, counts per model, problems.

    \b
    Example:
      restore-ledger inspect edms-backup.zip

    Exit codes: 0 no problem found, 1 problems found or unreadable, 2 usage error.
    """
    from application.inspect import inspect_backup

    result = inspect_backup(backup, limits_from(limits))
    if as_json:
        _emit_json(dataclasses.asdict(result))
    else:
        click.echo(
            f"format: {result.backup['format']}  sha256: {result.backup['sha256']}  size: {result.backup['size']}"
        )
        if result.backup.get("manifest"):
            _echo_package(result.backup["manifest"], result.backup["media_files"], result.profile)
        for label, count in result.counts.items():
            click.echo(f"  {label:<40} {count:>8}")
        click.echo(f"records: {result.records}")
        for problem in result.problems:
            click.echo(f"problem: {problem}")
    if result.problems:
        raise Refused(f"{len(result.problems)} problems found in {backup}")


def _echo_package(manifest: dict[str, Any], media_files: int, profile: dict[str, Any] | None) -> None:
    """A package's metadata and the profile it carries, a line each."""
    click.echo(f"manifest: verified, format {manifest.get('format_version')}, {media_files} media files")
    source = manifest.get("source_system")
    if isinstance(source, dict):
        apps = ", ".join(f"{app} {names[-1]}" for app, names in sorted(source.get("migrations", {}).items()) if names)
        click.echo(f"  made:      {manifest.get('created_at')} by restore-ledger {manifest['tool']['version']}")
        click.echo(f"  source:    Django {source['django_version']} on {source['database_vendor']}")
        click.echo(f"  migrations: {apps}")
        dump = manifest.get("dump", {})
        flags = [f for f in ("natural_foreign", "natural_primary") if dump.get(f)]
        excluded = ", ".join(dump.get("excluded", [])) or "nothing"
        click.echo(f"  dump:      {dump.get('format')} with {', '.join(flags) or 'pks only'}; excluded {excluded}")
    elif source:
        click.echo(f"  source:    {source}  made: {manifest.get('created_at')}")
    signature = manifest.get("signature")
    if signature:
        click.echo(f"  signed by {signature.get('signer') or '(no name)'}, key {signature['key_id'][:16]} (verified)")
    else:
        click.echo("  not signed")
    if profile is not None:
        click.echo(f"profile: {len(profile)} models (the package's {manifest.get('profile')})")
        for label, model in sorted(profile.items()):
            key = ", ".join(model.get("natural_key", [])) or "pk"
            extra = [f"policy {model['policy']}"] if model.get("policy", "restore") != "restore" else []
            extra += ["seeded"] if model.get("seeded") else []
            extra += [f"proxy of {model['proxy_for']}"] if model.get("proxy_for") else []
            extra += [f"child of {', '.join(model['parents'])}"] if model.get("parents") else []
            extra += (
                [f"generic FK {', '.join(model['generic_foreign_keys'])}"] if model.get("generic_foreign_keys") else []
            )
            suffix = f"; {'; '.join(extra)}" if extra else ""
            click.echo(f"  {label:<38} {model.get('table', '?'):<34} key ({key}){suffix}")


@main.group()
def ledger() -> None:
    """Review the ledger: the restores it holds and their decisions.

    \b
    Example:
      restore-ledger ledger list --ledger restore-ledger.sqlite3
    """


@ledger.command("list")
@ledger_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def ledger_list(ledger: str, as_json: bool) -> None:
    """List every restore of the ledger, oldest first. The ledger is verified first: a changed
    ledger is refused, naming its first findings.

    \b
    Example:
      restore-ledger ledger list --ledger restore-ledger.sqlite3
    """
    from application.ledger import Ledger
    from application.report import list_restores
    from application.verify import verify_ledger

    verified = verify_ledger(ledger)
    if not verified.ok:
        shown = "; ".join(f"{f['kind']} at position {f['position']}: {f['detail']}" for f in verified.findings[:3])
        raise Refused(f"the ledger fails verification ({len(verified.findings)} findings: {shown}); nothing is "
                      "listed from it. See `restore-ledger ledger verify`.")  # fmt: skip
    Ledger(ledger).check_readable()
    runs = list_restores(ledger)
    if as_json:
        _emit_json(runs)
        return
    for run in runs:
        click.echo(
            f"{run['restore_id']}  {run['started_at']}  {run['status']:<9} {run['actor']:<12} "
            f"{sum(run['counts'].values()):>8} records  {run['target']['url']}  {run['reason']}"
        )


@ledger.command("show")
@click.argument("restore_id")
@ledger_option
@click.option("--decisions", is_flag=True, help="Every decision on one line, grouped by kind, with counts.")
@click.option("--kind", type=click.Choice(KINDS), help="With --decisions: only this kind.")
@click.option("--model", help="With --decisions: only this model label.")
@click.option("--summary", is_flag=True, help="With --decisions: counts per kind and model (the default past 1,000).")
@click.option("--limit", type=click.IntRange(min=1), help="With --decisions: at most this many.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="With --decisions: skip this many first.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (decisions: streamed, every one).")
@click.option("--csv", "as_csv", is_flag=True, help="With --decisions: print as CSV (streamed, every one).")
def ledger_show(
    restore_id: str,
    ledger: str,
    decisions: bool,
    kind: str | None,
    model: str | None,
    summary: bool,
    limit: int | None,
    offset: int,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Show one restore: who, when, why, which backup, counts, its timeline (who applied, rolled
    back, rolled forward, replayed, and why) and each event. The restore's events are verified
    first; a changed ledger is refused, naming the finding.

    With --decisions, every decision in plain words, grouped by kind (conflicts,
    mappings, created users, reassigned UUIDs and pks, updated rows); past 1,000 of them a
    summary per kind and model, unless --limit pages them. Secret columns are redacted.

    \b
    Example:
      restore-ledger ledger show 0b6f3c1e-... --decisions --kind mapped
    """
    from application.timeline import show, who

    used = [
        name
        for name, value in (
            ("--kind", kind),
            ("--model", model),
            ("--summary", summary),
            ("--limit", limit),
            ("--offset", offset),
            ("--csv", as_csv),
        )
        if value
    ]
    if used and not decisions:
        raise click.UsageError(f"{', '.join(used)} only go with --decisions")
    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    if decisions:
        _show_decisions(ledger, restore_id, kind, model, summary, limit, offset, as_json, as_csv)
        return
    run = show(ledger, restore_id)
    if as_json:
        _emit_json(run)
        return
    click.echo(f"restore {run['restore_id']}: {run['status']}")
    click.echo(f"  actor:   {run['actor']}")
    click.echo(f"  reason:  {run['reason']}")
    click.echo(f"  started: {run['started_at']}")
    click.echo(f"  backup:  {run['backup']['path']} ({run['backup']['format']}, {run['backup']['size']} bytes)")
    click.echo(f"  sha256:  {run['backup']['sha256']}")
    signature = (run["backup"].get("manifest") or {}).get("signature")
    if signature:
        click.echo(f"  signed:  by {signature.get('signer') or '(no name)'}, key {signature['key_id']} (verified)")
    click.echo(f"  target:  {run['target']['url']}")
    click.echo(f"  tool:    restore-ledger {run['tool_version']}, profile {run['profile_digest'][:12]}")
    if run.get("failure"):
        failure = run["failure"]
        where = f"{failure['record']}: " if failure["record"] else ""
        click.echo(f"  failed at {failure['stage']}: {where}{failure['reason']}")
    for label, count in run["counts"].items():
        click.echo(f"  {label:<40} {count:>8}")
    click.echo("  timeline:")
    for entry in run["timeline"]:
        target = f" -> {entry['target']}" if entry.get("target") else ""
        click.echo(f"    {entry['at']}  {entry['what']}{target}")
        click.echo(f"      by {who(entry)}" + (f"; why: {entry['reason']}" if entry["reason"] else ""))
    click.echo(f"  events: {len(run['events'])}")
    for event in run["events"]:
        details = ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("event", "version", "at"))
        click.echo(f"    {event['version']:>4} {event['event']:<22} {details}")


def _show_decisions(
    ledger_url: str,
    restore_id: str,
    kind: str | None,
    model: str | None,
    summary: bool,
    limit: int | None,
    offset: int,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Decisions streamed one event at a time: memory stays flat whatever the restore's size."""
    from itertools import islice

    from application.decisions import CSV_HEADER, SUMMARY_PAST, csv_row
    from application.decisions import decisions as all_decisions
    from application.decisions import summary as count
    from application.ledger import Ledger

    ledger = Ledger(ledger_url)
    run_id = ledger.run_id(restore_id)
    ledger.check_run(run_id)
    counts = count(ledger, run_id, kind, model) if summary or not (as_json or as_csv or limit) else None
    total = sum(c["count"] for c in counts) if counts is not None else 0
    if counts is not None and (summary or total > SUMMARY_PAST):
        if as_json:
            _emit_json(counts)
            return
        if not summary:
            click.echo(
                f"{total:,} decisions: their counts per kind and model follow; page them with --limit and "
                "--offset, or take every one with --json or --csv"
            )
        for entry in counts:
            click.echo(f"  {entry['kind']:<14} {entry['model']:<40} {entry['count']:>8}")
        click.echo(f"  {'total':<55} {total:>8}")
        return
    lines = islice(all_decisions(ledger, run_id, kind, model), offset, None if limit is None else offset + limit)
    if as_json:
        click.echo("[", nl=False)
        for number, line in enumerate(lines):
            click.echo(("," if number else "") + "\n  " + json.dumps(line, default=str), nl=False)
        click.echo("\n]")
        return
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(CSV_HEADER)
        for line in lines:
            writer.writerow(csv_row(line))
        return
    kinds = {c["kind"]: 0 for c in counts or []}
    for c in counts or []:
        kinds[c["kind"]] += c["count"]
    current, shown = None, 0
    for line in lines:
        shown += 1
        if line["kind"] != current:
            current = line["kind"]
            click.echo(f"{current} ({kinds[current]}):" if current in kinds else f"{current}:")
        click.echo(f"  {line['text']}")
    if not shown:
        click.echo("no decisions match")


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


from cli import (  # noqa: E402, F401  (they register their commands above)
    compare_command,
    ledger_commands,
    report_command,
    target_commands,
    web_commands,
)
