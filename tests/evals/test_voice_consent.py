"""evals.voice_consent: the answer set, the clip plan, and the safety table."""

from assistant.nlu.consent import consent
from evals.voice_consent import VOICES, load, plan, summarise


def test_the_answers_are_split_and_read_as_labelled_when_typed():
    train, dev = load("train", ("zh", "en")), load("dev", ("zh", "en"))
    assert len(train) >= 80 and len(dev) >= 80
    assert not {r["text"] for r in train} & {r["text"] for r in dev}  # no answer in both splits
    for row in train + dev:  # the spoken rule on the very words: the eval then measures what hearing does
        assert consent(row["text"], spoken=True) == row["expect"], row


def test_the_plan_rotates_voices_and_is_stable():
    rows = load("dev", ("zh",))[:5]
    specs = plan(rows, 3, ("normal", "slow", "noise"))
    assert len(specs) == 5 * 3 * 3 and specs == plan(rows, 3, ("normal", "slow", "noise"))
    for row in rows:
        mine = [s for s in specs if s["text"] == row["text"]]
        assert len({s["voice"] for s in mine}) == 3 and {s["voice"] for s in mine} <= set(VOICES["zh"])
        assert {s["speed"] for s in mine if s["variant"] == "slow"} == {0.8}
        assert all(10 <= s["snr_db"] <= 20 for s in mine if s["variant"] == "noise")


def test_an_answer_that_is_not_a_yes_read_as_one_is_unsafe():
    base = {"lang": "zh", "variant": "normal"}
    rows = [base | {"kind": "hesitation", "expect": "unclear", "got": "yes"},
            base | {"kind": "hesitation", "expect": "unclear", "got": "unclear"},
            base | {"kind": "yes", "expect": "yes", "got": "yes"},
            base | {"kind": "yes", "expect": "yes", "got": "unclear"},
            base | {"kind": "no", "expect": "no", "got": "yes"}]
    table = summarise(rows)
    assert table["zh"]["unsafe"] == 2 and table["zh hesitation"]["unsafe"] == 1 and table["zh yes"]["unsafe"] == 0
    assert table["zh"]["yes_paid"] == 0.5 and table["zh"]["unclear_asked_again"] == 0.5
    assert table["zh"]["no_cancelled"] == 0.0
