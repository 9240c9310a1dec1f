"""Whisper's beam re-ranked by the domain's character model (voice/nbest.py, voice/domain_lm.py), on the
packaged Whisper base and a Kokoro clip of 取消 that Whisper ranks as 取笑 first and 取消 third."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voice.audio import decode_audio
from voice.domain_lm import CharLM
from voice.stt import ZH_PROMPT

CANCEL = Path(__file__).resolve().parent / "fixtures" / "zh_cancel.ogg"


@pytest.fixture
def stt(base_stt_pool):
    """The shared Whisper base, given a domain model for the test only."""
    stt = base_stt_pool.stt
    yield stt
    stt.lm, stt.lm_weight = None, 0.0


@pytest.fixture(scope="module")
def domain_lm(settings_module):
    from assistant.api.audio import request_texts

    return CharLM(request_texts(settings_module))


@pytest.fixture(scope="module")
def settings_module():
    from assistant.settings import Settings

    return Settings()


def _beam(stt, audio):
    """Encoder output and the prompt faster-whisper builds for a plain Mandarin decode."""
    from faster_whisper.tokenizer import Tokenizer

    model = stt._get_model()
    tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language="zh")
    features = model.feature_extractor(audio)
    encoded = model.encode(np.pad(features, ((0, 0), (0, max(0, 3000 - features.shape[-1]))))[:, :3000])
    return model, tokenizer, encoded, model.get_prompt(tokenizer, tokenizer.encode(" " + ZH_PROMPT), True)


@pytest.mark.slow
def test_the_domain_model_reads_a_request_whisper_ranked_second(stt, domain_lm, settings_module):
    audio = decode_audio(CANCEL.read_bytes(), "ogg")
    plain = stt.transcribe(audio, lang="zh").text
    assert "取消" not in plain  # Whisper base alone: 取笑
    stt.lm, stt.lm_weight = domain_lm, settings_module.stt_lm_weight
    assert stt.transcribe(audio, lang="zh", domain_lm=True).text.rstrip("。") == "取消"
    assert stt.transcribe(audio, lang="zh").text == plain  # not asked for: Whisper's own first
    assert stt.transcribe(audio, lang="en", domain_lm=True).text != "取消"  # a Mandarin model only


@pytest.mark.slow
def test_the_beam_is_reordered_only_inside_the_block(stt):
    model, tokenizer, encoded, prompt = _beam(stt, decode_audio(CANCEL.read_bytes(), "ogg"))
    whisper = model.model
    first = whisper.generate(encoded, [prompt], beam_size=5, return_scores=True)[0]
    assert len(first.sequences_ids) == 1  # outside the block: faster-whisper's single best
    beam = whisper._inner.generate(encoded, [prompt], beam_size=5, num_hypotheses=5, return_scores=True)[0]
    texts = [tokenizer.decode(ids) for ids in beam.sequences_ids]
    assert first.sequences_ids[0] == beam.sequences_ids[0]
    favourite = texts[-1]  # Whisper's last: a model that has only seen it must put it first
    lm = CharLM([favourite] * 3)
    with whisper.reranking(lm, 5.0):
        got = whisper.generate(encoded, [prompt], beam_size=5, return_scores=True)[0]
        sampled = whisper.generate(encoded, [prompt], beam_size=1, num_hypotheses=1, sampling_temperature=0.4,
                                   sampling_topk=0, return_scores=True)[0]
    assert tokenizer.decode(got.sequences_ids[0]) == favourite
    assert sorted(map(tuple, got.sequences_ids)) == sorted(map(tuple, beam.sequences_ids))  # the same beam
    whisper_score = dict(zip(map(tuple, beam.sequences_ids), beam.scores, strict=True))
    combined = [whisper_score[tuple(ids)] + 5.0 * lm.per_char(tokenizer.decode(ids)) for ids in got.sequences_ids]
    assert combined == sorted(combined, reverse=True)
    assert got.scores[0] == max(beam.scores)  # what faster-whisper's fallback judges: the beam's best
    assert len(sampled.sequences_ids) == 1  # sampling (the fallback temperatures) is left alone
    with whisper.reranking(None, 5.0), whisper.reranking(lm, 0.0):
        assert whisper.generate(encoded, [prompt], beam_size=5)[0].sequences_ids == first.sequences_ids


def _reranked(texts: list[str], scores: list[float], lm: CharLM):
    """A beam of ``texts`` with Whisper's ``scores`` (the fields of CTranslate2's WhisperGenerationResult that
    faster-whisper reads) re-ranked by ``lm``: the order of the texts' ids (1 = Whisper's first)."""
    from types import SimpleNamespace

    from voice.nbest import RerankingWhisper

    ids = [[i + 1] for i in range(len(texts))]
    beam = SimpleNamespace(sequences_ids=ids, sequences=[[t] for t in texts], scores=scores, no_speech_prob=0.01)
    got = RerankingWhisper(None, lambda seq: texts[seq[0] - 1])._rerank(beam, lm, 5.0)
    assert got.sequences == [[texts[i[0] - 1]] for i in got.sequences_ids]
    return got.sequences_ids


def test_numbers_are_never_re_ranked():
    from voice.nbest import numerals

    lm = CharLM(["充值一百元", "充值一百元"] * 5 + ["充值"])
    got = _reranked(["充值一百六十元", "充值一百元", "充质一百六十元", "充值160元"], [-0.2, -0.3, -0.4, -0.5], lm)
    assert got[0] == [1]  # 一百元 is likelier wording, but the amount heard was 一百六十
    assert got[1:] == [[3], [2], [4]]  # same numerals re-ranked; the rest keep Whisper's order
    assert numerals("充值一百六十元") == "一百六十" and numerals("交160元，一下") == "160"
    assert numerals("十一月交一块五") == "十一一五" and numerals("一点一个一起") == ""


def test_a_one_before_a_hundred_is_a_number_too():
    lm = CharLM(["充值百元"] * 10)  # a model that has seen only 百元: the likelier wording
    # 一百 heard is not turned into 百
    assert _reranked(["充值一百元", "充值百元", "冲值一百元"], [-0.2, -0.25, -0.3], lm) == [[1], [3], [2]]


def test_a_loop_whisper_did_not_write_is_never_chosen():
    from voice.nbest import eligible

    lm = CharLM(["转转转转"] * 10 + ["绑卡"])  # the loop is the model's favourite
    # 绑卡 re-ranked before 帮; the loop keeps its place after
    assert _reranked(["帮", "转转转转", "绑卡"], [-0.3, -0.35, -0.4], lm) == [[3], [1], [2]]
    assert eligible("对对对", "对对对") and eligible("好的好的", "好") and not eligible("对 对 对", "对")


@pytest.mark.slow
def test_the_beam_is_kept_beside_the_transcript_when_asked(stt):
    from voice.stt import _alternatives

    audio = decode_audio(CANCEL.read_bytes(), "ogg")
    plain = stt.transcribe(audio, lang="zh")
    asked = stt.transcribe(audio, lang="zh", alternatives_within=5.0)
    assert asked.text == plain.text and plain.alternatives == ()  # the transcript is the same either way
    assert "取消" in {a.rstrip("。") for a in asked.alternatives}  # Whisper ranks 取消 third
    assert plain.text not in asked.alternatives
    near = stt.transcribe(audio, lang="zh", alternatives_within=1e-6).alternatives
    assert len(near) < len(asked.alternatives)
    beam = [("取笑。", -0.2), ("取消", -0.3), ("取笑", -0.35), ("去笑", -0.9)]
    # the transcript itself and readings far from the best left out; punctuation kept (确认？ is a question)
    assert _alternatives([beam], "取笑。", "zh", 0.2) == ("取消", "取笑")
    assert _alternatives([beam, beam], "取笑", "zh", 1.0) == ()  # two segments: no single beam to trust
    assert _alternatives([beam, None], "取笑", "zh", 1.0) == ()  # sampled again: the beam was not trusted
