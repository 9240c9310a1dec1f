"""Speech-to-text latency benchmark: ``python -m evals.bench_stt [--lang en|zh] [--runs 5] [--models base tiny.en]``.

For English utterances of about 2, 4, 6 and 8 s (espeak-ng, sent as WebM/Opus like a browser),
with each packaged Whisper model (int8, 2 threads), it measures

* ``final`` ms: from the end of the audio (``audio.end``; every frame already received) to the
  final transcript: ``AudioStream.finish`` (frames are decoded as they arrive, so little is left)
  plus Whisper;
* ``rtf``: Whisper's time / audio duration (real-time factor; under 1 is faster than speech);
* ``wer``: word error rate against the text spoken (a sanity check, not an accuracy eval);

with and without the domain prompt (hotwords), beam_size 1 against 5, and, for the multilingual
model, a given language against auto-detection. ``--windows``: the encoder windows to compare
(``LUI_STT_WINDOW_S``, voice/whisper_window.py; default the setting's default and the full 30 s), each
at every length on the first setting. Prints a table and writes evals/out/bench_stt.json.

``--lang zh``: Mandarin requests of about 3, 5, 8 and 11 s spoken by Kokoro (``zf_xiaobei``, speed 1.0;
``.cache/kokoro`` as scripts/setup.sh assembles it), sent as Ogg/Opus like the elder page, through the
multilingual base model; ``wer`` is then the normalised character error rate (evals.voice_zh). The
server's setting (language zh, beam 5, hotwords) at every length; without hotwords, beam 1 and
auto-detection at 4 and 8 s. Writes evals/out/bench_stt-zh.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from voice.models import resolve_whisper_model
from voice.stream import AudioStream
from voice.stt import WhisperSTT

OUT = Path(__file__).resolve().parent / "out" / "bench_stt.json"
ALL = (2, 4, 6, 8)
UTTERANCES = {
    2: "Pay my electricity bill.",
    4: "Please check how much I owe on my water bill this month.",
    6: "I would like to pay the gas bill for my apartment, and then tell me my account balance.",
    8: "Hello, I need to pay the broadband bill and the property fee, and please send the invoice "
    "for the phone bill to my email.",
}
UTTERANCES_ZH = {
    2: "帮我交电费。",
    4: "帮我查一下这个月的水费是多少。",
    6: "我想交一下浦东那套房子的燃气费，然后告诉我钱包里还剩多少钱。",
    8: "你好，我要交宽带费和物业费，再帮我查一下上个月的电话费交了没有，顺便把发票发到我的邮箱里。",
}


@dataclass
class Row:
    model: str
    seconds: float
    lang: str
    beam: int
    domain: bool
    window_s: float
    final_p50_ms: float
    final_p95_ms: float
    rtf_p50: float
    wer: float
    text: str


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        sys.exit(f"{tool} is needed: apt-get install -y espeak-ng ffmpeg")
    return path


def synthesise(text: str, target_s: float, workdir: Path) -> tuple[bytes, float]:
    """espeak-ng at a speed that fills ``target_s`` (0.2 s silence each side) -> WebM/Opus bytes."""
    wav = workdir / "speech.wav"
    speed = 160
    for _ in range(2):
        subprocess.run([need("espeak-ng"), "-v", "en-us", "-s", str(speed), "-w", str(wav), text], check=True)
        spoken = (wav.stat().st_size - 44) / 2 / 22050
        speed = int(min(300, max(90, speed * spoken / (target_s - 0.4))))
    cmd = [need("ffmpeg"), "-hide_banner", "-loglevel", "error", "-i", str(wav), "-af", "adelay=200,apad=pad_dur=0.2",
           "-ar", "48000", "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-f", "webm", "pipe:1"]
    data = subprocess.run(cmd, check=True, capture_output=True).stdout
    return data, len(decode_webm(data)) / 16000


def decode_webm(data: bytes, fmt: str = "webm"):
    stream = AudioStream(fmt, max_seconds=60)
    stream.feed(data)
    return stream.finish()


def synthesise_zh(text: str, tts, workdir: Path) -> tuple[bytes, float]:
    """Kokoro Mandarin (0.3 s silence each side) -> Ogg/Opus bytes, as the elder page sends."""
    from evals.voice_zh import write_ogg

    audio, rate = tts.synth(text, "zf_xiaobei", 1.0)
    data = write_ogg(audio, rate, workdir / f"{abs(hash(text))}.ogg").read_bytes()
    return data, len(decode_webm(data, "ogg")) / 16000


def cer(reference: str, hypothesis: str) -> float:
    from evals.voice_zh import norm_chars
    from evals.wer import edit_distance

    ref = norm_chars(reference)
    return edit_distance(ref, norm_chars(hypothesis)) / max(1, len(ref))


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = (re.findall(r"[a-z0-9']+", s.lower()) for s in (reference, hypothesis))
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass
class Config:
    model: str
    stt: WhisperSTT
    lang: str | None
    beam: int
    domain: bool
    seconds: int
    fmt: str = "webm"
    window_s: float = 30.0
    finals: list[float] = field(default_factory=list)  # ms from audio.end to the final transcript
    whisper: list[float] = field(default_factory=list)  # s inside WhisperSTT.transcribe
    text: str = ""


def measure_once(cfg: Config, data: bytes) -> None:
    cfg.stt.beam_size, cfg.stt.domain_prompt, cfg.stt.window_s = cfg.beam, cfg.domain, cfg.window_s
    stream = AudioStream(cfg.fmt, max_seconds=60)
    stream.feed(data)  # frames arrive while the person speaks: not part of the latency
    started = time.perf_counter()
    audio = stream.finish()  # audio.end
    decoded = time.perf_counter()
    cfg.text = cfg.stt.transcribe(audio, lang=cfg.lang).text
    done = time.perf_counter()
    cfg.finals.append((done - started) * 1000)
    cfg.whisper.append(done - decoded)


def _with_windows(configs: list[Config], windows: tuple[float, ...]) -> list[Config]:
    """The first setting (every length) at each encoder window; the others at the first window."""
    first = [c for c in configs if (c.lang, c.beam, c.domain) == (configs[0].lang, configs[0].beam, configs[0].domain)]
    def at(c: Config, window_s: float) -> Config:  # fresh timing lists (replace would share them)
        return replace(c, window_s=window_s, finals=[], whisper=[])

    return [at(c, w) for w in windows for c in first] + [at(c, windows[0]) for c in configs if c not in first]


def configs_for(name: str, stt: WhisperSTT, windows: tuple[float, ...] = (30.0,)) -> list[Config]:
    """The domain prompt on at every length (each encoder window) and off; beam 5 and (multilingual
    model) a given language instead of auto-detection at 4 and 8 s."""
    settings = [(None, 1, True, ALL), (None, 1, False, ALL), (None, 5, True, (4, 8))]
    if stt.multilingual:
        settings.append(("en", 1, True, (4, 8)))
    configs = [Config(name, stt, lang, beam, domain, s) for lang, beam, domain, lengths in settings for s in lengths]
    return _with_windows(configs, windows)


def configs_for_zh(name: str, stt: WhisperSTT, windows: tuple[float, ...] = (30.0,)) -> list[Config]:
    """The server's Mandarin setting (zh, beam 5, hotwords) at every length and encoder window;
    hotwords off, beam 1 and auto-detection at 4 and 8 s."""
    settings = [("zh", 5, True, ALL), ("zh", 5, False, (4, 8)), ("zh", 1, True, (4, 8)), (None, 5, True, (4, 8))]
    configs = [Config(name, stt, lang, beam, domain, s, "ogg") for lang, beam, domain, lengths in settings for s in lengths]
    return _with_windows(configs, windows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=("en", "zh"), default="en",
                        help="en: espeak-ng English (WebM); zh: Kokoro Mandarin (Ogg, multilingual models only)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per configuration")
    parser.add_argument("--models", nargs="+", default=None, help="default: tiny.en base (en), base (zh)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=Path(".lui/cache"))
    parser.add_argument("--windows", type=float, nargs="+", default=None,
                        help="encoder windows in s (LUI_STT_WINDOW_S); default: the setting's default, then 30")
    parser.add_argument("--out", type=Path, default=None, help="default evals/out/bench_stt[-zh].json")
    args = parser.parse_args(argv)
    zh = args.lang == "zh"
    args.models = args.models or (["base"] if zh else ["tiny.en", "base"])
    if args.windows is None:
        from assistant.settings import Settings

        args.windows = list(dict.fromkeys([Settings.model_fields["stt_window_s"].default, 30.0]))
    windows = tuple(args.windows)
    args.out = args.out or (OUT.with_name("bench_stt-zh.json") if zh else OUT)

    started, load_start = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        if zh:
            from assistant.settings import Settings
            from voice.kokoro import Kokoro

            tts = Kokoro(Settings().kokoro_dir)  # tts-unavailable names what setup.sh must assemble
            clips = {s: (*synthesise_zh(t, tts, Path(tmp)), t) for s, t in UTTERANCES_ZH.items()}
        else:
            clips = {s: (*synthesise(t, s, Path(tmp)), t) for s, t in UTTERANCES.items()}
    fmt = "ogg" if zh else "webm"
    configs: list[Config] = []
    loads = {}
    for name in args.models:
        stt = WhisperSTT(resolve_whisper_model(name, args.cache_dir), compute_type="int8", cpu_threads=args.threads)
        if zh and not stt.multilingual:
            sys.exit(f"{name} is an English-only model: --lang zh needs a multilingual one (base)")
        stt.load()
        loads[name] = round(stt.load_seconds or 0, 2)
        stt.transcribe(decode_webm(clips[2][0], fmt))  # warm-up: VAD model, first-call allocations
        configs += configs_for_zh(name, stt, windows) if zh else configs_for(name, stt, windows)
    # round-robin: every configuration sees the same share of whatever else runs on the machine
    for run in range(args.runs):
        for cfg in configs:
            measure_once(cfg, clips[cfg.seconds][0])
        print(f"  run {run + 1}/{args.runs} done", file=sys.stderr)
    rows = []
    for cfg in configs:
        _data, actual, text = clips[cfg.seconds]
        rows.append(Row(cfg.model, round(actual, 2), cfg.lang or ("auto" if cfg.stt.multilingual else "en"),
                        cfg.beam, cfg.domain, cfg.window_s, round(statistics.median(cfg.finals)), round(p95(cfg.finals)),
                        round(statistics.median(cfg.whisper) / actual, 3),
                        round((cer if zh else wer)(text, cfg.text), 2), cfg.text))
    elapsed = time.perf_counter() - started
    print_table(rows, loads, "CER" if zh else "WER")
    print(f"load average {load_start[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end (other processes skew timings)")
    report = {
        "benchmark": "stt", "runs": args.runs, "threads": args.threads, "compute_type": "int8",
        "lang": args.lang,
        "input": ("Kokoro zf_xiaobei Mandarin, Ogg/Opus 32 kb/s 48 kHz" if zh else "espeak-ng en-us, WebM/Opus 32 kb/s "
                  "48 kHz") + "; final = AudioStream.finish() + WhisperSTT.transcribe(); wer column: CER for zh",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "loadavg_start": load_start, "loadavg_end": os.getloadavg()},
        "model_load_s": loads, "elapsed_s": round(elapsed, 1), "rows": [asdict(r) for r in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"\nwrote {args.out} in {elapsed:.0f} s")
    return 0


def print_table(rows: list[Row], loads: dict[str, float], error: str = "WER") -> None:
    print(f"\nWhisper int8 on {os.cpu_count()} CPUs; model load s: {loads}")
    print(f"| model | audio s | lang | beam | domain | window s | final p50 ms | final p95 ms | RTF p50 | {error} | transcript |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.model} | {r.seconds:.1f} | {r.lang} | {r.beam} | {'on' if r.domain else 'off'} | {r.window_s:g} | "
              f"{r.final_p50_ms:.0f} | {r.final_p95_ms:.0f} | {r.rtf_p50:.2f} | {r.wer:.2f} | {r.text[:60]} |")


if __name__ == "__main__":
    raise SystemExit(main())
