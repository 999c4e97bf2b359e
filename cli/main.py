"""restore-ledger: restore Django dumpdata backups through an audit ledger.

Exit codes: 0 success, 1 the restore was refused or failed (the ledger records
why), 2 usage error.
"""

from __future__ import annotations

import click

from cli.command import Group


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


from cli import (  # noqa: E402, F401  (they register their commands above)
    compare_command,
    inspect_command,
    ledger_commands,
    profile_command,
    recorded_commands,
    report_command,
    restore_commands,
    review_commands,
    target_commands,
    web_commands,
)
