"""What the restore, rollback, replay and rebuild tests share: restoring the example backups through the CLI,
and comparing the media files and PostgreSQL sequences of targets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import run
from tests.edms import EDMS, digest
from tests.targets import PostgresTarget, Target

PROFILE = EDMS / "profile.toml"

Clone = Callable[[Target, str], Target]
"""The ``clone`` fixture: a copy of a target under a name, dropped after the test on PostgreSQL."""


def restore(cli: CliRunner, backup: Path, target: Target, ledger: str, *extra: object) -> str:
    result = run(
        cli, "restore", backup, "--target", target.url, "--ledger", ledger, "--profile", PROFILE, "--quiet", *extra
    )
    assert result.exit_code == 0, result.output
    return result.output.split()[1]


def sequences_ahead(*targets: Target) -> bool:
    """On PostgreSQL every sequence is at or past MAX(pk): the application's next insert never collides."""
    return all(not t.sequences_behind() for t in targets if isinstance(t, PostgresTarget))


def media_files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): digest(p) for p in root.rglob("*") if p.is_file()} if root.exists() else {}
