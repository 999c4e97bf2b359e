"""inspect: read a backup without a target and say what it holds."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from cli.command import Refused, emit_json
from cli.main import main
from cli.options import limit_options, limits_from


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
        emit_json(dataclasses.asdict(result))
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
