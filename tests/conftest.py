from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import main
from tests.edms import Source, build_source
from tests.targets import (
    PostgresTarget,
    SqliteTarget,
    Target,
    create_pg_reinitialised_template,
    create_pg_template,
    pg_admin,
    pg_available,
    sqlite_target,
)

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session", autouse=True)
def reason() -> Iterator[None]:
    """Commands that record need a reason: tests that are not about it take it from the environment
    (session-wide, so that session fixtures that restore have one too)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESTORE_LEDGER_REASON", "test run")
        yield


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    """A source EDMS filled by the example project, and its real dumpdata backups."""
    return build_source(tmp_path_factory.mktemp("edms-source"))


@pytest.fixture(scope="session")
def second_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another EDMS's backup: other documents, some users and documents shared with the first."""
    return build_source(tmp_path_factory.mktemp("second-source"), documents=12, seed=7).fixture()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A database with the example schema, copied for each test. In CI it must exist: never skipped."""
    if not pg_available():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; .ci/run starts it")
        pytest.skip("PostgreSQL is not reachable (outside CI)")
    name = create_pg_template()
    yield name
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A fresh, migrated, empty example target, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_target(tmp_path / "target.sqlite3")
        return
    created = PostgresTarget.create(request.getfixturevalue("pg_template"))
    yield created
    created.drop()


@pytest.fixture(scope="session")
def pg_reinitialised_template(pg_template: str) -> Iterator[str]:
    name = create_pg_reinitialised_template()
    yield name
    pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def reinitialised(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A re-initialised example target: seeded roles, types and admin with new UUIDs and pks."""
    if request.param == "sqlite":
        yield sqlite_target(tmp_path / "reinitialised.sqlite3", reinitialised=True)
        return
    created = PostgresTarget.create(request.getfixturevalue("pg_reinitialised_template"))
    yield created
    created.drop()


@pytest.fixture
def clone(tmp_path: Path) -> Iterator[Callable[[Target, str], Target]]:
    """Copies of a target, with their state: a SQLite file ``NAME.sqlite3`` in tmp_path, or a PostgreSQL
    database dropped after the test."""
    made: list[PostgresTarget] = []

    def copy(target: Target, name: str) -> Target:
        if isinstance(target, SqliteTarget):
            return target.copy(tmp_path / f"{name}.sqlite3")
        assert isinstance(target, PostgresTarget)
        made.append(target.copy())
        return made[-1]

    yield copy
    for target in made:
        target.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A ledger URL: a SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.sqlite3")
        return
    request.getfixturevalue("pg_template")
    created = PostgresTarget(f"rl_ledger_{os.urandom(6).hex()}")
    pg_admin(f"CREATE DATABASE {created.name}")
    yield created.url
    created.drop()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.sqlite3")


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def run(cli: CliRunner, *args: object) -> Result:
    return cli.invoke(main, [str(a) for a in args], catch_exceptions=False)
