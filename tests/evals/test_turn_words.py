"""evals.turn_words: the elder reading of whole lines and of their beginnings, with the word rules alone."""

from evals.turn_words import beginnings, measure, reader


def test_beginnings_cut_at_word_boundaries():
    middle, every = beginnings("帮我交这个月的电费")
    assert middle and "帮我交这个月的电费".startswith(middle) and middle != "帮我交这个月的电费"
    assert middle in every and all("帮我交这个月的电费".startswith(b) for b in every)


def test_measure_counts_held_beginnings_and_whole_lines():
    read = reader(use_router=False)
    assert read("帮我交") == "unfinished" and read("话费还") == "unfinished"
    result = measure(["帮我交这个月的电费", "话费还剩多少"], read)
    assert result["lines"] == 2
    assert result["whole_held"] == 0  # neither whole line waits for more
    assert result["middle_held_rate"] > 0 and result["all_beginnings"] >= 4
    # without any rule nothing is held
    none = measure(["帮我交这个月的电费", "话费还剩多少"], lambda text: "unsure")
    assert none["middle_held_rate"] == 0 and none["whole_held"] == 0
