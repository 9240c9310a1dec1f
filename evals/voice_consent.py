"""Spoken answers while a payment waits: ``python -m evals.voice_consent [--split dev] [--lang zh,en]``.

Money moves only on a clear yes. This measures that rule where it is weakest: on what Whisper hears.
Answers from ``evals/data/spoken_consent.jsonl`` (clear yeses, clear noes, and what must never pay:
fillers, hesitations, questions, bare acknowledgements, unrelated words), each spoken by Kokoro voices
(Mandarin and English) in the variants ``normal``, ``slow`` (speed 0.8) and ``noise`` (pink noise at
10-20 dB SNR), as Ogg/Opus the way the elder page sends it. Each clip is read the way the server reads
an answer: an elder session whose electricity payment waits (a real assistant on a fresh SQLite file,
"帮我交电费" typed first), the recogniser biased by that state (``VoiceGateway.transcribe``: the
确认/取消 prompt and hotwords, the plain-decode check of a biased yes, the Mandarin corrector), then the
dialogue's rule (``consent(text, spoken=True)``: the only way to ``confirm_payment``).

It reports, per language and answer kind: **unsafe** (an answer that is not a clear yes read as one: a
payment made; must be 0), yeses asked again (annoying, safe) and noes asked again. The phrases have a
``train`` split (for looking at errors) and a ``dev`` split (only measured). Clips are cached in
``.cache/voice-eval/consent``. Writes evals/out/voice_consent.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from assistant.settings import REPO_ROOT

DATA = REPO_ROOT / "evals" / "data" / "spoken_consent.jsonl"
CACHE = REPO_ROOT / ".cache" / "voice-eval" / "consent"
OUT = REPO_ROOT / "evals" / "out" / "voice_consent.json"
VOICES = {"zh": ("zf_xiaobei", "zf_xiaoxiao", "zf_xiaoyi", "zm_yunjian", "zm_yunxi", "zm_yunxia", "zm_yunyang"),
          "en": ("af_heart", "af_bella", "am_michael", "bf_emma")}
PREPARE = {"zh": "帮我交电费", "en": "pay my electricity bill"}
VARIANTS = ("normal", "slow", "noise")
GEN_VERSION = "1"


def load(split: str, langs: tuple[str, ...]) -> list[dict]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split and r["lang"] in langs]


def plan(rows: list[dict], voices_each: int, variants: tuple[str, ...]) -> list[dict]:
    """Each answer by ``voices_each`` voices (a stable-hash rotation), each in every variant."""
    from evals.voice_zh import _h

    specs = []
    for row in rows:
        voices = VOICES[row["lang"]]
        first = _h("consent", row["text"]) % len(voices)
        for k in range(min(voices_each, len(voices))):
            voice = voices[(first + k) % len(voices)]
            for variant in variants:
                snr = 10 + _h(row["text"], voice, "snr") % 11 if variant == "noise" else None
                specs.append(row | {"voice": voice, "variant": variant, "speed": 0.8 if variant == "slow" else 1.0,
                                    "snr_db": snr})
    return specs


def clip(tts, spec: dict) -> bytes:
    """The answer as Ogg/Opus, synthesised once and cached by everything that makes it."""
    from evals.voice_zh import _h, add_noise, write_ogg

    key = _h(GEN_VERSION, spec["text"], spec["voice"], spec["speed"], spec["snr_db"])
    path = CACHE / f"{key:012x}.ogg"
    if not path.is_file():
        audio, rate = tts.synth(spec["text"], spec["voice"], spec["speed"])
        if spec["snr_db"] is not None:
            audio = add_noise(audio, spec["snr_db"], _h(spec["text"], spec["voice"]))
        write_ogg(audio, rate, path)
    return path.read_bytes()


async def _waiting_session(assistant, lang: str):
    """An elder session whose electricity payment waits for an answer."""
    session, _ = assistant.open_session("u_li", lang, "elder")

    async def emit(event) -> None:
        pass

    await assistant.text_turn(session, PREPARE[lang], emit)
    if session.state.confirmation is None:
        raise SystemExit(f"{PREPARE[lang]!r} did not prepare a payment: {session.state}")
    return session


async def read_all(specs: list[dict], tts, data_dir: Path, plain_too: bool = False) -> list[dict]:
    from assistant.api.audio import VoiceGateway
    from assistant.nlu.consent import consent
    from assistant.runtime import build_assistant
    from assistant.settings import Settings
    from voice.audio import decode_audio

    settings = Settings(data_dir=data_dir, cache_path=Settings().cache_dir, whisper_model="base", tts="off")
    assistant = build_assistant(settings)
    gateway = VoiceGateway.create(settings, assistant)
    sessions = {lang: await _waiting_session(assistant, lang) for lang in sorted({s["lang"] for s in specs})}
    decodes: list[str] = []  # what Whisper wrote in each decode of the clip (biased; plain when checked)
    transcribe = gateway.pool.transcribe

    async def recorded(*args, **kwargs):
        heard = await transcribe(*args, **kwargs)
        decodes.append(("biased: " if kwargs.get("prompt") or kwargs.get("hotwords") else "plain: ") + heard.text)
        return heard

    gateway.pool.transcribe = recorded
    out = []
    try:
        for i, spec in enumerate(specs):
            audio = decode_audio(clip(tts, spec), "ogg")
            decodes.clear()
            started = time.perf_counter()
            heard = await gateway.transcribe(sessions[spec["lang"]], audio, spec["lang"])
            ms = (time.perf_counter() - started) * 1000
            got = consent(heard.text, spoken=True) if heard.text else "unclear"  # no speech: asked again
            if plain_too and not any(d.startswith("plain: ") for d in decodes):
                await recorded(audio, lang=spec["lang"])  # for studying the rule offline (not timed)
            out.append(spec | {"heard": heard.text, "got": got, "ms": round(ms), "decodes": list(decodes)})
            flag = "UNSAFE " if got == "yes" and spec["expect"] != "yes" else ""
            print(f"{i + 1:4d} {flag}{spec['expect']:7s}->{got:7s} {spec['voice']:11s} {spec['variant']:6s} "
                  f"{spec['text']} -> {heard.text}", flush=True)
            assert sessions[spec["lang"]].state.confirmation is not None  # reading an answer settles nothing
    finally:
        gateway.pool.close()
    return out


def summarise(rows: list[dict]) -> dict:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[f"{r['lang']} {r['kind']}"].append(r)
        groups[f"{r['lang']} {r['variant']}"].append(r)
        groups[r["lang"]].append(r)
    table = {}
    for name, rs in sorted(groups.items()):
        expect = Counter(r["expect"] for r in rs)
        unsafe = sum(r["got"] == "yes" and r["expect"] != "yes" for r in rs)
        table[name] = {
            "clips": len(rs), "unsafe": unsafe,
            "yes_paid": round(sum(r["got"] == "yes" for r in rs if r["expect"] == "yes") / expect["yes"], 3)
            if expect["yes"] else None,
            "no_cancelled": round(sum(r["got"] == "no" for r in rs if r["expect"] == "no") / expect["no"], 3)
            if expect["no"] else None,
            "unclear_asked_again": round(sum(r["got"] == "unclear" for r in rs if r["expect"] == "unclear")
                                         / expect["unclear"], 3) if expect["unclear"] else None,
        }
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.voice_consent", description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("train", "dev"), default="dev")
    parser.add_argument("--lang", default="zh,en", help="comma-separated: zh, en")
    parser.add_argument("--voices-each", type=int, default=3, help="voices per answer (of 7 Mandarin, 4 English)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--plain-too", action="store_true",
                        help="also record Whisper's unbiased decode of every clip (for studying the yes check)")
    parser.add_argument("--json-out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    from assistant.settings import Settings
    from evals.metrics import machine
    from voice.kokoro import Kokoro

    rows = load(args.split, tuple(args.lang.split(",")))
    specs = plan(rows, args.voices_each, tuple(args.variants.split(",")))
    tts = Kokoro(Settings().kokoro_dir)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        read = asyncio.run(read_all(specs, tts, Path(tmp), args.plain_too))
    table = summarise(read)
    result = {"machine": machine(), "split": args.split, "answers": len(rows), "clips": len(read),
              "seconds": round(time.perf_counter() - started), "table": table,
              "unsafe": [r for r in read if r["got"] == "yes" and r["expect"] != "yes"], "rows": read}
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\n{'group':22s}{'clips':>6s}{'unsafe':>8s}{'yes paid':>10s}{'no cancelled':>14s}{'unclear asked':>15s}")
    for name, t in table.items():
        cells = [f"{t[k]:.3f}" if t[k] is not None else "-" for k in ("yes_paid", "no_cancelled", "unclear_asked_again")]
        print(f"{name:22s}{t['clips']:>6d}{t['unsafe']:>8d}{cells[0]:>10s}{cells[1]:>14s}{cells[2]:>15s}")
    print(f"json: {args.json_out} ({result['seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
