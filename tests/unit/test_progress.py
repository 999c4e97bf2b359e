"""The progress line the CLI draws on stderr."""

from __future__ import annotations

from cli.progress import render_progress


def test_stages_with_a_known_total_get_a_bar_the_others_a_count() -> None:
    line = render_progress({"read": 100_080, "plan": 25_020}, {"plan": 100_080}, width=8)

    assert line == "read 100,080  plan [##------]  25% 25,020/100,080"


def test_a_finished_stage_shows_a_full_bar() -> None:
    assert render_progress({"apply": 10}, {"apply": 10}, width=4) == "apply [####] 100% 10/10"
