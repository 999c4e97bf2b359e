"""The progress bars the CLI draws on stderr."""

from __future__ import annotations

import io

from rich.console import Console

from cli.progress import Progress


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=100, color_system=None), out


def test_each_stage_gets_a_bar_with_its_count_and_a_stage_ends_when_the_next_starts() -> None:
    console, out = terminal()
    progress = Progress(True, console)

    progress("read", 100_080)
    progress("plan", 25_020, 100_080)
    progress("plan", 75_060, 100_080)
    progress.close()

    read, plan = out.getvalue().split("\x1b[2K")[-1].splitlines()[:2]  # the last frame drawn
    assert read.startswith("read") and "100080/100080" in read  # its total known once planning started
    assert plan.startswith("plan") and "100%" in plan and "100080/100080" in plan


def test_a_stage_whose_total_is_not_known_shows_its_count() -> None:
    console, out = terminal()
    progress = Progress(True, console)

    progress("read", 522)
    progress.close()

    assert "522/?" in out.getvalue().split("\x1b[2K")[-1]


def test_nothing_is_drawn_when_quiet_or_when_stderr_is_not_a_terminal() -> None:
    console, out = terminal()
    quiet = Progress(False, console)
    quiet("read", 10)
    quiet.close()
    piped = Progress(True, Console(file=out, force_terminal=False))
    piped("read", 10)
    piped.close()

    assert out.getvalue() == ""
