"""The ledger group and its review commands: list the restores, show one with its timeline and decisions."""

from __future__ import annotations

import csv
import json
import sys

import click

from application.report import KINDS
from cli.command import Refused, emit_json
from cli.main import main
from cli.options import ledger_option


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
        emit_json(runs)
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
        emit_json(run)
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
            emit_json(counts)
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
