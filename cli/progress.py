"""The progress line the CLI draws on stderr while reading, planning and applying."""

from __future__ import annotations

import sys
import time

import click


def render_progress(counts: dict[str, int], totals: dict[str, int], width: int = 24) -> str:
    """One status line: a bar for each stage whose total is known, a count for the others."""
    parts = []
    for stage, done in counts.items():
        total = totals.get(stage)
        if total:
            filled = min(width, width * done // total)
            parts.append(
                f"{stage} [{'#' * filled}{'-' * (width - filled)}] {100 * done // total:3d}% {done:,}/{total:,}"
            )
        else:
            parts.append(f"{stage} {done:,}")
    return "  ".join(parts)


class Progress:
    """Progress bars on stderr while reading, planning and applying; only when stderr is a
    terminal and --quiet is not given."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.counts: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.shown = 0.0

    def __call__(self, stage: str, count: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        self.counts[stage] = self.counts.get(stage, 0) + count
        if total is not None:
            self.totals[stage] = total
        now = time.monotonic()
        if now - self.shown > 0.1:
            self.shown = now
            click.echo(f"\r{render_progress(self.counts, self.totals)}", err=True, nl=False)

    def close(self) -> None:
        if self.enabled and self.counts:
            click.echo(f"\r{render_progress(self.counts, self.totals)}", err=True)
