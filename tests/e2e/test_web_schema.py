"""Schemathesis against the served OpenAPI schema, with bounded examples: no 5xx, and every
response as the schema says (status code, content type, body)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.console import Console, example_package, make_console, wait_for
from tests.targets import sqlite_target

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """One console with one planned restore, shared by every generated case."""
    root = tmp_path_factory.mktemp("schema")
    target = sqlite_target(root / "target.sqlite3", reinitialised=True)
    console = make_console(root / "console", target.url, str(root / "ledger.sqlite3"))
    client = console.client()
    backup = example_package(root)
    answer = console.upload(client, backup, "olga", "schema tests")
    assert wait_for(client, answer.json()["restore_id"], console.bearer("olga"))["status"] == "planned"
    yield console


@pytest.fixture(scope="module")
def api_schema(console: Console) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", console.client().app)


def test_the_api_answers_as_its_schema_says_and_never_with_a_5xx(api_schema: Any, console: Console) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def answers_as_documented(case: Any) -> None:
            case.call_and_validate(headers=console.bearer("olga"), checks=CHECKS)

        answers_as_documented()
