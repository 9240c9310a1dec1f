"""Service lookup without a Qdrant server: in-memory Qdrant copy vs the numpy copy, same run.

    nice python -m evals.bench_lookup [--data evals/data/retrieval_dev.jsonl ...] [--repeat 1]

The catalogue is ingested into a temporary Qdrant local folder, then copied both ways a worker can
hold it (``ServiceStore.in_memory`` + ``copy_into``, and ``MemoryServiceStore.copy_of``). Every
query of the data sets is embedded once, then searched on both stores in every mode (hybrid, dense,
sparse) and language filter (zh, en, none), interleaved so that both see the same machine load.
Reports median and p95 ms per ``store.search`` call (the embedder is not timed), and checks that both
return the same ids in the same order with scores within 1e-5 (equal-score ties may differ in order).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.metrics import machine, percentile, save_result
from evals.retrieval import CALIB_EXTRA, DEV, load_rows
from knowledge.retrieval import LANG_WEIGHTS, MODES, RRF_K
from knowledge.store import ScoredChunk

LANGS: tuple[str | None, ...] = ("zh", "en", None)
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Query:
    text: str
    dense: Any
    sparse: Any


def search_args(query: Query, mode: str, lang: str | None, limit: int = 9, candidates: int = 30) -> dict[str, Any]:
    """The arguments ``ServiceRetriever`` passes for a 3-hit lookup (limit × overfetch 3)."""
    return {"dense": query.dense, "sparse": query.sparse, "lang": lang, "limit": limit,
            "prefetch_limit": candidates, "rrf_k": RRF_K, "weights": LANG_WEIGHTS.get(lang or "")}


def differences(expected: dict[str, list[ScoredChunk]], got: dict[str, list[ScoredChunk]]) -> list[str]:
    """Where two search answers differ beyond equal-score ties and the tolerance; [] when they agree."""
    problems = []
    if expected.keys() != got.keys():
        return [f"legs {sorted(expected)} != {sorted(got)}"]
    for leg, want in expected.items():
        have = got[leg]
        if len(want) != len(have):
            problems.append(f"{leg}: {len(want)} points != {len(have)}")
            continue
        for i, (a, b) in enumerate(zip(want, have, strict=True)):
            if abs(a.score - b.score) > TOLERANCE:
                problems.append(f"{leg}[{i}]: score {a.score!r} != {b.score!r}")
            if a.payload != b.payload:
                problems.append(f"{leg}[{i}]: payload differs")
            if a.id != b.id and not _tied(want, have, i):
                problems.append(f"{leg}[{i}]: id {a.id} != {b.id}")
    return problems


def _tied(want: list[ScoredChunk], have: list[ScoredChunk], i: int) -> bool:
    """``have[i]`` is a point ``want`` ranks at an equal score (a tie listed in another order)."""
    score = want[i].score
    same = {c.id for c in want if abs(c.score - score) <= TOLERANCE}
    return have[i].id in same and len(same) > 1


def compare(qdrant, numpy_store, queries: Sequence[Query], repeat: int = 1,
            langs: Sequence[str | None] = LANGS) -> dict[str, Any]:
    timings: dict[str, list[float]] = {"qdrant": [], "numpy": []}
    mismatches: list[str] = []
    ties = 0
    for _ in range(repeat):
        for q in queries:
            for mode in MODES:
                for lang in langs:
                    kwargs = search_args(q, mode, lang)
                    t0 = time.perf_counter()
                    want = qdrant.search(mode, **kwargs)
                    t1 = time.perf_counter()
                    got = numpy_store.search(mode, **kwargs)
                    t2 = time.perf_counter()
                    timings["qdrant"].append((t1 - t0) * 1000)
                    timings["numpy"].append((t2 - t1) * 1000)
                    ties += sum(a.id != b.id for leg in want for a, b in zip(want[leg], got[leg], strict=False))
                    mismatches += [f"{q.text!r} {mode} {lang}: {p}" for p in differences(want, got)]
    stats = {name: {"n": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}
             for name, ms in timings.items()}
    return {"timings": stats, "mismatches": mismatches, "tie_swaps": ties}


def build(folder: Path, embedder) -> tuple[Any, Any]:
    from knowledge.ingest import ingest
    from knowledge.memory_store import MemoryServiceStore
    from knowledge.store import ServiceStore

    store = ServiceStore.open(path=folder)
    try:
        ingest(embedder, store)
        qdrant = ServiceStore.in_memory()
        store.copy_into(qdrant)
        return qdrant, MemoryServiceStore.copy_of(store)
    finally:
        store.close()


def embed(embedder, texts: Sequence[str]) -> list[Query]:
    from knowledge.sparse import SparseEncoder

    encoder = SparseEncoder()
    vectors = embedder.encode(list(texts))
    return [Query(t, [float(x) for x in v], encoder.encode_query(t)) for t, v in zip(texts, vectors, strict=True)]


def main(argv: Sequence[str] | None = None) -> int:
    from knowledge.embedders import make_embedder

    parser = argparse.ArgumentParser(prog="python -m evals.bench_lookup", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, nargs="+", default=[DEV, CALIB_EXTRA])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--embedder", default="use")
    parser.add_argument("--json-out", type=Path, default=Path("evals/out/bench_lookup.json"))
    args = parser.parse_args(argv)
    texts = [" ".join(row["query"].split()) for path in args.data for row in load_rows(path)]
    embedder = make_embedder(args.embedder, threads=1)
    with tempfile.TemporaryDirectory(prefix="lui-bench-lookup-") as tmp:
        qdrant, numpy_store = build(Path(tmp) / "qdrant", embedder)
    queries = embed(embedder, texts)
    load_before = os.getloadavg()[0]
    result = compare(qdrant, numpy_store, queries, args.repeat)
    result.update(queries=len(queries), points=numpy_store.count(), load_average=(load_before, os.getloadavg()[0]),
                  machine=machine())
    t = result["timings"]
    print(f"{len(queries)} queries × {len(MODES)} modes × {len(LANGS)} language filters × {args.repeat}, "
          f"{result['points']} points; load average {load_before:.1f}→{os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    for name in ("qdrant", "numpy"):
        print(f"{name:7} per search: median {t[name]['p50_ms']:.3f} ms, p95 {t[name]['p95_ms']:.3f} ms")
    print(f"speed-up: median ×{t['qdrant']['p50_ms'] / t['numpy']['p50_ms']:.0f}, "
          f"p95 ×{t['qdrant']['p95_ms'] / t['numpy']['p95_ms']:.0f}")
    print(f"mismatches: {len(result['mismatches'])}; positions where equal-score ties were listed in another "
          f"order: {result['tie_swaps']}")
    for line in result["mismatches"][:20]:
        print("  ", line)
    save_result(result, args.json_out, echo=False)
    qdrant.close()
    return 1 if result["mismatches"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
