"""A biased yes to a waiting payment, checked by the plain decode's beam (assistant/api/audio.py): it holds
when the plain decode's best reading is a yes, or another reading it scored nearly as well is a yes and none
is a refusal. Whisper base ranks a real 确认 just under 切认; a hesitation the bias made 确认 has no yes there."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.api.audio import VoiceGateway, heard_as_yes
from assistant.nlu.consent import consent
from voice.pool import TranscriptionPool
from voice.stt import SpeechToText, Transcript

AUDIO = np.zeros(16000, dtype=np.float32)


class Biased(SpeechToText):
    """Hears 确认 when steered to it; without the bias, ``plain`` and (when asked) ``others``."""

    gives_alternatives = True

    def __init__(self, plain: str, others: tuple[str, ...]):
        self.plain, self.others = plain, others
        self.asked: list[float] = []

    def transcribe(self, audio, *, lang=None, prompt=None, hotwords=None, domain_lm=False,
                   alternatives_within=0.0) -> Transcript:
        if hotwords and "确认" in hotwords:
            return Transcript("确认", lang, 1000, False)
        self.asked.append(alternatives_within)
        return Transcript(self.plain, lang, 1000, False, self.others if alternatives_within > 0 else ())


async def _emit(event) -> None:
    pass


@pytest.mark.parametrize(("plain", "others", "pays"), [
    ("切认", ("确认", "切任"), True),  # 确认 just under Whisper's best
    ("缺任教费", ("确认教费",), True),
    ("切认", ("确认", "取消"), False),  # a refusal in the beam too: not sure
    ("社国", ("社保",), False),  # 这个嘛 the bias made 确认: no yes in the plain beam
    ("这个嘛", ("这个吗", "确认吗"), False),  # a question is not a yes
    ("切认", ("确认", "确认吗"), False),  # nor is a beam that also reads a question
    ("普对", ("付对", "普对。"), False),  # a slow 不对 as Whisper base wrote it: 付 where 不 starts
    ("付对", (), False),  # the same as the plain decode's best reading: the shape of 不对, asked again
    ("付确认", ("确认",), False),  # 不确认 heard with 付
    ("套的叫吧", ("好的交吧", "好的，交吧……"), False),  # or a hesitation
    ("切认", (), False),  # nothing near the best
])
async def test_a_biased_yes_holds_only_on_a_yes_in_the_plain_beam(settings, assistant, plain, others, pays):
    stt = Biased(plain, others)
    gateway = VoiceGateway(settings, assistant, TranscriptionPool(stt))
    try:
        session, _ = assistant.open_session("u_li", "zh", "elder")
        await assistant.text_turn(session, "帮我交电费", _emit)
        assert session.state.confirmation is not None
        heard = await gateway.transcribe(session, AUDIO, "zh")
        assert (consent(heard.text, spoken=True) == "yes") is pays
        assert stt.asked == [settings.stt_consent_beam_margin]  # one plain decode, asking for its beam
    finally:
        gateway.pool.close()


async def test_a_margin_of_zero_trusts_the_plain_best_alone(settings, assistant):
    stt = Biased("切认", ("确认",))
    gateway = VoiceGateway(settings.model_copy(update={"stt_consent_beam_margin": 0.0}), assistant,
                           TranscriptionPool(stt))
    try:
        session, _ = assistant.open_session("u_li", "zh", "elder")
        await assistant.text_turn(session, "帮我交电费", _emit)
        assert (await gateway.transcribe(session, AUDIO, "zh")).text == "切认" and stt.asked == [0.0]
    finally:
        gateway.pool.close()


def test_what_opens_like_a_refusal():
    from assistant.nlu.consent import opens_like_a_refusal

    assert all(map(opens_like_a_refusal, ["不对", "副对", "嗯，普对", "付对", "那就不要了"]))
    assert not any(map(opens_like_a_refusal, ["确认", "对，交吧", "可以付吧", "", "pay it"]))


def test_what_counts_as_heard_as_yes():
    assert heard_as_yes(Transcript("确认", "zh", 900, False), "确认")
    assert heard_as_yes(Transcript("却认", "zh", 900, False), "确认")  # the same sounds
    assert heard_as_yes(Transcript("切认", "zh", 900, False, ("确认",)), "确认")
    assert not heard_as_yes(Transcript("切认", "zh", 900, False), "确认")
    assert not heard_as_yes(Transcript("切认", "zh", 900, False, ("确认", "不要")), "确认")
    assert not heard_as_yes(Transcript("嗯", "zh", 900, False, ("嗯嗯", "好")), "确认")  # weak words alone
