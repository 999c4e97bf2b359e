"""The report command: a restore's filed report (HTML, CSV, JSON). Registered on ``main``."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from cli.main import main
from cli.options import ledger_option


@main.command()
@click.argument("restore_id")
@ledger_option
@click.option(
    "--format",
    "form",
    type=click.Choice(["html", "csv", "json"]),
    default="html",
    show_default=True,
    help="html: one self-contained page; csv: one row per decision; json: everything.",
)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The report file.")
@click.option("--actor", help="Who makes the report [default: the OS user].")
@click.option("--reason", default="review", show_default=True, help="Why, for the ledger.")
def report(restore_id: str, ledger: str, form: str, out: Path, actor: str | None, reason: str) -> None:
    """Write a restore's report for filing: header (tool, time, ledger size and root, verification),
    who and why, timeline, source and target, the security-relevant decisions first, every decision
    with before and after values (secrets redacted), a reconciliation per model, and the commands
    that re-verify it. Making it is recorded in the ledger with the file's sha256.

    \b
    Example:
      restore-ledger report 0b6f3c1e-... --format html -o restore-report.html
    """
    from application.report_file import write_report

    made = write_report(ledger, restore_id, form, out, actor or getpass.getuser(), reason)
    click.echo(f"report {made['file']} ({made['format']}), sha256 {made['sha256']}")
    click.echo(f"ledger {made['ledger']['size']} events, root {made['ledger']['root']}")
