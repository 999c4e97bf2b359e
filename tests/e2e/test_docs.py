"""The README's commands and every --help are exercised."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.main import main
from tests.edms import ROOT

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", commands(main), ids=lambda p: " ".join(p) or "restore-ledger")
def test_every_help_text_explains_itself(path: tuple[str, ...], cli: CliRunner) -> None:
    result = cli.invoke(main, [*path, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "Example" in result.output


def test_readme_starts_with_the_main_job_and_the_test_command() -> None:
    main_job, test_command = BLOCKS[0].strip(), BLOCKS[1].strip()

    assert main_job.startswith("python3 -m venv .venv && .venv/bin/pip install -q . && ")
    assert main_job.endswith("sh examples/edms/demo.sh")
    assert test_command.startswith("python3 -m venv .venv && ") and "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text()
    assert "n==2{print; exit}" in ci and 'bash -c "$test_command"' in ci


def test_readme_main_job_restores_the_example_and_prints_the_decisions(tmp_path: Path) -> None:
    """The README's first command past its install step, with this environment's restore-ledger."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RESTORE_LEDGER_DEMO_DIR": str(tmp_path),
    }
    result = subprocess.run(
        ["sh", "examples/edms/demo.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "applied: 522 records from package (directory) backup" in result.stdout
    assert "allocated 60 pks of documents_document" in result.stdout
    assert "written empty first" not in result.stdout  # SQLite checks the cycle's references at the commit
    assert "actor:   demo" in result.stdout
    assert (tmp_path / "media" / "documents").is_dir()
