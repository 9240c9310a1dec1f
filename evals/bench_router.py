"""Router latency and throughput on this machine.

    python -m evals.bench_router [--data evals/data/intent_dev.jsonl | --split challenge] [--repeat 3]

Per-utterance latency (p50, p95, p99) of ``router.understand`` (embedding + classifier + slots; with the
two-stage router, the e5 embedding too for the utterances its first stage is unsure of, whose share it reports),
single-stream throughput, batched throughput (``understand_many``), and two threads at once. Ends with
one line: the router alone's median and p95 ms per utterance against the 10 ms p95 target, the
machine's load average while it ran (wall time is only meaningful on an otherwise idle machine), and
the CPU time per utterance of the calling thread (the embedder runs on it), which a busy machine
does not inflate.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assistant.nlu.data import load_examples
from assistant.nlu.router import build_router
from assistant.settings import Settings
from evals.intent import SPLITS
from evals.metrics import machine, percentile, save_result

TARGET_P95_MS = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.bench_router")
    parser.add_argument("--data", type=Path, default=Path("evals/data/intent_dev.jsonl"))
    parser.add_argument("--split", choices=sorted(SPLITS), help="a data set of evals/data by name (overrides --data)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--embedder", help="override LUI_EMBEDDER")
    parser.add_argument("--json-out", type=Path, default=Path("evals/out/bench_router.json"))
    args = parser.parse_args(argv)
    settings = Settings(**({"embedder": args.embedder} if args.embedder else {}))
    router = build_router(settings)
    texts = [e.text for e in load_examples(SPLITS[args.split] if args.split else args.data, strict=False)]
    router.understand_many(texts[:32])  # warm up

    latencies, cpu = [], []
    started = time.perf_counter()
    for _ in range(args.repeat):
        for text in texts:
            t0, c0 = time.perf_counter(), time.thread_time()
            router.understand(text)
            latencies.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
    sequential_s = time.perf_counter() - started

    t0 = time.perf_counter()
    for i in range(0, len(texts), 64):
        router.understand_many(texts[i:i + 64])
    batch_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(router.understand, texts))
    threads_s = time.perf_counter() - t0

    n = len(texts)
    # the two-stage router: the share of utterances its second (e5) stage decides, which pay for both embedders
    second_share = (sum(config is not router.config for _, config in router.readings(texts)) / n
                    if router.second_config is not None else 0.0)
    result = {
        "machine": machine(),
        "embedder": router.embedder.name,
        "second_stage": {"embedder": router.second_embedder.name, "escalate_below": router.config.escalate_below,
                         "share": round(second_share, 4)} if router.second_config is not None else None,
        "utterances": n * args.repeat,
        "latency_ms": {"p50": round(percentile(latencies, 50), 3), "p95": round(percentile(latencies, 95), 3),
                       "p99": round(percentile(latencies, 99), 3), "max": round(max(latencies), 3)},
        # CPU time of the calling thread (the embedder runs on it, 1 thread): what an idle core would take
        "cpu_ms": {"p50": round(percentile(cpu, 50), 3), "p95": round(percentile(cpu, 95), 3)},
        "throughput_per_s": {"sequential": round(n * args.repeat / sequential_s, 1),
                             "batched_64": round(n / batch_s, 1), "two_threads": round(n / threads_s, 1)},
    }
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    save_result(result, args.json_out)
    p50, p95 = result["latency_ms"]["p50"], result["latency_ms"]["p95"]
    print(f"router alone: median {p50:.2f} ms, p95 {p95:.2f} ms per utterance "
          f"({'meets' if p95 <= TARGET_P95_MS else 'misses'} the p95 <= {TARGET_P95_MS:g} ms target; "
          f"{os.cpu_count()} CPUs, load average {result['load_average'][0]}); CPU time median "
          f"{result['cpu_ms']['p50']:.2f} ms, p95 {result['cpu_ms']['p95']:.2f} ms; second stage decided "
          f"{second_share:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
