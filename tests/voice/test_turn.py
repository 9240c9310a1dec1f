"""Semantic end of turn: smart-turn v3.2 on real (espeak-ng) speech, alone and inside AudioStream."""

from __future__ import annotations

import importlib.util
import zipfile

import numpy as np
import pytest

from assistant.settings import Settings
from voice import synth
from voice.errors import VoiceError
from voice.stream import AudioStream
from voice.turn import (
    SMART_TURN_FILE,
    asks,
    last_window,
    log_mel,
    names_only,
    smart_turn_path,
    sounds_unfinished,
    verb_pending,
    waits_for_more,
)

COMPLETE = "I want to pay my electricity bill."
HALF, REST = "I want to pay my", "electricity bill."
FRAME_S = 0.02


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    d = tmp_path_factory.mktemp("turn-audio")
    try:
        return {text: synth.samples_16k(synth.speak(text, d / f"{i}.wav", pad_s=0.2))
                for i, text in enumerate((COMPLETE, HALF, REST))}
    except synth.MissingTool as exc:
        pytest.fail(str(exc), pytrace=False)


def test_features_match_pipecats_extractor(tmp_path):
    """Our numpy log-mel equals the extractor shipped with the model (from the wheel setup.sh keeps)."""
    folder = smart_turn_path(Settings().smart_turn_dir).parent
    wheel = next(folder.glob("pipecat_ai-*.whl"))
    source = tmp_path / "whisper_features.py"
    with zipfile.ZipFile(wheel) as z:
        source.write_bytes(z.read("pipecat/audio/turn/smart_turn/_whisper_features.py"))
    spec = importlib.util.spec_from_file_location("whisper_features", source)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    rng = np.random.default_rng(7)
    for n in (16000, 5 * 16000, 11 * 16000):
        window = last_window((rng.standard_normal(n) * 0.1).astype(np.float32))
        assert window.shape == (128000,)
        ours = log_mel(window)
        assert ours.shape == (80, 800) and ours.dtype == np.float32
        np.testing.assert_allclose(ours, ref.compute_whisper_log_mel_features(window), atol=1e-5)


def test_test_speech_is_the_same_every_time(tmp_path, speech):
    """sox runs without dither (-D): with it, the silence around the words held fresh random noise on every
    run, and smart-turn's reading of "I want to pay my" ranged from 0.05 to 0.46 over twelve takes."""
    again = synth.samples_16k(synth.speak(HALF, tmp_path / "again.wav", pad_s=0.2))
    np.testing.assert_array_equal(again, speech[HALF])
    assert not np.any(again[:1000])  # the padding is digital silence


def test_model_tells_finished_from_unfinished(smart_turn, speech):
    assert smart_turn.complete_probability(speech[COMPLETE]) > 0.7
    assert smart_turn.complete_probability(speech[HALF]) < 0.3


def test_missing_or_altered_model_is_a_clear_error(tmp_path):
    with pytest.raises(VoiceError) as missing:
        smart_turn_path(tmp_path)
    assert missing.value.code == "turn-unavailable" and "scripts/setup.sh" in missing.value.message
    (tmp_path / SMART_TURN_FILE).write_bytes(b"not the model")
    with pytest.raises(VoiceError, match="sha256"):
        smart_turn_path(tmp_path)


def _stream(turn, **kw) -> AudioStream:
    return AudioStream("pcm16", 16000, endpoint_silence_ms=1500, turn=turn, turn_check_ms=250, **kw)


def _feed_until_end(stream: AudioStream, audio: np.ndarray) -> str | None:
    """Feed 20 ms frames until the stream says the turn is over; why it is (None: not over)."""
    step = int(FRAME_S * 16000)
    for i in range(0, len(audio), step):
        stream.feed(synth.to_pcm16_bytes(audio[i : i + step]))
        reason = stream.end_of_turn()
        if reason is not None:
            return reason
    return None


def test_a_finished_sentence_ends_after_a_short_pause(smart_turn, speech):
    audio = np.concatenate([speech[COMPLETE], synth.silence(2.0)])
    stream = _stream(smart_turn)
    assert _feed_until_end(stream, audio) == "complete"
    assert 250 <= stream.trailing_silence_ms() < 500  # not the 1.5 s fixed pause
    # without the model the same audio waits for the fixed pause
    stream = _stream(None)
    assert _feed_until_end(stream, audio) == "silence"
    assert stream.trailing_silence_ms() >= 1500


def test_the_model_is_asked_once_per_pause(smart_turn, speech):
    """"I want to pay my ... electricity bill": one question at the pause, one at the end, not one per frame;
    the words of the pause are checked too (the websocket tests), as the model alone is often wrong there."""
    stream = _stream(smart_turn)
    _feed_until_end(stream, np.concatenate([speech[HALF], synth.silence(0.9)]))
    assert len(stream.turn_probabilities) == 1
    _feed_until_end(stream, np.concatenate([speech[REST], synth.silence(1.6)]))
    assert len(stream.turn_probabilities) in (1, 2)  # 1: the model already said "complete" at the pause


