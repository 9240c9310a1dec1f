"""Service-retrieval eval: recall@1/@3, MRR, no-match behaviour and latency, per mode and language.

    python -m evals.retrieval [--data evals/data/retrieval_dev.jsonl] [--split test] [--store numpy|qdrant-memory|qdrant] [--json-out F]
    python -m evals.retrieval --calibrate      # choose the no-match thresholds on the calib split

The catalogue is ingested into a temporary local Qdrant folder. Lines are
``{"query", "lang", "service_id"}``; ``service_id: null`` means the app does not offer it.

Calibration split: each line of ``retrieval_dev.jsonl`` is assigned to ``calib`` or ``test``
deterministically: within each stratum (language × covered/uncovered) lines are ordered by
``crc32(query)`` and alternate calib, test, calib, ... . Everything tunable (thresholds, fusion,
chunking, sparse features) is chosen on ``calib`` plus ``retrieval_calib.jsonl`` (60 queries written
separately, 20 of them uncovered); the ``test`` half is only ever reported.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.retrieval import MODES, ServiceRetriever

DATA_DIR = Path(__file__).resolve().parent / "data"
DEV = DATA_DIR / "retrieval_dev.jsonl"
CALIB_EXTRA = DATA_DIR / "retrieval_calib.jsonl"


@dataclass(frozen=True)
class Outcome:
    query: str
    lang: str
    gold: str | None
    ranked: tuple[str, ...]
    confident: bool
    top_dense: float
    top_sparse: float
    latency_ms: float  # wall clock: embed + search
    cpu_ms: float  # CPU time of the process for the same call (does not grow with machine load)

    @property
    def rank(self) -> int | None:
        return self.ranked.index(self.gold) + 1 if self.gold in self.ranked else None


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def split_rows(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The deterministic, stratified calib/test split described in the module docstring."""
    strata: dict[tuple[str, bool], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        strata[(row["lang"], row.get("service_id") is None)].append(row)
    out: dict[str, list[dict[str, Any]]] = {"calib": [], "test": []}
    for key in sorted(strata):
        ordered = sorted(strata[key], key=lambda r: (zlib.crc32(r["query"].encode("utf-8")), r["query"]))
        for i, row in enumerate(ordered):
            out["calib" if i % 2 == 0 else "test"].append(row)
    return out


def select(rows: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    return rows if split == "all" else split_rows(rows)[split]


def run(retriever: ServiceRetriever, rows: Sequence[dict[str, Any]], mode: str, k: int = 3) -> list[Outcome]:
    out = []
    for row in rows:
        started, cpu = time.perf_counter(), time.process_time()
        result = retriever.search(row["query"], row["lang"], limit=k, mode=mode)  # type: ignore[arg-type]
        elapsed, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
        out.append(Outcome(row["query"], row["lang"], row.get("service_id"), tuple(h.id for h in result.hits),
                           result.confident, result.top_dense, result.top_sparse, elapsed, cpu))
    return out


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    covered = [o for o in outcomes if o.gold]
    nulls = [o for o in outcomes if not o.gold]
    n = len(covered)
    ranks = [o.rank for o in covered]
    lat, cpu = [o.latency_ms for o in outcomes], [o.cpu_ms for o in outcomes]
    return {
        "n": n, "n_null": len(nulls),
        "recall@1": sum(r == 1 for r in ranks) / n if n else 0.0,
        "recall@3": sum(r is not None and r <= 3 for r in ranks) / n if n else 0.0,
        "mrr": sum(1 / r for r in ranks if r) / n if n else 0.0,
        "null_refused": sum(not o.confident for o in nulls),
        "covered_refused": sum(not o.confident for o in covered),
        "found@1_accepted": sum(o.confident and o.rank == 1 for o in covered),
        "latency_ms": {"p50": _pct(lat, 50), "p95": _pct(lat, 95)},
        "cpu_ms": {"p50": _pct(cpu, 50), "p95": _pct(cpu, 95)},
    }


def evaluate(retriever: ServiceRetriever, rows: Sequence[dict[str, Any]], modes: Sequence[str] = MODES) -> dict:
    retriever.search("warm up", "en")  # first call loads the model session; not a query's latency
    result: dict[str, Any] = {}
    for mode in modes:
        outcomes = run(retriever, rows, mode)
        by_lang = {lang: summarise([o for o in outcomes if o.lang == lang]) for lang in sorted({o.lang for o in outcomes})}
        result[mode] = {"all": summarise(outcomes), **by_lang}
    return result


def calibrate(outcomes: Sequence[Outcome], max_covered_refused: float = 0.05) -> tuple[float, float, dict]:
    """Thresholds (dense cosine, sparse score) that refuse the most uncovered queries while
    refusing at most ``max_covered_refused`` of covered ones whose top hit was right."""
    good = [o for o in outcomes if o.gold and o.rank == 1]
    nulls = [o for o in outcomes if not o.gold]
    best: tuple[float, float, float, float] | None = None
    for t_dense in np.arange(0.20, 0.80, 0.01):
        for t_sparse in [*np.arange(2.0, 40.0, 0.5), float("inf")]:
            def accepted(o: Outcome, td: float = t_dense, ts: float = t_sparse) -> bool:
                return o.top_dense >= td or o.top_sparse >= ts
            lost = sum(not accepted(o) for o in good) / max(len(good), 1)
            refused = sum(not accepted(o) for o in nulls) / max(len(nulls), 1)
            if lost <= max_covered_refused:
                key = (refused, -lost)
                if best is None or key > (best[2], -best[3]):
                    best = (float(t_dense), float(t_sparse), refused, lost)
    assert best is not None
    return best[0], best[1], {"null_refused": best[2], "good_refused": best[3], "n_good": len(good),
                              "n_null": len(nulls)}


def print_table(metrics: dict[str, Any], title: str) -> None:
    print(title)
    header = (f"{'mode':7} {'lang':4} {'n':>4} {'R@1':>6} {'R@3':>6} {'MRR':>6} {'no-match ok':>12} "
              f"{'wrongly refused':>16} {'p50 ms':>7} {'p95 ms':>7} {'cpu p95':>8}")
    print(header)
    print("-" * len(header))
    for mode, per in metrics.items():
        for lang, m in per.items():
            print(f"{mode:7} {lang:4} {m['n']:>4} {m['recall@1']:>6.3f} {m['recall@3']:>6.3f} {m['mrr']:>6.3f} "
                  f"{m['null_refused']:>5}/{m['n_null']:<6} {m['covered_refused']:>8}/{m['n']:<7} "
                  f"{m['latency_ms']['p50']:>7.2f} {m['latency_ms']['p95']:>7.2f} {m['cpu_ms']['p95']:>8.2f}")


def build(folder: Path, embedder_spec: str = "use", threads: int = 1, store_kind: str = "numpy") -> ServiceRetriever:
    """``store_kind``: ``numpy`` searches the copy a worker serves from without a Qdrant server,
    ``qdrant-memory`` the in-memory Qdrant copy it served from before (the same answers, see
    ``evals.bench_lookup``), ``qdrant`` the local folder itself (equal-score ties may rank in
    another order than in a copy: a copy holds the points in id order, the folder in ingest order)."""
    from knowledge.embedders import make_embedder
    from knowledge.ingest import ingest
    from knowledge.memory_store import MemoryServiceStore
    from knowledge.store import ServiceStore

    embedder = make_embedder(embedder_spec, threads=threads)
    store = ServiceStore.open(path=folder)
    report = ingest(embedder, store)
    print(f"ingested into {folder}: {report}")
    if store_kind == "numpy":
        copy = MemoryServiceStore.copy_of(store)
        store.close()
        return ServiceRetriever(embedder, copy)
    if store_kind == "qdrant-memory":
        memory = ServiceStore.in_memory()
        store.copy_into(memory)
        store.close()
        return ServiceRetriever(embedder, memory)
    return ServiceRetriever(embedder, store)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.retrieval", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEV)
    parser.add_argument("--split", choices=["test", "calib", "all"], default="test",
                        help="which half of the data to report (default: the test half, never tuned on)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--embedder", default="use")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads of the embedder (1: a single query gains nothing from more, and "
                             "spinning threads are slow on a busy machine)")
    parser.add_argument("--store", choices=["numpy", "qdrant-memory", "qdrant"], default="numpy",
                        help="numpy: the in-memory copy workers search (default); qdrant-memory: an in-memory "
                             "Qdrant copy (what they searched before); qdrant: the local folder")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--calibrate", action="store_true",
                        help="choose no-match thresholds on the calib half + retrieval_calib.jsonl")
    args = parser.parse_args(argv)
    rows = load_rows(args.data)
    with tempfile.TemporaryDirectory(prefix="lui-retrieval-") as tmp:
        retriever = build(Path(tmp) / "qdrant", args.embedder, args.threads, args.store)
        if args.calibrate:
            calib = split_rows(rows)["calib"] + (load_rows(CALIB_EXTRA) if CALIB_EXTRA.exists() else [])
            retriever.search("warm up", "en")
            t_dense, t_sparse, info = calibrate(run(retriever, calib, retriever.mode))
            print(f"calibrated on {len(calib)} queries: MIN_DENSE={t_dense:.2f} MIN_SPARSE={t_sparse:.1f} {info}")
            retriever.store.close()
            return 0
        chosen = select(rows, args.split)
        load_before = os.getloadavg()[0]
        metrics = evaluate(retriever, chosen, args.modes)
        load = (load_before, os.getloadavg()[0])
        retriever.store.close()
    print_table(metrics, f"\n{args.data.name} [{args.split}: {len(chosen)} queries] embedder={args.embedder} "
                         f"threads={args.threads} store={args.store} min_dense={retriever.min_score} min_sparse={retriever.min_sparse} "
                         f"load average {load[0]:.1f}→{load[1]:.1f} on {os.cpu_count()} CPUs")
    if args.json_out:
        config = {"data": str(args.data), "split": args.split, "embedder": args.embedder, "threads": args.threads,
                  "store": args.store, "load_average": load, "cpus": os.cpu_count(),
                  "min_dense": retriever.min_score, "min_sparse": retriever.min_sparse,
                  "default_mode": retriever.mode, "rrf_k": retriever.rrf_k, "weights": retriever.weights}
        args.json_out.write_text(json.dumps({"config": config, "metrics": metrics}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
