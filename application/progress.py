"""What a long command tells its adapter as it goes: how far each stage got."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told how far each stage (read, plan, apply, replay) got, and its total where known."""

    def __call__(self, stage: str, count: int, total: int | None = None) -> None: ...
