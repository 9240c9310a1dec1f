"""A retriever on a store that does not change while serving (the in-memory copy of the local
folder) keeps recent answers: a repeated question costs no second embedding and search."""

from __future__ import annotations

from knowledge.retrieval import ServiceRetriever


class CountingStore:
    """The real store, counting searches."""

    def __init__(self, store):
        self.store = store
        self.searches = 0

    def search(self, *args, **kwargs):
        self.searches += 1
        return self.store.search(*args, **kwargs)


def test_a_repeated_question_is_answered_from_the_cache(retriever):
    store = CountingStore(retriever.store)
    cached = ServiceRetriever(retriever.embedder, store, cache_size=2)
    first = cached.search("开电子发票", "zh")
    again = cached.search("  开电子发票 ", "zh")  # the same question, spaced differently
    assert store.searches == 1
    assert again.hits == first.hits and again.confident == first.confident and first.best.id == "e-invoice"
    assert (again.top_dense, again.top_sparse) == (first.top_dense, first.top_sparse)
    assert cached.search("开电子发票", None).hits and store.searches == 2  # another language filter: searched
    cached.search("交电费", "zh")  # a third answer: the oldest one is dropped (at most 2 kept)
    cached.search("开电子发票", "zh")
    assert store.searches == 4
    assert retriever.search("开电子发票", "zh").hits == first.hits  # the same as without a cache


def test_without_a_cache_every_question_is_searched(retriever):
    store = CountingStore(retriever.store)
    plain = ServiceRetriever(retriever.embedder, store)
    plain.search("开电子发票", "zh")
    plain.search("开电子发票", "zh")
    assert store.searches == 2
