"""Show the restore profile of a target, as TOML to start a profile file from."""

from __future__ import annotations

from pathlib import Path

from infrastructure.profile_file import load_profile, to_toml
from infrastructure.target import connect, redact


def show_profile(target_url: str, profile_file: Path | None = None) -> str:
    engine = connect(target_url)
    try:
        return to_toml(load_profile(engine, profile_file), redact(engine.url))
    finally:
        engine.dispose()
