"""A few of the scripted suggestion sessions (python -m evals.suggestions runs 50)."""

from __future__ import annotations

from evals.suggestions import run


async def test_a_few_scripted_sessions(tmp_path):
    figures = (await run(sessions=6, seed_value=13, data_dir=tmp_path)).summary()
    assert figures["sessions"] == 6 and figures["payments"] >= 6
    assert figures["offers"] > 0 and figures["declined"] > 0  # the script both took and turned down offers
    assert figures["problems"] == []
    assert figures["repeats_of_declined"] == 0 and figures["offer_relevance"] == 1.0
    assert figures["reminder_precision"] == 1.0 and figures["reminders_missed"] == 0
    assert figures["taken_prepared_only"] == 1.0
