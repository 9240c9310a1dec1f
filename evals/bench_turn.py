"""Turn-taking and spoken replies, measured through the real server: ``python -m evals.bench_turn``.

Mandarin requests from ``evals/data/intent_dev.jsonl`` (transactional ones), spoken by Kokoro voices in
two variants: ``normal`` (speed 1.0) and ``pause`` (elder-like: speed 0.85, the sentence cut at a word
boundary near its middle with 0.6-1.2 s of silence, "帮我交……电费"; the halves are synthesised apart and
Kokoro's own silence at their inner edges, about 1.2 s, is cut first, so the pause is the stated one).
Each clip is streamed as pcm16 in real time over a real websocket to the whole app (packaged Whisper
base, router, Kokoro) in an elder-mode session that asked for spoken replies; the microphone stays
open after the words (silence keeps coming), and no ``audio.end`` is sent: only the server's
end-of-turn can answer. For each end-of-turn detector (``smart-turn``, and ``silence``: the fixed
1.5 s pause of before; ``hold`` is the elder page's hold-to-talk instead: ``endpoint: client``, the clip up to
its last sound and ``release_ms`` more, then ``audio.end``) it reports, from the end of speech (the last chunk
sent; for ``hold``, the release):

* ``transcript.final``, ``reply`` (text) and the first binary frame of the spoken reply: p50 / p95 ms;
* false cut-offs: ``pause`` clips whose turn ended before the second half was spoken;
* Kokoro's real-time factor (synthesis time / audio length) on the replies, all and first pieces.

``--trace`` also breaks each turn down (times from the end of speech, ms): when the end-of-turn model
was asked and how long it ran, the speculative/final Whisper decodes (submitted, ran), the elder word
check, the turn's hand-over to ``finish``, the first synthesised piece (its length and synthesis time).
It wraps those functions in this process (the server runs in a thread here); the library is untouched.

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
from voice.tts import last_sound_end

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "bench-turn"
VOICES = ("zf_xiaobei", "zm_yunxi", "zf_xiaoyi", "zm_yunyang")
INTENTS = {"pay_bill", "query_bill", "check_balance", "top_up_phone", "payment_history", "lookup_service"}
CHUNK_S = 0.1


def _h(*parts) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)


SOURCES = {"dev": "intent_dev.jsonl", "train": "intent_train.jsonl"}


def sentences(n: int, source: str = "dev") -> list[dict]:
    """``n`` Mandarin transactional requests of 5-20 characters (``train``: for making choices; the router
    learned these, so their intent accuracy flatters it)."""
    rows = [json.loads(line) for line in (REPO / "evals" / "data" / SOURCES[source]).read_text().splitlines()]
    rows = [r for r in rows if r["lang"] == "zh" and r["intent"] in INTENTS and 5 <= len(r["text"]) <= 20]
    rows.sort(key=lambda r: _h(r["text"]))
    return rows[:n]


def trailing_silence_ms(audio: np.ndarray, rate: int = 16000) -> float:
    """How long the clip goes on after its last sound (a 20 ms frame within 40 dB of the loudest):
    Kokoro ends each piece with about a second of silence, so the end of the clip is not the end of speech."""
    end = last_sound_end(audio, rate, frame_ms=20)
    return 1000 * (len(audio) - end) / rate if end is not None else 0.0


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


PAUSE_SPAN = (0.6, 1.2)


def pause_s(text: str, span: tuple[float, float] = PAUSE_SPAN) -> float:
    """The silence inserted in ``text``'s pause clip: 0.6-1.2 s (or ``span``) by its hash."""
    return span[0] + (_h(text, "p") % (round(100 * (span[1] - span[0])) + 1)) / 100


