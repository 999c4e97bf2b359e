"""Properties over generated backups and targets (hypothesis): a rollback restores the target
exactly, and a replay into a copy of the original target yields the same target.

The backups are real dumpdata output of the example project, cut down by the generated
choices: which users are left out (so that they are created), whether the target was
re-initialised, and the restore's options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run
from tests.edms import EDMS, Source
from tests.targets import sqlite_target

PROFILE = EDMS / "profile.toml"
USERS = [f"user{i:05d}" for i in range(20)]


def cut(source: Source, folder: Path, left_out: set[str], documents: int) -> Path:
    """The backup without some users and with only the first documents (and what belongs to them)."""
    data = json.loads(source.fixture().read_text())
    numbers = sorted({r["fields"]["number"] for r in data if r["model"] == "documents.document"})[:documents]
    kept_docs = set(numbers)

    def keep(record: dict[str, object]) -> bool:
        fields = record["fields"]
        assert isinstance(fields, dict)
        if record["model"] == "accounts.user":
            return fields["username"] not in left_out
        if record["model"] == "documents.document":
            return fields["number"] in kept_docs
        if record["model"] == "documents.documentversion":
            return fields["document"][0] in kept_docs
        return record["model"] not in ("workflows.workflowinstance", "workflows.workflowtransition", "audit.auditentry")

    kept = [r for r in data if keep(r)]
    for record in kept:
        if record["model"] == "documents.document":
            fields = record["fields"]
            fields["related"] = [r for r in fields["related"] if r[0] in kept_docs]
            if fields["parent"] and fields["parent"][0] not in kept_docs:
                fields["parent"] = None
    path = folder / "cut.json"
    path.write_text(json.dumps(kept))
    return path


choices = st.fixed_dictionaries(
    {
        "left_out": st.sets(st.sampled_from(USERS), max_size=4),
        "documents": st.integers(min_value=0, max_value=12),
        "reinitialised": st.booleans(),
        "on_conflict": st.sampled_from(["keep-existing", "update"]),
        "uuids": st.sampled_from(["keep", "regenerate"]),
    }
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=choices)
def test_restore_then_rollback_restores_the_target_and_a_replay_yields_the_same_target(
    choice: dict[str, Any], source: Source, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("property")
    cli = CliRunner()
    reinitialised = bool(choice["reinitialised"])
    target = sqlite_target(folder / "target.sqlite3", reinitialised=reinitialised)
    copy = target.copy(folder / "copy.sqlite3")
    before = target.data()
    backup = cut(source, folder, set(choice["left_out"]), int(choice["documents"]))
    ledger = folder / "ledger.sqlite3"

    restored = run(cli, "restore", backup, "--target", target.url, "--ledger", ledger, "--profile", PROFILE,
                   "--on-conflict", choice["on_conflict"], "--uuids", choice["uuids"], "--quiet")  # fmt: skip
    assert restored.exit_code == 0, restored.output
    restore_id = restored.output.split()[1]
    after = target.data()

    replayed = run(cli, "replay", restore_id, "--target", copy.url, "--ledger", ledger)
    assert replayed.exit_code == 0, replayed.output
    assert copy.data() == after

    rolled_back = run(cli, "rollback", restore_id, "--ledger", ledger)
    assert rolled_back.exit_code == 0, rolled_back.output
    assert target.data() == before
