"""The cascade calibration's core on a handful of hand-made readings."""

from __future__ import annotations

import numpy as np

from evals.calibrate import Reading, choose, readings, sweep, write_png

ITEMS = [
    Reading("帮我交电费", "pay_bill", "pay_bill", 0.95),
    Reading("what's my balance", "check_balance", "check_balance", 0.9),
    Reading("电费那个事", "query_bill", "pay_bill", 0.4),  # unsure and wrong: worth escalating
    Reading("hmm the thing", "out_of_scope", "greet", 0.5),  # unsure and wrong
    Reading("天气", "out_of_scope", "out_of_scope", 0.7),
    Reading("我妈那边的电费水费燃气费好像都欠着，帮我一起都看看是多少钱吧谢谢你了", "query_bill", "query_bill", 0.99),
]


def test_sweep_counts_escalations_and_expected_accuracy():
    points = {(p.min_confidence, p.long_chars_zh): p for p in sweep(ITEMS, 0.9, (0.0, 0.6), (20, 80), (200,))}
    never = points[(0.0, 80)]
    assert never.escalation == 0.0 and never.accuracy == round(4 / 6, 4)
    unsure = points[(0.6, 80)]  # the two wrong readings go up; the LLM is right 90% of the time
    assert unsure.escalation == round(2 / 6, 4) and unsure.accuracy == round((4 + 2 * 0.9) / 6, 4)
    long = points[(0.6, 20)]  # the long Mandarin request goes up too, costing 0.1 of a right answer
    assert long.escalation == 0.5 and long.accuracy == round((3 + 3 * 0.9) / 6, 4)
    assert choose(points.values()) == unsure


def test_readings_apply_the_oos_threshold():
    probs = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25]])
    got = readings(["a", "b"], ["pay_bill", "out_of_scope"], probs, ("pay_bill", "query_bill", "out_of_scope"), 0.5)
    assert [(r.pred, r.confidence) for r in got] == [("pay_bill", 0.7), ("out_of_scope", 0.6)]


def test_the_curve_is_a_png(tmp_path):
    points = sweep(ITEMS, 0.9, (0.0, 0.3, 0.6), (40,), (120,))
    path = tmp_path / "curve.png"
    write_png(points, choose(points), 4 / 6, path, "tiny")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_cost_per_call_prefers_less_escalation():
    points = sweep(ITEMS, 0.9, (0.0, 0.6), (80,), (200,))
    assert choose(points).min_confidence == 0.6  # two wrong readings fixed for two calls
    assert choose(points, call_cost=1.0).min_confidence == 0.0  # a call as dear as a right answer: not worth it
