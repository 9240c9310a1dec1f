from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from voice.audio import decode_audio
from voice.errors import VoiceError
from voice.pool import TranscriptionPool
from voice.stt import SpeechToText, Transcript


class GatedSTT(SpeechToText):
    """A SpeechToText that blocks until the test opens its gate, and records what it ran."""

    def __init__(self):
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)
        self.ran: list[str] = []
        self.threads: set[str] = set()

    def transcribe(self, audio, *, lang=None, prompt=None, hotwords=None) -> Transcript:
        self.threads.add(threading.current_thread().name)
        self.started.release()
        if not self.gate.wait(timeout=10):
            raise TimeoutError("gate never opened")
        if prompt == "boom":
            raise RuntimeError("backend bug")
        self.ran.append(prompt or "")
        return Transcript(prompt or "", lang, len(audio) // 16, False)


async def started(stt: GatedSTT) -> None:
    assert await asyncio.to_thread(stt.started.acquire, True, 5)


AUDIO = np.zeros(1600, dtype=np.float32)


async def test_runs_in_a_worker_thread_and_keeps_the_loop_free():
    stt = GatedSTT()
    async with TranscriptionPool(stt, workers=1, max_queue=2) as pool:
        job = asyncio.create_task(pool.transcribe(AUDIO, lang="en", prompt="a"))
        await started(stt)
        ticks = 0
        for _ in range(5):  # the loop keeps running while the transcription blocks
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 5 and not job.done()
        stt.gate.set()
        t = await job
    assert t == Transcript("a", "en", 100, False)
    assert stt.threads and all(name.startswith("lui-stt") for name in stt.threads)


async def test_queue_limit_rejects_with_a_retryable_error():
    stt = GatedSTT()
    pool = TranscriptionPool(stt, workers=1, max_queue=2)
    running = asyncio.create_task(pool.transcribe(AUDIO, prompt="running"))
    await started(stt)
    queued = [asyncio.create_task(pool.transcribe(AUDIO, prompt=f"q{i}")) for i in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(VoiceError) as err:
        await pool.transcribe(AUDIO, prompt="one too many")
    assert err.value.code == "stt-busy" and err.value.retryable
    assert pool.stats().queued == 2 and pool.stats().running == 1 and pool.stats().rejected == 1
    stt.gate.set()
    results = await asyncio.gather(running, *queued)
    assert [r.text for r in results] == ["running", "q0", "q1"]
    assert pool.stats().completed == 3 and pool.stats().queued == 0
    await pool.aclose()


async def test_cancelling_a_queued_job_drops_it():
    stt = GatedSTT()
    async with TranscriptionPool(stt, workers=1, max_queue=4) as pool:
        first = asyncio.create_task(pool.transcribe(AUDIO, prompt="first"))
        await started(stt)
        doomed = asyncio.create_task(pool.transcribe(AUDIO, prompt="doomed"))
        after = asyncio.create_task(pool.transcribe(AUDIO, prompt="after"))
        await asyncio.sleep(0)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        assert pool.stats().queued == 1 and pool.stats().cancelled == 1  # the slot is free at once
        stt.gate.set()
        assert (await first).text == "first" and (await after).text == "after"
    assert stt.ran == ["first", "after"]  # the cancelled job never ran


async def test_cancelling_a_running_job_discards_its_result():
    stt = GatedSTT()
    async with TranscriptionPool(stt, workers=1, max_queue=4) as pool:
        job = asyncio.create_task(pool.transcribe(AUDIO, prompt="running"))
        await started(stt)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        stt.gate.set()
        nxt = await pool.transcribe(AUDIO, prompt="next")
        assert nxt.text == "next"
    stats = pool.stats()
    assert stats.discarded == 1 and stats.completed == 1 and stats.running == 0


async def test_wait_for_timeout_cancels_like_a_client():
    stt = GatedSTT()
    async with TranscriptionPool(stt, workers=1) as pool:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.transcribe(AUDIO, prompt="slow"), timeout=0.05)
        stt.gate.set()


async def test_backend_errors_become_stt_failed():
    stt = GatedSTT()
    stt.gate.set()
    async with TranscriptionPool(stt) as pool:
        with pytest.raises(VoiceError) as err:
            await pool.transcribe(AUDIO, prompt="boom")
        assert err.value.code == "stt-failed" and err.value.retryable
        assert (await pool.transcribe(AUDIO, prompt="fine")).text == "fine"


async def test_closing_the_pool_cancels_waiting_jobs():
    stt = GatedSTT()
    pool = TranscriptionPool(stt, workers=1, max_queue=4)
    running = asyncio.create_task(pool.transcribe(AUDIO, prompt="running"))
    await started(stt)
    waiting = asyncio.create_task(pool.transcribe(AUDIO, prompt="waiting"))
    await asyncio.sleep(0)
    pool.close()
    with pytest.raises(VoiceError) as err:
        await waiting
    assert err.value.code == "stt-cancelled"
    with pytest.raises(VoiceError) as err:
        await pool.transcribe(AUDIO)
    assert err.value.code == "stt-unavailable"
    stt.gate.set()
    assert (await running).text == "running"
    await pool.aclose()


async def test_real_whisper_through_the_pool(tiny_stt, clips):
    audio = decode_audio(clips.webm.read_bytes(), "webm")
    async with TranscriptionPool(tiny_stt, workers=1, max_queue=4) as pool:
        results = await asyncio.gather(*(pool.transcribe(audio, lang="en") for _ in range(3)))
    assert all("electricity" in r.text.lower() for r in results)
    assert pool.stats().completed == 3


class ModelSTT(SpeechToText):
    """A backend with a domain language model: records whether each job asked for it."""

    def __init__(self, lm):
        self.lm = lm
        self.asked: list[bool] = []

    def transcribe(self, audio, *, lang=None, prompt=None, hotwords=None, domain_lm=False) -> Transcript:
        self.asked.append(domain_lm)
        return Transcript("帮我交电费", lang, 100, False)


async def test_the_domain_model_is_asked_for_only_where_there_is_one():
    stt = ModelSTT(lm=object())
    async with TranscriptionPool(stt) as pool:
        await pool.transcribe(AUDIO, lang="zh", domain_lm=True)
        await pool.transcribe(AUDIO, lang="zh")
    assert stt.asked == [True, False]
    old = GatedSTT()  # an older backend: no domain_lm parameter, no model
    old.gate.set()
    async with TranscriptionPool(old) as pool:
        assert (await pool.transcribe(AUDIO, lang="zh", prompt="a", domain_lm=True)).text == "a"


class BeamSTT(SpeechToText):
    """A backend with a beam: records how far from its best each job asked for other readings."""

    gives_alternatives = True

    def __init__(self):
        self.asked: list[float] = []

    def transcribe(self, audio, *, lang=None, prompt=None, hotwords=None, domain_lm=False,
                   alternatives_within=0.0) -> Transcript:
        self.asked.append(alternatives_within)
        return Transcript("切认", lang, 100, False, ("确认",) if alternatives_within else ())


async def test_other_readings_are_asked_for_only_from_a_backend_with_a_beam():
    stt = BeamSTT()
    async with TranscriptionPool(stt) as pool:
        assert (await pool.transcribe(AUDIO, lang="zh", alternatives_within=0.35)).alternatives == ("确认",)
        assert (await pool.transcribe(AUDIO, lang="zh")).alternatives == ()
    assert stt.asked == [0.35, 0.0]
    old = GatedSTT()  # no beam: the parameter is not passed, and the transcript has no other readings
    old.gate.set()
    async with TranscriptionPool(old) as pool:
        assert (await pool.transcribe(AUDIO, lang="zh", prompt="a", alternatives_within=0.35)).alternatives == ()