def clip(tts, text: str, voice: str, variant: str, cache: Path = CACHE,
         span: tuple[float, float] = PAUSE_SPAN) -> tuple[np.ndarray, int]:
    """(16 kHz audio with 0.3 s of silence in front, sample where the second half starts or 0)."""
    from scipy.signal import resample_poly

    from evals.voice_zh import PAUSE_VERSION, join_with_pause

    version = f"v1|p{PAUSE_VERSION}" if variant == "pause" else "v1"  # v1 pause clips held 1.8-2.4 s of silence
    if variant == "pause" and span != PAUSE_SPAN:
        version += f"|{span[0]}-{span[1]}"
    key = hashlib.sha256(f"{version}|{text}|{voice}|{variant}".encode()).hexdigest()[:16]
    path = cache / f"{key}.npz"
    if path.is_file():
        data = np.load(path)
        return data["audio"], int(data["second"])

    def say(t: str, speed: float) -> np.ndarray:
        audio, rate = tts.synth(t, voice, speed)
        return resample_poly(audio, 2, 3).astype(np.float32)

    lead = synth.silence(0.3)
    if variant == "pause":
        a, b = split_for_pause(text)
        halves, second = join_with_pause(say(a, 0.85), say(b, 0.85), 16000, pause_s(text, span))
        audio, second = np.concatenate([lead, halves]), len(lead) + second
    else:
        audio, second = np.concatenate([lead, say(text, 1.0)]), 0
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, audio=audio, second=second)
    return audio, second


def held(audio: np.ndarray, release_ms: float, rate: int = 16000) -> np.ndarray:
    """The clip as a hold-to-talk client sends it: up to the last sound, then ``release_ms`` of silence
    while the button is still held (the person lets go a moment after the last word)."""
    end = last_sound_end(audio, rate, frame_ms=20) or len(audio)
    return np.concatenate([audio[:end], synth.silence(release_ms / 1000)]).astype(np.float32)


