"""Which utterances the domain's language model reads (assistant/api/audio.py): a request, never an answer
to "pay this?" — there it could only make an unclear answer read more like the requests it learnt."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.api.audio import VoiceGateway
from voice.pool import TranscriptionPool
from voice.stt import SpeechToText, Transcript


class Heard(SpeechToText):
    """Hears ``text``; records each decode's prompt, hotwords and whether it asked for the model."""

    def __init__(self, text: str):
        self.text, self.lm = text, object()
        self.calls: list[tuple[str | None, str | None, bool]] = []

    def transcribe(self, audio, *, lang=None, prompt=None, hotwords=None, domain_lm=False) -> Transcript:
        self.calls.append((prompt, hotwords, domain_lm))
        return Transcript(self.text, lang, 1000, False)


AUDIO = np.zeros(16000, dtype=np.float32)


async def _emit(event) -> None:
    pass


async def test_a_request_is_read_with_the_model_and_an_answer_to_a_payment_is_not(settings, assistant):
    stt = Heard("帮我交电费")
    gateway = VoiceGateway(settings, assistant, TranscriptionPool(stt))
    try:
        session, _ = assistant.open_session("u_li", "zh", "elder")
        await gateway.transcribe(session, AUDIO, "zh")
        assert [asked for _p, _h, asked in stt.calls] == [True]

        await assistant.text_turn(session, "帮我交电费", _emit)
        assert session.state.confirmation is not None
        stt.calls.clear()
        stt.text = "确认"  # a biased yes: checked by a plain decode, neither with the model
        assert (await gateway.transcribe(session, AUDIO, "zh")).text == "确认"
        assert len(stt.calls) == 2 and not any(asked for _p, _h, asked in stt.calls)
        assert "确认" in (stt.calls[0][1] or "")  # the first decode was the biased one
    finally:
        gateway.pool.close()


def test_voice_starts_without_the_model_when_its_lines_cannot_be_read(settings, assistant, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "帮我交电费", "lang": "zh"\n', encoding="utf-8")  # cut off mid-line
    for path in (broken, tmp_path / "missing.jsonl"):
        gateway = VoiceGateway.create(settings.model_copy(update={"router_train_path": path}), assistant)
        try:
            assert gateway.pool.stt.lm is None
        finally:
            gateway.pool.close()
    gateway = VoiceGateway.create(settings, assistant)
    try:
        assert gateway.pool.stt.lm is not None and gateway.pool.stt.lm_weight == settings.stt_lm_weight
    finally:
        gateway.pool.close()


def test_the_model_learns_the_routers_mandarin_lines_and_never_a_held_out_file(settings):
    from assistant.api.audio import request_texts
    from assistant.nlu.data import load_training_sources
    from assistant.settings import REPO_ROOT
    from common.errors import ConfigError

    texts = set(request_texts(settings))
    examples = load_training_sources(settings.router_training_files)
    assert {e.text for e in examples if e.lang == "zh"} <= texts
    assert not {e.text for e in examples if e.lang == "en"} & texts
    dev = settings.model_copy(update={"router_train_path": REPO_ROOT / "evals" / "data" / "intent_dev.jsonl"})
    with pytest.raises(ConfigError):
        request_texts(dev)
