"""CPU cost of ingesting one utterance by frame size: ``python -m evals.bench_audio [--runs 5]``.

The same ~1 MB Ogg/Opus (29 s at 256 kb/s, 48 kHz; silence by default, as an attacker would send)
is fed through the streaming path of a websocket utterance (per frame, what
``assistant.api.utterance.Utterance._take`` does: ``AudioStream.feed``, ``should_end``,
``should_emit_partial``; then ``finish`` as at ``audio.end``) in one frame and in 64 KB, 4 KB and
1 KB frames. CPU time is ``time.process_time`` (every thread of the process, the decoding thread
included), which is steadier than wall time on a busy machine. Linear decoding keeps every
framing within 2x of one frame (1.65x for 1 KB frames here); re-decoding the container on every
frame made 1 KB frames cost ~135x (22.7 s of CPU for this clip on the 2-core test machine).

With ``--ws`` the same clip goes over a real websocket to a real server in this process (the
whole app: uvicorn, the connection's receive loop, the decoding pump and its worker threads), and
the server's CPU is the process's minus the client's thread, from ``audio.start`` to the
utterance's answer after ``audio.end`` (so every row also holds the same transcription work:
Silero VAD over 29 s, ~no Whisper for silence).

With ``--attackers N`` it measures instead what the flood does to others: the latency of 30
text turns of one user, quiet and while N clients send the clip in 1 KB frames over and over.

Prints medians and p95 per framing and writes evals/out/bench_audio.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path

from evals.metrics import machine, percentile, save_result
from voice import synth
from voice.stream import AudioStream

FRAMES = (0, 65536, 4096, 1024)  # 0 = the whole clip in one frame


def make_clip(fmt: str = "ogg", seconds: float = 29.0, bitrate: str = "256k", source: str = "silence") -> bytes:
    """Constant-bitrate Opus at 48 kHz: ~1 MB for 29 s at 256 kb/s."""
    lavfi = "anullsrc=r=48000:cl=mono" if source == "silence" else "sine=frequency=300:sample_rate=48000"
    cmd = [synth.need("ffmpeg"), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", lavfi, "-t", str(seconds),
           "-c:a", "libopus", "-b:a", bitrate, "-vbr", "off", "-f", "webm" if fmt == "webm" else "ogg", "pipe:1"]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def ingest(data: bytes, fmt: str, frame_bytes: int, **limits) -> tuple[float, int]:
    """Stream ``data`` in ``frame_bytes`` frames (0 = one frame) like a websocket utterance;
    (CPU seconds, 16 kHz samples decoded)."""
    started = time.process_time()
    stream = AudioStream(fmt, max_bytes=16 * 1024 * 1024, max_seconds=60, endpoint_silence_ms=1500, **limits)
    size = frame_bytes or len(data)
    for i in range(0, len(data), size):
        stream.feed(data[i : i + size])
        if not stream.should_end():
            stream.should_emit_partial(time.monotonic())
    samples = len(stream.finish())
    return time.process_time() - started, samples


async def ingest_ws(url: str, data: bytes, fmt: str, frame_bytes: int) -> tuple[float, int]:
    """Stream over the websocket; (server CPU seconds from audio.start to the answer, 0)."""
    from websockets.asyncio.client import connect

    async with connect(url, max_size=2**24) as ws:
        await ws.send(json.dumps({"type": "session.start", "user": "u_li", "lang": "en"}))
        json.loads(await ws.recv())
        process, client = time.process_time(), time.thread_time()
        await ws.send(json.dumps({"type": "audio.start", "format": fmt}))
        size = frame_bytes or len(data)
        for i in range(0, len(data), size):
            await ws.send(data[i : i + size])
        await ws.send(json.dumps({"type": "audio.end"}))
        while json.loads(await asyncio.wait_for(ws.recv(), 300))["type"] not in ("reply", "error"):
            pass
        server_cpu = (time.process_time() - process) - (time.thread_time() - client)
    return server_cpu, 0


def run(data: bytes, fmt: str, runs: int, url: str | None = None) -> dict:
    rows = {}
    for frame in FRAMES:
        cpu = []
        for _ in range(runs):
            if url:
                seconds, samples = asyncio.run(ingest_ws(url, data, fmt, frame))
            else:
                seconds, samples = ingest(data, fmt, frame)
            cpu.append(seconds)
        rows["one frame" if frame == 0 else f"{frame // 1024} KB"] = {
            "frames": 1 if frame == 0 else -(-len(data) // frame), "audio_s": round(samples / 16000, 2) or None,
            "cpu_p50_ms": round(percentile(cpu, 50) * 1000, 1), "cpu_p95_ms": round(percentile(cpu, 95) * 1000, 1)}
    one = rows["one frame"]["cpu_p50_ms"]
    for row in rows.values():
        row["x_one_frame"] = round(row["cpu_p50_ms"] / one, 2) if one else None
    return rows


async def _attacker(url: str, data: bytes, fmt: str, user: str, stop: asyncio.Event) -> int:
    """Send the clip in 1 KB frames, utterance after utterance, until ``stop``; utterances sent."""
    from websockets.asyncio.client import connect

    sent = 0
    async with connect(url, max_size=2**24) as ws:
        await ws.send(json.dumps({"type": "session.start", "user": user, "lang": "en"}))
        json.loads(await ws.recv())
        while not stop.is_set():
            await ws.send(json.dumps({"type": "audio.start", "format": fmt}))
            for i in range(0, len(data), 1024):
                await ws.send(data[i : i + 1024])
            await ws.send(json.dumps({"type": "audio.end"}))
            while json.loads(await asyncio.wait_for(ws.recv(), 300))["type"] not in ("reply", "error"):
                pass
            sent += 1
    return sent


async def text_latency(url: str, data: bytes, fmt: str, attackers: int, turns: int) -> dict:
    """Text-turn latency (send -> reply) for one user while ``attackers`` clients flood audio."""
    from websockets.asyncio.client import connect

    stop = asyncio.Event()
    floods = [asyncio.create_task(_attacker(url, data, fmt, f"u_{i}", stop)) for i in range(attackers)]
    await asyncio.sleep(1.0 if attackers else 0)
    latencies = []
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "session.start", "user": "u_li", "lang": "en"}))
        json.loads(await ws.recv())
        for _ in range(turns):
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "text", "text": "what's my balance"}))
            while json.loads(await asyncio.wait_for(ws.recv(), 300))["type"] not in ("reply", "error"):
                pass
            latencies.append((time.perf_counter() - started) * 1000)
    stop.set()
    utterances = sum(await asyncio.gather(*floods))
    return {"attackers": attackers, "turns": turns, "text_p50_ms": round(percentile(latencies, 50), 1),
            "text_p95_ms": round(percentile(latencies, 95), 1), "attack_utterances": utterances}


def run_ws(data: bytes, fmt: str, runs: int, attackers: int = 0) -> dict:
    """Start the whole app (router, tiny.en Whisper) on 127.0.0.1 and measure through it."""
    from assistant.api.app import create_app
    from assistant.api.server import ServerThread
    from assistant.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), cache_path=Settings().cache_dir, whisper_model="tiny.en",
                            max_audio_seconds=60, max_audio_cpu_s=0, stt_endpoint_silence_ms=0,
                            max_sessions_per_user=100, user_turns_per_minute=10**6)
        with ServerThread(create_app(settings), ws_ping_interval=None) as live:
            if attackers:
                return {"quiet": asyncio.run(text_latency(live.ws, data, fmt, 0, 30)),
                        "attacked": asyncio.run(text_latency(live.ws, data, fmt, attackers, 30))}
            return run(data, fmt, runs, url=live.ws)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_audio")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--format", choices=("ogg", "webm"), default="ogg")
    parser.add_argument("--source", choices=("silence", "tone"), default="silence")
    parser.add_argument("--json-out", type=Path, default=Path("evals/out/bench_audio.json"))
    parser.add_argument("--ws", action="store_true", help="through a real websocket server (server CPU)")
    parser.add_argument("--attackers", type=int, default=0,
                        help="instead: text-turn latency while N clients flood the clip in 1 KB frames")
    args = parser.parse_args(argv)
    data = make_clip(args.format, source=args.source)
    if args.attackers:
        result = run_ws(data, args.format, 0, attackers=args.attackers)
        result["machine"] = machine()
        save_result(result, args.json_out)
        return 0
    if args.ws:
        rows = run_ws(data, args.format, args.runs)
    else:
        rows = run(data, args.format, args.runs)
    where = "server CPU over the websocket" if args.ws else "CPU (process_time)"
    print(f"{len(data) / 1000:.0f} KB {args.format}/Opus ({args.source}), {args.runs} runs, {where}, ms")
    print(f"{'framing':>10} {'frames':>7} {'p50':>8} {'p95':>8} {'x one':>6}")
    for name, row in rows.items():
        print(f"{name:>10} {row['frames']:>7} {row['cpu_p50_ms']:>8} {row['cpu_p95_ms']:>8} {row['x_one_frame']:>6}")
    save_result({"clip_bytes": len(data), "format": args.format, "source": args.source, "runs": args.runs,
                 "path": "websocket" if args.ws else "AudioStream", "framings": rows, "machine": machine()},
                args.json_out, echo=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
