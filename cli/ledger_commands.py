"""Commands that prove the ledger: verify, keygen, checkpoint, export. Registered on ``ledger``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from cli.command import Refused
from cli.options import ledger_option, reason_option
from cli.review_commands import ledger

KEY = click.Path(exists=True, dir_okay=False, path_type=Path)


def _print_verification(result: Any, as_json: bool, what: str) -> None:
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result) | {"ok": result.ok}, indent=2))
    else:
        click.echo(f"{what}: {result.events} events, size {result.size}, root {result.root}")
        if result.checkpoint:
            checkpoint = result.checkpoint
            click.echo(
                f"checkpoint of {checkpoint['created_at']}: size {checkpoint['size']}, root {checkpoint['root']}"
            )
        for finding in result.findings:
            where = ", ".join(
                f"{label} {finding[key]}"
                for label, key in (
                    ("position", "position"),
                    ("notification id", "notification_id"),
                    ("restore", "restore_id"),
                    ("version", "version"),
                )
                if finding[key] is not None
            )
            click.echo(f"FINDING {finding['kind']}{f' at {where}' if where else ''}: {finding['detail']}")
    if result.findings:
        raise Refused(f"{what} fails verification: {len(result.findings)} findings")
    if not as_json:
        click.echo("verified: no findings")


@ledger.command("verify")
@ledger_option
@click.option("--target", help="Also compare this target's restore_ledger_applied rows with the ledger.")
@click.option("--checkpoint", type=KEY, help="A signed checkpoint: the ledger must still hold what it covered.")
@click.option("--public-key", type=KEY, help="The public key the checkpoint was signed with.")
@click.option("--export", "export_file", type=KEY, help="Verify this exported file instead of the ledger database.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def ledger_verify(
    ledger: str,
    target: str | None,
    checkpoint: Path | None,
    public_key: Path | None,
    export_file: Path | None,
    as_json: bool,
) -> None:
    """Recompute the ledger's hash chain from its stored events and report every finding: events
    changed, deleted, inserted or reordered, chain rows without events, gaps in a restore's
    versions, a target disagreeing with the ledger, a checkpoint no longer covered.

    Gaps in notification ids alone are not findings (the ledger leaves them after rolled back
    transactions).

    \b
    Example:
      restore-ledger ledger verify --checkpoint ledger.checkpoint --public-key ledger.pub

    Exit codes: 0 no finding, 1 findings (listed), 2 usage error.
    """
    if (checkpoint is None) != (public_key is None):
        raise click.UsageError("--checkpoint and --public-key go together")
    if export_file is not None:
        if target is not None:
            raise click.UsageError("--target needs the ledger database, not an export")
        from application.export import verify_export

        _print_verification(verify_export(export_file, checkpoint, public_key), as_json, f"export {export_file}")
        return
    from application.verify import verify_ledger

    _print_verification(verify_ledger(ledger, target, checkpoint, public_key), as_json, "ledger")


@ledger.command("keygen")
@click.option(
    "-o",
    "--out",
    "prefix",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Writes OUT.key (private, mode 600) and OUT.pub.",
)
def ledger_keygen(prefix: Path) -> None:
    """Make an Ed25519 key pair for signing checkpoints. Keep the private key away from the ledger.

    \b
    Example:
      restore-ledger ledger keygen -o /secure/ledger-signing
    """
    from application.ledger_checkpoint import keygen

    private, public = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    click.echo(f"wrote {private} and {public}, key {keygen(private, public)}")


@ledger.command("checkpoint")
@ledger_option
@click.option("--key", "key_file", required=True, type=KEY, help="The Ed25519 private key (from ledger keygen).")
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The checkpoint file, kept outside the ledger's database.",
)
def ledger_checkpoint(ledger: str, key_file: Path, out: Path) -> None:
    """Verify the ledger, then sign its size and Merkle root (RFC 6962) into a checkpoint file.

    A later `ledger verify --checkpoint FILE --public-key KEY.pub` proves the ledger still
    holds, unchanged, every event the checkpoint covered.

    \b
    Example:
      restore-ledger ledger checkpoint --key ledger-signing.key -o checkpoints/2024-06-01.json
    """
    from application.ledger_checkpoint import make_checkpoint

    signed = make_checkpoint(ledger, key_file, out)
    payload = signed["payload"]
    click.echo(f"checkpoint {out}: size {payload['size']}, root {payload['root']}, signed by {signed['key']}")


@ledger.command("export")
@ledger_option
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.jsonl")
def ledger_export(ledger: str, out: Path) -> None:
    """Export every event with its chain row and leaf hash as JSON Lines, for filing and offline
    verification (`ledger verify --export FILE`).

    \b
    Example:
      restore-ledger ledger export -o ledger-2024-06-01.jsonl
    """
    from application.export import export_ledger

    done = export_ledger(ledger, out)
    click.echo(f"exported {done['events']} events to {out}: size {done['size']}, root {done['root']}")


@ledger.command("seal")
@ledger_option
@click.option("--actor", help="Who does it [default: the OS user].")
@reason_option("Why, for the ledger.")
def ledger_seal(ledger: str, actor: str | None, reason: str) -> None:
    """Chain a ledger written by an older restore-ledger, whose events have no chain rows yet.
    Tamper evidence starts now: the chain rows record who sealed it, when and why. A ledger that
    has a chain already is left as it is.

    \b
    Example:
      restore-ledger ledger seal --reason "upgrade to restore-ledger 0.2"
    """
    from application.verify import seal_ledger

    chained = seal_ledger(ledger)
    click.echo(f"sealed: {chained} events chained" if chained else "the ledger has a chain already: nothing to do")
