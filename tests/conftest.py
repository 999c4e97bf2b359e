from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import main
from tests.edms import Source, build_source, build_target


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    """A source EDMS filled by the example project, and its real dumpdata backups."""
    return build_source(tmp_path_factory.mktemp("edms-source"))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A fresh, migrated, empty example target (SQLite)."""
    return build_target(tmp_path / "target.sqlite3")


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, [str(a) for a in args], catch_exceptions=False)
