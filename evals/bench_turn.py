"""Turn-taking and spoken replies, measured through the real server: ``python -m evals.bench_turn``.

Mandarin requests from ``evals/data/intent_dev.jsonl`` (transactional ones), spoken by Kokoro voices in
two variants: ``normal`` (speed 1.0) and ``pause`` (elder-like: speed 0.85, the sentence cut at a word
boundary near its middle with 0.6-1.2 s of silence, "帮我交……电费"; the halves are synthesised apart).
Each clip is streamed as pcm16 in real time over a real websocket to the whole app (packaged Whisper
base, router, Kokoro) in an elder-mode session that asked for spoken replies; the microphone stays
open after the words (silence keeps coming), and no ``audio.end`` is sent: only the server's
end-of-turn can answer. For each end-of-turn detector (``smart-turn``, and ``silence``: the fixed
1.5 s pause of before) it reports, from the end of speech (the last chunk with words in it sent):

* ``transcript.final``, ``reply`` (text) and the first binary frame of the spoken reply: p50 / p95 ms;
* false cut-offs: ``pause`` clips whose turn ended before the second half was spoken;
* Kokoro's real-time factor (synthesis time / audio length) on the replies, all and first pieces.

Clips are generated deterministically and cached in ``.cache/bench-turn``. Writes evals/out/bench_turn.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from evals.metrics import machine, percentile, save_result
from voice import synth

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "bench-turn"
VOICES = ("zf_xiaobei", "zm_yunxi", "zf_xiaoyi", "zm_yunyang")
INTENTS = {"pay_bill", "query_bill", "check_balance", "top_up_phone", "payment_history", "lookup_service"}
CHUNK_S = 0.1


def _h(*parts) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def sentences(n: int) -> list[dict]:
    rows = [json.loads(line) for line in (REPO / "evals" / "data" / "intent_dev.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["lang"] == "zh" and r["intent"] in INTENTS and 5 <= len(r["text"]) <= 20]
    rows.sort(key=lambda r: _h(r["text"]))
    return rows[:n]


def split_for_pause(text: str) -> tuple[str, str]:
    import jieba

    words = list(jieba.cut(text))
    best, at = len(text), 0
    pos = 0
    for w in words[:-1]:
        pos += len(w)
        if abs(pos - len(text) / 2) < best:
            best, at = abs(pos - len(text) / 2), pos
    return text[:at], text[at:]


def clip(tts, text: str, voice: str, variant: str) -> tuple[np.ndarray, int]:
    """(16 kHz audio with 0.3 s of silence in front, sample where the second half starts or 0)."""
    from scipy.signal import resample_poly

    key = hashlib.sha256(f"v1|{text}|{voice}|{variant}".encode()).hexdigest()[:16]
    path = CACHE / f"{key}.npz"
    if path.is_file():
        data = np.load(path)
        return data["audio"], int(data["second"])

    def say(t: str, speed: float) -> np.ndarray:
        audio, rate = tts.synth(t, voice, speed)
        return resample_poly(audio, 2, 3).astype(np.float32)

    lead = synth.silence(0.3)
    if variant == "pause":
        a, b = split_for_pause(text)
        first = np.concatenate([lead, say(a, 0.85), synth.silence(0.6 + (_h(text, "p") % 61) / 100)])
        audio, second = np.concatenate([first, say(b, 0.85)]), len(first)
    else:
        audio, second = np.concatenate([lead, say(text, 1.0)]), 0
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, audio=audio, second=second)
    return audio, second


async def one_turn(url: str, audio: np.ndarray, second: int, tail_s: float = 5.0) -> dict:
    from websockets.asyncio.client import connect

    async with connect(url, max_size=2**24) as ws:
        await ws.send(json.dumps({"type": "session.start", "user": "u_li", "lang": "zh", "mode": "elder",
                                  "speech": True}))
        json.loads(await ws.recv())
        marks: dict[str, float] = {}
        events: list[dict] = []

        async def mic() -> None:
            await ws.send(json.dumps({"type": "audio.start", "format": "pcm16", "sample_rate": 16000}))
            data = np.concatenate([audio, synth.silence(tail_s)])
            step = int(CHUNK_S * 16000)
            began = time.monotonic()
            for k, at in enumerate(range(0, len(data), step)):
                if second and at <= second < at + step:
                    marks["second_half"] = time.monotonic()
                await ws.send(synth.to_pcm16_bytes(data[at : at + step]))
                if at < len(audio) <= at + step:
                    marks["speech_end"] = time.monotonic()
                await asyncio.sleep(max(0.0, began + (k + 1) * CHUNK_S - time.monotonic()))

        task = asyncio.create_task(mic())
        try:
            async with asyncio.timeout(len(audio) / 16000 + tail_s + 30):
                while True:
                    raw = await ws.recv()
                    now = time.monotonic()
                    if isinstance(raw, bytes):
                        marks.setdefault("audio", now)
                        break
                    event = json.loads(raw)
                    events.append(event)
                    marks.setdefault(event["type"], now)
                    if event["type"] == "error" or (event["type"] == "reply.audio.end"):
                        break
        except TimeoutError:
            pass
        finally:
            task.cancel()
    end = marks.get("speech_end")
    out = {"events": [e["type"] for e in events],
           "final": next((e["text"] for e in events if e["type"] == "transcript.final"), None),
           "intent": next((e["name"] for e in events if e["type"] == "intent"), None),
           "reply_text": next((e["text"] for e in events if e["type"] == "reply"), None),
           # the server ended the turn before the second half: Whisper got less audio than the first half + pause
           "cut_off": bool(second) and next((e.get("duration_ms", 0) for e in events if e["type"] == "transcript.final"),
                                            10**9) < second / 16 + 200}
    for name, key in (("final_ms", "transcript.final"), ("reply_ms", "reply"), ("audio_ms", "audio")):
        out[name] = round((marks[key] - end) * 1000, 1) if end is not None and key in marks else None
    return out


def run_config(detector: str, clips: list[tuple[dict, str, str, np.ndarray, int]], built: dict) -> dict:
    from assistant.api.app import create_app
    from assistant.api.audio import VoiceGateway
    from assistant.api.server import ServerThread
    from assistant.api.speech import SpeechGateway
    from assistant.runtime import build_assistant
    from assistant.settings import Settings

    fixed = {} if detector == "smart-turn" else {"stt_endpoint_elder_silence_ms": 1500}  # smart-turn: the defaults
    settings = Settings(data_dir=built["dir"], cache_path=Settings().cache_dir, whisper_model="base",
                        turn_detector=detector, stt_endpoint_silence_ms=1500, **fixed,
                        session_starts_per_minute=10**6, user_turns_per_minute=10**6, tts="kokoro")
    if "assistant" not in built:  # built once, outside the server's start-up deadline
        built["assistant"] = build_assistant(settings)
        built["speech"] = SpeechGateway.create(settings)
    assistant = built["assistant"]
    assistant.settings = settings
    voice = VoiceGateway.create(settings, assistant)
    with ServerThread(create_app(settings, assistant, voice=voice, speech=built["speech"]), ws_ping_interval=None) as live:
        rows = []
        for ex, voice_name, variant, audio, second in clips:
            row = asyncio.run(one_turn(live.ws, audio, second))
            row.update(text=ex["text"], intent_gold=ex["intent"], voice=voice_name, variant=variant)
            rows.append(row)
            print(f"  {detector:10s} {variant:6s} {voice_name:11s} final {row['final_ms']} reply {row['reply_ms']} "
                  f"audio {row['audio_ms']} cut {row['cut_off']}  {ex['text']} -> {row['final']}", flush=True)
    voice.pool.close()
    return {"detector": detector, "rows": rows, **summary(rows)}


def summary(rows: list[dict]) -> dict:
    out: dict = {}
    for name in ("final_ms", "reply_ms", "audio_ms"):
        vals = [r[name] for r in rows if r[name] is not None]
        out[name] = {"p50": round(percentile(vals, 50)), "p95": round(percentile(vals, 95)), "n": len(vals)}
    pauses = [r for r in rows if r["variant"] == "pause"]
    out["false_cutoff_rate"] = round(sum(r["cut_off"] for r in pauses) / max(1, len(pauses)), 3)
    out["pause_clips"] = len(pauses)
    out["intent_accuracy"] = round(sum(r["intent"] == r["intent_gold"] for r in rows) / max(1, len(rows)), 3)
    return out


def tts_rtf(tts, texts: list[str], voice: str = "zf_xiaobei", speed: float = 0.85) -> dict:
    from voice.tts import speakable_pieces

    whole, first = [], []
    for text in texts:
        for i, piece in enumerate(speakable_pieces(text)):
            started = time.perf_counter()
            audio, rate = tts.synth(piece, voice, speed)
            rtf = (time.perf_counter() - started) / (len(audio) / rate)
            whole.append(rtf)
            if i == 0:
                first.append((time.perf_counter() - started) * 1000)
    return {"rtf_p50": round(percentile(whole, 50), 3), "rtf_p95": round(percentile(whole, 95), 3),
            "first_piece_ms_p50": round(percentile(first, 50)), "pieces": len(whole)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_turn")
    parser.add_argument("--n", type=int, default=12, help="sentences (each in both variants)")
    parser.add_argument("--detectors", default="smart-turn,silence")
    parser.add_argument("--json-out", type=Path, default=Path("evals/out/bench_turn.json"))
    args = parser.parse_args(argv)
    from assistant.settings import Settings
    from voice.kokoro import Kokoro

    tts = Kokoro(Settings().kokoro_dir)
    clips = []
    for i, ex in enumerate(sentences(args.n)):
        for variant in ("normal", "pause"):
            voice = VOICES[(i + (variant == "pause")) % len(VOICES)]
            clips.append((ex, voice, variant, *clip(tts, ex["text"], voice, variant)))
    result = {"machine": machine(), "clips": len(clips), "configs": []}
    with tempfile.TemporaryDirectory() as tmp:
        built: dict = {"dir": Path(tmp)}
        for detector in args.detectors.split(","):
            result["configs"].append(run_config(detector, clips, built))
            save_result(result, args.json_out, echo=False)
    replies = sorted({r["reply_text"] for c in result["configs"] for r in c["rows"] if r["reply_text"]})[:12]
    result["tts"] = tts_rtf(tts, replies)
    print("\ndetector     end→final p50/p95   end→reply p50/p95   end→1st audio p50/p95   false cut-offs   intent")
    for c in result["configs"]:
        f, r, a = c["final_ms"], c["reply_ms"], c["audio_ms"]
        print(f"{c['detector']:12s} {f['p50']:6d}/{f['p95']:<6d}      {r['p50']:6d}/{r['p95']:<6d}      "
              f"{a['p50']:6d}/{a['p95']:<6d}          {c['false_cutoff_rate']:.1%} of {c['pause_clips']}    "
              f"{c['intent_accuracy']:.2f}")
    print(f"Kokoro RTF p50 {result['tts']['rtf_p50']} p95 {result['tts']['rtf_p95']}, first piece "
          f"{result['tts']['first_piece_ms_p50']} ms p50")
    save_result(result, args.json_out, echo=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
