"""A Django project's ``manage.py`` run as a real program, in a subprocess: the example EDMS project
(tests/edms.py) and the differential test project (tests/djangodiff.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_manage(project: Path, args: tuple[str, ...], **env: str | Path | None) -> str:
    """``manage.py ARGS`` of ``project``, run in it with this environment plus the variables of ``env`` that are
    given (not None), Python's warnings off: its standard output; an AssertionError with both outputs when it
    fails."""
    given = {name: str(value) for name, value in env.items() if value is not None}
    result = subprocess.run(
        [sys.executable, str(project / "manage.py"), *args],
        env={**os.environ, **given, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        cwd=project,
    )
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout
