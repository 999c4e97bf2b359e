"""The server's settings, and the targets it may restore into, named in a TOML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from application.restore import ConfigurationError

TARGET_KEYS = {"url", "media_root", "profile", "require_second_person", "description"}


@dataclass(frozen=True)
class TargetConfig:
    """A target as the server knows it; only ``name`` ever reaches a browser."""

    name: str
    url: str
    media_root: Path | None = None
    profile: Path | None = None
    require_second_person: bool = False
    description: str = ""


@dataclass(frozen=True)
class Settings:
    ledger_url: str
    targets: dict[str, TargetConfig]
    targets_file: Path
    jobs_dir: Path
    max_upload_bytes: int = 512 * 1024 * 1024
    idle_seconds: int = 15 * 60
    secure_cookies: bool = False  # set behind TLS


def load_targets(path: Path) -> dict[str, TargetConfig]:
    """``[targets.NAME]`` tables with ``url`` and optionally ``media_root``, ``profile``,
    ``require_second_person`` and ``description``; relative paths are relative to the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"the targets file {path} cannot be read: {error}") from None
    tables = data.get("targets")
    if not isinstance(tables, dict) or not tables:
        raise ConfigurationError(f"the targets file {path} names no target: add [targets.NAME] with url = ...")
    return {name: _target(path, name, table) for name, table in tables.items()}


def _target(path: Path, name: str, table: Any) -> TargetConfig:
    where = f"{path} [targets.{name}]"
    if not isinstance(table, dict) or not isinstance(table.get("url"), str):
        raise ConfigurationError(f'{where}: url = "sqlite:///..." or "postgresql://..." is missing')
    unknown = set(table) - TARGET_KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown keys {', '.join(sorted(unknown))}")

    def local(key: str) -> Path | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigurationError(f"{where}: {key} must be a path")
        return (path.parent / value).resolve()

    second = table.get("require_second_person", False)
    if not isinstance(second, bool):
        raise ConfigurationError(f"{where}: require_second_person must be true or false")
    return TargetConfig(
        name=name,
        url=table["url"],
        media_root=local("media_root"),
        profile=local("profile"),
        require_second_person=second,
        description=str(table.get("description", "")),
    )
