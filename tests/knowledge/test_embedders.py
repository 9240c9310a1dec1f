"""Both embedder backends load their packaged models offline and embed sensibly."""

from __future__ import annotations

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


def test_empty_input_gives_empty_matrix(use_embedder, minilm):
    assert use_embedder.encode([]).shape == (0, 512)
    assert minilm.encode([]).shape == (0, 384)


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(EmbedderUnavailable) as err:
        make_embedder(f"st:{tmp_path / 'no-such-model'}")
    assert "LUI_EMBEDDER" in err.value.message
    with pytest.raises(EmbedderUnavailable):
        make_embedder("word2vec")