async def one_turn(url: str, audio: np.ndarray, second: int, tail_s: float = 5.0, hold: bool = False) -> dict:
    """One clip streamed in real time; an open microphone (silence goes on after the clip, no audio.end) or,
    with ``hold``, a hold-to-talk client (``endpoint: client``, audio.end right after the clip)."""
    from websockets.asyncio.client import connect

    async with connect(url, max_size=2**24) as ws:
        await ws.send(json.dumps({"type": "session.start", "user": "u_li", "lang": "zh", "mode": "elder",
                                  "speech": True}))
        json.loads(await ws.recv())
        marks: dict[str, float] = {}
        events: list[dict] = []

        async def mic() -> None:
            start = {"type": "audio.start", "format": "pcm16", "sample_rate": 16000}
            await ws.send(json.dumps(start | ({"endpoint": "client"} if hold else {})))
            data = audio if hold else np.concatenate([audio, synth.silence(tail_s)])
            step = int(CHUNK_S * 16000)
            began = marks["began"] = time.monotonic()
            marks["planned_end"] = began + (-(-len(audio) // step) - 1) * CHUNK_S  # when the clip's last chunk goes
            for k, at in enumerate(range(0, len(data), step)):
                if second and at <= second < at + step:
                    marks["second_half"] = time.monotonic()
                await ws.send(synth.to_pcm16_bytes(data[at : at + step]))
                if at < len(audio) <= at + step:
                    marks["speech_end"] = time.monotonic()
                await asyncio.sleep(max(0.0, began + (k + 1) * CHUNK_S - time.monotonic()))
            if hold:
                await ws.send(json.dumps({"type": "audio.end"}))  # let go of the button

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
    # a turn may end (and a cached opening be heard) before the clip's trailing silence is all sent
    end = marks.get("speech_end", marks.get("planned_end"))
    out = {"events": [e["type"] for e in events],
           "final": next((e["text"] for e in events if e["type"] == "transcript.final"), None),
           "intent": next((e["name"] for e in events if e["type"] == "intent"), None),
           "reply_text": next((e["text"] for e in events if e["type"] == "reply"), None),
           # the server ended the turn before the second half: Whisper got less audio than the first half + pause
           "speech_end_at": end,
           "second_half_at": marks.get("second_half", marks.get("began")),  # a cut-off turn is traced from here
           "cut_off": bool(second) and next((e.get("duration_ms", 0) for e in events if e["type"] == "transcript.final"),
                                            10**9) < second / 16 + 200}
    for name, key in (("final_ms", "transcript.final"), ("reply_ms", "reply"), ("audio_ms", "audio")):
        out[name] = round((marks[key] - end) * 1000, 1) if end is not None and key in marks else None
    return out


class Trace:
    """Timestamps (``time.monotonic``, the clock the client marks use) of wrapped server functions."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float, float, dict]] = []  # (name, start, end, info)
        self._undo: list = []

    def wrap(self, owner, attr: str, name: str, info=None, pre=None) -> None:
        original = getattr(owner, attr)
        trace = self

        if asyncio.iscoroutinefunction(original):
            async def wrapper(*args, **kwargs):
                started, first = time.monotonic(), pre(args) if pre else {}
                result = await original(*args, **kwargs)
                trace.events.append((name, started, time.monotonic(), first | (info(args, result) if info else {})))
                return result
        else:
            def wrapper(*args, **kwargs):
                started, first = time.monotonic(), pre(args) if pre else {}
                result = original(*args, **kwargs)
                trace.events.append((name, started, time.monotonic(), first | (info(args, result) if info else {})))
                return result
        setattr(owner, attr, wrapper)
        self._undo.append((owner, attr, original))

    def install(self) -> Trace:
        from assistant.api.audio import VoiceGateway
        from assistant.api.speech import Speaker
        from assistant.api.utterance import Utterance
        from assistant.api.ws import Connection
        from voice.correct import PinyinCorrector
        from voice.kokoro import Kokoro
        from voice.pool import TranscriptionPool
        from voice.turn import SmartTurn

        self.wrap(SmartTurn, "complete_probability", "smart_turn", lambda a, r: {"p": round(r, 2)})
        self.wrap(TranscriptionPool, "_run", "whisper", pre=lambda a: {"audio_s": round(len(a[1].audio) / 16000, 2)})
        self.wrap(TranscriptionPool, "transcribe", "whisper_await")
        self.wrap(VoiceGateway, "reading", "word_check", lambda a, r: {"text": a[2], "reads": r})
        self.wrap(Connection, "end_audio_turn", "end_turn")
        self.wrap(Utterance, "finish", "finish")
        self.wrap(PinyinCorrector, "correct", "correct")
        self.wrap(Kokoro, "synth", "synth", lambda a, r: {"text": a[1], "audio_s": round(len(r[0]) / r[1], 2)})
        self.wrap(Speaker, "_speak", "speak")
        return self

    def uninstall(self) -> None:
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)
        self._undo.clear()

    def take(self, since: float) -> list[dict]:
        """Events started after ``since``, times in ms relative to ``since``; the list is emptied."""
        out = [{"what": name, "at": round((a - since) * 1000), "ms": round((b - a) * 1000), **info}
               for name, a, b, info in sorted(self.events, key=lambda e: e[1])]
        self.events.clear()
        return out


def phases(row: dict) -> dict:
    """One traced turn's main phases, ms from the end of speech."""
    ev = [e for e in row.get("trace", []) if e["at"] > -3000]
    end = next((e["at"] for e in ev if e["what"] == "end_turn"), None)
    before = [e for e in ev if end is None or e["at"] <= end]
    asked = [e for e in before if e["what"] == "smart_turn"]
    out = {"turn_ask": asked[-1]["at"] if asked else None, "turn_ms": asked[-1]["ms"] if asked else None,
           "end_turn": end}
    word = [e for e in before if e["what"] == "word_check"]
    if word:
        out["word_check"], out["word_check_ms"] = word[-1]["at"], word[-1]["ms"]
    runs = [e for e in ev if e["what"] == "whisper"]
    if runs:
        out["decode_start"], out["decode_ms"], out["decodes"] = runs[-1]["at"], runs[-1]["ms"], len(runs)
    synth = [e for e in ev if e["what"] == "synth"]
    if synth:
        out["synth_start"], out["synth_ms"], out["first_piece_s"] = synth[0]["at"], synth[0]["ms"], synth[0]["audio_s"]
    return out


def run_config(detector: str, clips: list[tuple[dict, str, str, np.ndarray, int]], built: dict,
               trace: Trace | None = None) -> dict:
    from assistant.api.app import create_app
    from assistant.api.audio import VoiceGateway
    from assistant.api.server import ServerThread
    from assistant.api.speech import SpeechGateway
    from assistant.runtime import build_assistant
    from assistant.settings import Settings

    name, *extra = detector.split("+")
    fixed = dict(item.split("=", 1) for item in extra)  # e.g. turn_elder_check_ms=500 (pydantic converts)
    release_ms = float(fixed.pop("release_ms", 300))  # hold: how long after the last sound the button is let go
    hold, name = name == "hold", "smart-turn" if name == "hold" else name
    if name != "smart-turn":
        fixed = {"stt_endpoint_elder_silence_ms": 1500} | fixed  # smart-turn: the defaults
    settings = Settings(data_dir=built["dir"], cache_path=Settings().cache_dir, whisper_model="base",
                        turn_detector=name, stt_endpoint_silence_ms=1500, **fixed,
                        session_starts_per_minute=10**6, user_turns_per_minute=10**6, tts="kokoro")
    if "assistant" not in built:  # built once, outside the server's start-up deadline
        built["assistant"] = build_assistant(settings)
        built["speech"] = SpeechGateway.create(settings)
    assistant = built["assistant"]
    assistant.settings = settings
    if built["speech"] is not None:
        built["speech"].settings = settings  # the TTS settings of this config (one Kokoro for all)
    voice = VoiceGateway.create(settings, assistant)
    with ServerThread(create_app(settings, assistant, voice=voice, speech=built["speech"]), ws_ping_interval=None) as live:
        rows = []
        for ex, voice_name, variant, audio, second in clips:
            if trace is not None:
                trace.events.clear()
            if hold:
                audio = held(audio, release_ms)
            row = asyncio.run(one_turn(live.ws, audio, second, hold=hold))
            end_at = row.pop("speech_end_at")
            second_at = row.pop("second_half_at")
            if trace is not None and row["cut_off"] and second_at is not None:  # cut off: why?
                row["trace_from_second_half"] = trace.take(second_at)
                print("    cut off; ms from the second half (or the start): " + "  ".join(
                    f"{e['what']}@{e['at']}" + (f"({e.get('p', e.get('reads', ''))})" if "p" in e or "reads" in e else "")
                    for e in row["trace_from_second_half"] if e["at"] > -4000), flush=True)
            elif trace is not None and end_at is not None:
                row["trace"] = trace.take(end_at)
                row["phases"] = phases(row)
                print("    " + "  ".join(f"{k} {v}" for k, v in row["phases"].items()), flush=True)
            row.update(text=ex["text"], intent_gold=ex["intent"], voice=voice_name, variant=variant,
                       tail_ms=round(trailing_silence_ms(audio)))
            rows.append(row)
            print(f"  {detector:10s} {variant:6s} {voice_name:11s} final {row['final_ms']} reply {row['reply_ms']} "
                  f"audio {row['audio_ms']} cut {row['cut_off']}  {ex['text']} -> {row['final']}", flush=True)
    voice.pool.close()
    return {"detector": detector, "rows": rows, **summary(rows)}


def phase_summary(rows: list[dict]) -> dict:
    """p50 of each traced phase over the rows that have it."""
    names = sorted({k for r in rows for k in r.get("phases", {})})
    return {k: round(percentile([r["phases"][k] for r in rows if r.get("phases", {}).get(k) is not None], 50))
            for k in names if any(r.get("phases", {}).get(k) is not None for r in rows)}


def summary(rows: list[dict]) -> dict:
    out: dict = {}
    rows_all, rows = rows, [r for r in rows if not r["cut_off"]]  # a cut-off turn's latency is no answer's
    for name in ("final_ms", "reply_ms", "audio_ms"):
        vals = [r[name] for r in rows if r[name] is not None]
        out[name] = {"p50": round(percentile(vals, 50)), "p95": round(percentile(vals, 95)), "n": len(vals)}
        # the same from the last sound of the clip (its end + the silence Kokoro left after the words)
        vals = [r[name] + r.get("tail_ms", 0) for r in rows if r[name] is not None]
        out[name]["from_last_sound_p50"] = round(percentile(vals, 50))
    rows = rows_all
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
    parser.add_argument("--detectors", default="smart-turn,silence",
                        help="comma-separated; a detector may carry settings: smart-turn+turn_elder_check_ms=500; "
                             "'hold' is a hold-to-talk client (audio.end 300 ms after the last sound: hold+release_ms=500)")
    parser.add_argument("--source", choices=sorted(SOURCES), default="dev",
                        help="train: sentences to make choices on (dev only to report)")
    parser.add_argument("--pause-s", default="0.6-1.2",
                        help="the silence of the pause clips, LO-HI seconds (longer: an elder's long pause)")
    parser.add_argument("--variants", default="normal,pause", help="comma-separated: normal, pause")
    parser.add_argument("--no-rtf", action="store_true", help="skip the Kokoro real-time factor at the end")
    parser.add_argument("--trace", action="store_true", help="break each turn down (server phases)")
    parser.add_argument("--json-out", type=Path, default=Path("evals/out/bench_turn.json"))
    args = parser.parse_args(argv)
    from assistant.settings import Settings
    from voice.kokoro import Kokoro

    tts = Kokoro(Settings().kokoro_dir)
    span = tuple(float(x) for x in args.pause_s.split("-"))
    clips = []
    for i, ex in enumerate(sentences(args.n, args.source)):
        for variant in ("normal", "pause"):
            if variant not in args.variants.split(","):
                continue
            voice = VOICES[(i + (variant == "pause")) % len(VOICES)]
            clips.append((ex, voice, variant, *clip(tts, ex["text"], voice, variant, span=span)))
    result = {"machine": machine(), "clips": len(clips), "source": args.source, "pause_s": args.pause_s,
              "configs": []}
    with tempfile.TemporaryDirectory() as tmp:
        built: dict = {"dir": Path(tmp)}
        trace = Trace().install() if args.trace else None
        for detector in args.detectors.split(","):
            result["configs"].append(run_config(detector, clips, built, trace))
        if trace is not None:
            trace.uninstall()
            save_result(result, args.json_out, echo=False)
    replies = sorted({r["reply_text"] for c in result["configs"] for r in c["rows"] if r["reply_text"]})[:12]
    none = {"rtf_p50": None, "rtf_p95": None, "first_piece_ms_p50": None}
    result["tts"] = none if args.no_rtf else tts_rtf(tts, replies)  # the whole model, as the test speech is made
    served = Kokoro(tts.files, trim_silence=True)  # as the server speaks (LUI_TTS_TRIM_SILENCE)
    result["tts_served"] = none if args.no_rtf else tts_rtf(served, replies)
    print("\ndetector     end→final p50/p95   end→reply p50/p95   end→1st audio p50/p95   false cut-offs   intent")
    for c in result["configs"]:
        f, r, a = c["final_ms"], c["reply_ms"], c["audio_ms"]
        print(f"{c['detector']:12s} {f['p50']:6d}/{f['p95']:<6d}      {r['p50']:6d}/{r['p95']:<6d}      "
              f"{a['p50']:6d}/{a['p95']:<6d}          {c['false_cutoff_rate']:.1%} of {c['pause_clips']}    "
              f"{c['intent_accuracy']:.2f}")
    print("from the last sound (end of clip + Kokoro's trailing silence), p50: " + "; ".join(
        f"{c['detector']}: final {c['final_ms']['from_last_sound_p50']} reply {c['reply_ms']['from_last_sound_p50']} "
        f"audio {c['audio_ms']['from_last_sound_p50']}" for c in result["configs"]))
    for c in result["configs"]:
        if args.trace:
            print(f"{c['detector']} phases p50 (ms from end of speech): {phase_summary(c['rows'])}")
    for name, key in (("whole model", "tts"), ("as served, silence not decoded", "tts_served")):
        print(f"Kokoro ({name}): RTF p50 {result[key]['rtf_p50']} p95 {result[key]['rtf_p95']}, first piece "
              f"{result[key]['first_piece_ms_p50']} ms p50")
    save_result(result, args.json_out, echo=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
