"""The click classes every command runs under: the one error path by which a refused or failed command
reaches the user (``Refused``, ``Group.invoke``), the ledger's recording context (``Command``), and the
output several commands share."""

from __future__ import annotations

import getpass
import json
from typing import Any

import click

from domain.errors import RestoreError


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


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def ledger_left(ledger_url: str) -> dict[str, Any]:
    """The ledger's size and Merkle root after a command: compare with a signed checkpoint later."""
    from application.verify import head_of

    return head_of(ledger_url)
