"""Commands of the web console: `accounts` (who may use it) and `serve` (run it)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from cli.command import Refused
from cli.main import main
from cli.options import ledger_option
from domain.accounts import ROLES

actor_option = click.option("--actor", help="Who makes the change, for the ledger [default: the OS user].")


@main.group()
def accounts() -> None:
    """Accounts of the web console and the REST API, recorded in the ledger.

    Roles: auditor reads everything and downloads reports; operator also uploads,
    plans, applies and rolls back; admin also manages accounts.

    \b
    Example:
      restore-ledger accounts add alice --role operator --ledger restore-ledger.sqlite3
    """


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@accounts.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
@ledger_option
@actor_option
def accounts_add(name: str, role: str, password_stdin: bool, ledger: str, actor: str | None) -> None:
    """Add an account; the password is prompted for (twice) and stored as an argon2id hash.

    \b
    Example:
      restore-ledger accounts add alice --role operator
    """
    from application.accounts import add_account

    account = add_account(ledger, name, role, _password(password_stdin), actor or getpass.getuser())
    click.echo(f"account {account['name']} added, role {account['role']}")


@accounts.command("role")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="The new role.")
@ledger_option
@actor_option
def accounts_role(name: str, role: str, ledger: str, actor: str | None) -> None:
    """Change an account's role.

    \b
    Example:
      restore-ledger accounts role alice --role auditor
    """
    from application.accounts import change_role

    account = change_role(ledger, name, role, actor or getpass.getuser())
    click.echo(f"account {account['name']} has the role {account['role']} now")


@accounts.command("disable")
@click.argument("name")
@ledger_option
@actor_option
def accounts_disable(name: str, ledger: str, actor: str | None) -> None:
    """Disable an account: it can no longer log in, sign or use its API tokens.

    \b
    Example:
      restore-ledger accounts disable alice
    """
    from application.accounts import disable_account

    click.echo(f"account {disable_account(ledger, name, actor or getpass.getuser())['name']} disabled")


@accounts.command("enable")
@click.argument("name")
@ledger_option
@actor_option
def accounts_enable(name: str, ledger: str, actor: str | None) -> None:
    """Enable a disabled account, or unlock one locked after failed log-ins.

    \b
    Example:
      restore-ledger accounts enable alice
    """
    from application.accounts import enable_account

    click.echo(f"account {enable_account(ledger, name, actor or getpass.getuser())['name']} enabled")


@accounts.command("list")
@ledger_option
def accounts_list(ledger: str) -> None:
    """List the accounts with their roles and states.

    \b
    Example:
      restore-ledger accounts list
    """
    from application.accounts import list_accounts

    for account in list_accounts(ledger):
        click.echo(f"{account['name']:<24} {account['role']:<9} {account['state']:<9} tokens: {len(account['tokens'])}")


@accounts.group("tokens")
def tokens() -> None:
    """API tokens (Bearer) of an account.

    \b
    Example:
      restore-ledger accounts tokens create alice
    """


@tokens.command("create")
@click.argument("name")
@ledger_option
@actor_option
def tokens_create(name: str, ledger: str, actor: str | None) -> None:
    """Create an API token for the account; it is printed once and stored only as a hash.

    \b
    Example:
      restore-ledger accounts tokens create alice > alice.token
    """
    from application.accounts import create_token

    click.echo(create_token(ledger, name, actor or getpass.getuser()))


@main.command()
@ledger_option
@click.option(
    "--targets",
    "targets_file",
    envvar="RESTORE_LEDGER_TARGETS",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file naming the targets: [targets.NAME] url = ..., media_root = ... [env RESTORE_LEDGER_TARGETS].",
)
@click.option(
    "--jobs-dir",
    envvar="RESTORE_LEDGER_JOBS",
    default="restore-ledger-jobs",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where uploaded backups and job progress are kept [env RESTORE_LEDGER_JOBS].",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--max-upload-mb", default=512, show_default=True, type=click.IntRange(1), help="Largest upload.")
@click.option("--idle-minutes", default=15, show_default=True, type=click.IntRange(1), help="Session idle time-out.")
@click.option("--secure-cookies", is_flag=True, help="Cookies only over HTTPS (behind a TLS proxy).")
def serve(
    ledger: str,
    targets_file: Path,
    jobs_dir: Path,
    host: str,
    port: int,
    max_upload_mb: int,
    idle_minutes: int,
    secure_cookies: bool,
) -> None:
    """Serve the web console and the REST API (/api/v1, OpenAPI at /api/v1/openapi.json).

    Targets are named in the targets file; the browser never sends a database URL.
    Add accounts first with `restore-ledger accounts add`.

    \b
    Example:
      restore-ledger serve --ledger restore-ledger.sqlite3 --targets targets.toml --port 8000
    """
    import uvicorn

    from web.app import create_app
    from web.settings import Settings, load_targets

    settings = Settings(
        ledger_url=ledger,
        targets=load_targets(targets_file),
        targets_file=targets_file.resolve(),
        jobs_dir=jobs_dir.resolve(),
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        idle_seconds=idle_minutes * 60,
        secure_cookies=secure_cookies,
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}, not only on this machine; put TLS in front", err=True)
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    except OSError as error:
        raise Refused(f"cannot listen on {host}:{port}: {error}") from None