@pytest.mark.parametrize(("text", "unfinished"), [
    ("帮我交", True), ("帮我交电费。", False), ("这个月的", True), ("这个月的水费多少？", False), ("我还有", True),
    ("我还有多少钱", False), ("不要", False), ("对", False), ("是", False), ("I want to pay my", True),
    ("I want to pay my electricity bill.", False), ("yes please", False), ("", False),
    # a verb after a question word ends a question; an object before 一下 is already said
    ("违章罚款怎么交", False), ("社保卡余额咋查", False), ("手机没信号了咋办", False), ("快递在哪查", False),
    ("问一下，电费是每个月几号扣的", False), ("就这么办", False), ("水費查一下", False), ("電費幫我繳一下", False),
    ("帮我查一下", True), ("帮我交一下", True), ("查一下", True), ("取消支付", False), ("是的", False),
    ("我家电费交了没有", False), ("帮我把", True)])
def test_sounds_unfinished(text, unfinished):
    assert sounds_unfinished(text) is unfinished


@pytest.mark.parametrize(("text", "naming"), [
    ("电费", True), ("我家电费", True), ("电子社保卡", True), ("钱包余额", True), ("浦东那个", True),
    ("三百块", True), ("查账单", False), ("帮我交电费", False), ("电费交一下", False), ("确认", False),
    ("电费多少钱？", False), ("electricity", False), ("", False),
    # a modal particle after the name (Whisper often hears one in the pause) leaves it a topic; 呢/吗 ask
    ("电费呀", True), ("我家电费吧", True), ("电费呢", False), ("电费吗", False), ("好吧", False)])
def test_names_only(text, naming):
    """A bare topic (电费……交一下) waits for what to do with it in elder mode; a request with a verb does not."""
    assert names_only(text) is naming


@pytest.mark.parametrize(("text", "pending"), [
    ("给18912345678", True), ("给189 112345678", True), ("把浦东那个", True),
    ("给18912345678这个号交五十话费", False), ("给我充五十", False), ("交过的钱给我列一下", False),
    ("老年人乘车卡在哪申请", False), ("在吗", False), ("对账单", False), ("帮我交电费", False), ("pay to", False),
    # 拿 before a thing is a coverb too (拿余额……交话费; 交 misheard as the noun 脚); 拿快递 has its verb
    ("拿钱包里", True), ("拿余额脚", True), ("拿余额交话费", False), ("拿快递", False), ("帮我拿一下快递", False)])
def test_verb_pending(text, pending):
    """A coverb (给, 把……) whose verb has not come yet: 给189……这个号交五十话费 is still being said."""
    assert verb_pending(text) is pending


@pytest.mark.parametrize(("text", "more"), [
    ("给18912345678", True), ("电费", True), ("交过的钱", True), ("之前交过的费用", True), ("刚交的那笔", True),
    ("我想交物业管理费", False), ("今年花了多少钱在交费上", False), ("交过的钱给我列一下", False),
    ("帮我查一下上个月交的电费", False), ("这月该交的都有啥", False),
    ("上个月充了", True), ("上个月充了几次话费", False), ("电费交了", False), ("交了没", False), ("算了", False),
    # a person or a month is no object: 上个月 misheard as 以上各月 (a train bench pause clip), and first halves
    # of training lines (我上个月都交了……哪些钱, 这个月花了……多少钱交费); a thing named still closes it
    ("以上各月充了", True), ("我上个月都交了", True), ("这个月花了", True), ("这个月电费该缴了", False),
    ("这个先别弄了", False), ("把这个月的手机账单交了", False),
    # a want + a one-character verb, nothing named: 我想交 misheard as 我想教 (a train bench pause clip cut off),
    # first halves of training lines (我要找……真人, 想订……张机票); the whole training line 燃气费今天得交 is not
    ("我想教", True), ("我要找", True), ("想订", True), ("燃气费今天得交", False), ("我要取消", False),
    # an adverb, a modal or a conjunction waits for its verb: first halves of training lines (话费还……剩多少,
    # 我上个月都……交了哪些钱, 水费又……涨价了吗, 公积金能……不能取出来, 出停车场要……扫码交钱在哪弄); answers,
    # A-not-A questions, 还 as "repay" and words jieba calls adverbs that are not (到期) do not
    ("话费还", True), ("我上个月都", True), ("水费又", True), ("看下已经", True), ("公积金能", True),
    ("出停车场要", True), ("物业管得", True), ("交电费还是", True), ("帮我还", False), ("隔壁老王欠我钱不还", False),
    ("不不不", False), ("不要", False), ("要得", False), ("可以", False), ("随便", False), ("能不能", False), ("公积金能不能。", False),
    ("燃气费什么时候到期", False), ("我老伴说物业费交了，是不是真的", False), ("先不交了，回头再说", False)])
def test_waits_for_more(text, more):
    """A bare topic, a thing named by what was done with it (交过的钱……给我列一下), a coverb without its
    verb, a verb + 了 without its object (上个月充了……几次话费): in elder mode the request is still being said."""
    assert waits_for_more(text) is more


@pytest.mark.parametrize("text", ["电子驾照在哪", "附近的充电桩怎么找", "电费交了没", "水费交了吗？", "还剩几个钱",
                                  "What's my balance", "can you pay the gas bill", "pay it?"])
def test_asks(text):
    assert asks(text)


@pytest.mark.parametrize("text", ["老捏人乘车", "那个没气", "被家里做起", "我想交物业管理费", "电费", "pay the gas bill", ""])
def test_asks_nothing(text):
    assert not asks(text)
