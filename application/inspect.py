"""Inspect a backup without a target: format, manifest check, counts, problems."""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.errors import BackupError
from infrastructure.backup import Backup, open_backup
from infrastructure.reading import Limits

MAX_PROBLEMS = 100  # the first ones; the rest of a hostile backup's would only fill memory


@dataclass
class Inspection:
    backup: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    records: int = 0
    problems: list[str] = field(default_factory=list)
    profile: dict[str, Any] | None = None  # the restore profile a package carries, by model label


def inspect_backup(path: Path, limits: Limits | None = None) -> Inspection:
    """What the backup holds and every problem found in it alone; raises only if unreadable."""
    with open_backup(path, limits) as opened:
        return _inspect(opened)


def _inspect(opened: Backup) -> Inspection:
    result = Inspection(opened.info.to_dict())
    text = opened.profile_text()
    if text is not None:
        try:
            result.profile = tomllib.loads(text).get("models", {})
        except tomllib.TOMLDecodeError as error:
            result.problems.append(f"the package's profile cannot be read: {error}")
    counts: Counter[str] = Counter()
    seen: dict[tuple[str, Any], int] = {}
    try:
        for record in opened.records():
            counts[record.model] += 1
            result.records += 1
            if record.pk is not None:
                other = seen.setdefault((record.model, _hashable(record.pk)), record.ordinal)
                if other != record.ordinal and len(result.problems) < MAX_PROBLEMS:
                    result.problems.append(
                        f"record {record.ordinal} ({record.model} pk={record.pk}): "
                        f"pk appears twice (also record {other})"
                    )
    except BackupError as error:
        result.problems.append(str(error))
    result.counts = dict(sorted(counts.items()))
    return result


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
