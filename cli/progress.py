"""The progress bars the CLI draws on stderr while reading, planning and applying (rich)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars


class Progress:
    """One bar per stage on stderr, drawn only when stderr is a terminal and --quiet is not given.
    A stage whose total is not known (reading the backup) shows its count and a pulsing bar until the
    next stage starts."""

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self.bars = Bars(
            TextColumn("{task.description:<5}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.stages: dict[str, TaskID] = {}

    def __call__(self, stage: str, count: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        if not self.stages:
            self.bars.start()
        if stage not in self.stages:
            for earlier in self.stages.values():  # a stage ends when the next one starts: its count is its total
                task = self.bars.tasks[earlier]
                self.bars.update(earlier, total=task.total or task.completed)
            self.stages[stage] = self.bars.add_task(stage, total=total)
        self.bars.update(self.stages[stage], advance=count, total=total)

    def close(self) -> None:
        if self.stages:
            self.bars.stop()


@contextmanager
def shown(quiet: bool) -> Iterator[Progress]:
    """Progress bars for the time of a command, closed however it ends."""
    progress = Progress(not quiet)
    try:
        yield progress
    finally:
        progress.close()
