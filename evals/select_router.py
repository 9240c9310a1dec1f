"""Router model selection on the training side only: leave one source out, and 5-fold on their union.

    nice -n 10 python -m evals.select_router [--jobs 2] [--second e5|e5:8] [--json-out evals/out/select_router.json]

The training-side sources are ``Settings().router_training_files`` (intent_train, the retired challenge
sets 1 and 2, ...). For each source: train on the others, test on it (wording written by another method,
so this is the "never seen this wording" figure); plus the usual 5-fold out-of-fold figure on all of them.
Held-out sets (dev, challenge 3 and 4) are never read.

Feature sets compared (all: char 1-3 tf-idf + dense block(s) → logistic regression, as assistant/nlu/router.py):

- ``use``:     today's features, USE-multilingual-v3 (grid over C and its weight);
- ``use+e5``:  plus multilingual-e5-small (``--second``: all 12 layers, or ``e5:N`` its first N) as a second
  dense block with its own weight;
- ``e5``:      e5 replacing USE;
- ``cascade``: ``use`` answers when its top probability is at least τ, ``use+e5`` decides under it; τ is
  chosen on the training side's out-of-fold readings (the router's rule, ``choose_cascade_threshold``).

Every grid point's C/weights and OOS threshold are chosen inside the training part (5-fold out-of-fold),
exactly as the router does; the held-out source only scores. Accuracy is the classifier plus the OOS
threshold (the parser rules applied after it, ``relabel``/``named_payment``, are left out: same for all).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from assistant.nlu.data import load_training_examples
from assistant.nlu.router import (
    _calibrate_oos_threshold,
    _classes,
    _features,
    _fit,
    _out_of_fold_probs,
    choose_cascade_threshold,
)
from assistant.nlu.text import normalise_text
from assistant.nlu.types import OUT_OF_SCOPE
from assistant.settings import Settings
from evals.metrics import machine

C_GRID = (4.0, 16.0)
FAMILIES = {  # name → grid of (C, USE weight, e5 weight); a weight of 0 leaves the block out
    "use": [(c, w, 0.0) for c in C_GRID for w in (1.0, 2.0)],
    "use+e5": [(c, w, v) for c in C_GRID for w in (1.0, 2.0) for v in (1.0, 2.0)],
    "e5": [(c, 0.0, v) for c in C_GRID for v in (1.0, 2.0, 3.0)],
}
CHOSEN = {"use": [(16.0, 1.0, 0.0)], "use+e5": [(16.0, 1.0, 2.0)]}
CAPS = (None, 0.05, 0.04, 0.03)  # caps on the share of out-of-fold readings the cascade sends to e5
CACHE = Path("evals/out/select_router-embeddings")


def embed(spec: str, texts: list[str]) -> np.ndarray:
    """Embeddings of the normalised texts, cached on disk by content (both models are deterministic)."""
    key = hashlib.sha256(repr((spec, texts)).encode()).hexdigest()[:16]
    path = CACHE / f"{spec}-{key}.npy"
    if path.is_file():
        return np.load(path)
    from knowledge.embedders import make_embedder

    vectors = make_embedder(spec, threads=2).encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def dense_block(use: np.ndarray, e5: np.ndarray, w_use: float, w_e5: float) -> np.ndarray:
    blocks = [m * w for m, w in ((use, w_use), (e5, w_e5)) if w > 0]
    return np.hstack(blocks).astype(np.float32)


def readings(texts, labels, dense, test_texts, test_dense, c: float) -> dict:
    """Inner 5-fold out-of-fold on the training part (accuracy, OOS threshold), then the test part."""
    oof = _out_of_fold_probs(texts, dense, labels, c, 1.0, 5)
    vectorizer, classifier = _fit(texts, dense, labels, c, 1.0)
    probs = (classifier.predict_proba(_features(vectorizer, test_texts, test_dense, 1.0))
             if len(test_texts) else np.zeros((0, len(_classes(labels)))))
    return {"oof": oof, "test": probs}


def predict(probs: np.ndarray, classes: np.ndarray, threshold: float) -> np.ndarray:
    pred = classes[probs.argmax(1)].astype(object)
    pred[probs.max(1) < threshold] = OUT_OF_SCOPE
    return pred


def score(pred: np.ndarray, labels: np.ndarray, langs: np.ndarray) -> dict:
    correct = pred == labels
    oos = labels == OUT_OF_SCOPE
    out = {"accuracy": round(float(correct.mean()), 4),
           "oos_recall": round(float(correct[oos].mean()), 4) if oos.any() else None}
    for lang in ("zh", "en"):
        out[lang] = round(float(correct[langs == lang].mean()), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.select_router")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--chosen", action="store_true",
                        help="only the points the router uses (use (16, 1), use+e5 (16, 1, 2)) and the cascade")
    parser.add_argument("--second", default="e5",
                        help="the second embedder's spec (make_embedder), e.g. e5 or e5:6 (its first 6 layers)")
    parser.add_argument("--json-out", type=Path, default=Path("evals/out/select_router.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sources = {Path(p).stem: load_training_examples(p) for p in Settings().router_training_files}
    names = [n for n, rows in sources.items() for _ in rows]
    examples = [e for rows in sources.values() for e in rows]
    texts = np.array([normalise_text(e.text) for e in examples], dtype=object)
    labels = np.array([e.intent for e in examples])
    langs = np.array([e.lang for e in examples])
    source = np.array(names)
    use, e5 = embed("use", list(texts)), embed(args.second, list(texts))
    print(f"{len(texts)} lines from {list(sources)}; embedded in {time.perf_counter() - started:.0f} s", flush=True)

    # splits: each held-out source, plus "union" (5-fold out-of-fold on everything: no test part)
    splits = {f"without {n}": (source != n, source == n) for n in sources}
    splits["union"] = (np.ones(len(texts), bool), np.zeros(len(texts), bool))
    families = CHOSEN if args.chosen else FAMILIES
    jobs = [(split, family, point) for split in splits for family, grid in families.items() for point in grid]

    def run(split, family, point):
        train, test = splits[split]
        c, w_use, w_e5 = point
        dense = dense_block(use, e5, w_use, w_e5)
        return readings(list(texts[train]), labels[train], dense[train], list(texts[test]), dense[test], c)

    results = Parallel(n_jobs=args.jobs)(delayed(run)(*job) for job in jobs)
    by_job = dict(zip(jobs, results, strict=True))

    table: dict = {}
    for split, (train, test) in splits.items():
        classes = _classes(labels[train])
        for family, grid in families.items():
            # the grid point the router would pick: best inner out-of-fold accuracy
            accuracy = {point: float(np.mean(classes[by_job[(split, family, point)]["oof"].argmax(1)]
                                             == labels[train])) for point in grid}
            best = max(grid, key=accuracy.__getitem__)
            got = by_job[(split, family, best)]
            threshold = _calibrate_oos_threshold(got["oof"], labels[train])
            row = {"point": best, "oos_threshold": threshold, "inner_oof_accuracy": round(accuracy[best], 4)}
            row["oof"] = score(predict(got["oof"], classes, threshold), labels[train], langs[train])
            if test.any():
                row["test"] = score(predict(got["test"], classes, threshold), labels[test], langs[test])
            table[(split, family)] = row
            table[(split, family, "probs")] = got
        # the cascade: fast ``use`` stage, ``use+e5`` under τ (τ chosen on the training part's out-of-fold),
        # without and with a cap on the share of out-of-fold readings sent to e5 (the router's MAX_SECOND_SHARE)
        fast, slow = table[(split, "use")], table[(split, "use+e5")]
        fp, sp = table[(split, "use", "probs")], table[(split, "use+e5", "probs")]
        for cap in CAPS:
            tau = choose_cascade_threshold(fp["oof"], fast["oos_threshold"], sp["oof"], slow["oos_threshold"],
                                           labels[train], cap)
            row = {"tau": tau, "max_share": cap}
            for part, mask in (("oof", train), ("test", test)):
                if not mask.any():
                    continue
                first = predict(fp[part], classes, fast["oos_threshold"])
                second = predict(sp[part], classes, slow["oos_threshold"])
                escalate = fp[part].max(1) < tau
                row[part] = score(np.where(escalate, second, first), labels[mask], langs[mask])
                row[part]["escalated"] = round(float(escalate.mean()), 4)
            table[(split, _cascade(cap))] = row

    out = {"second": args.second, "machine": machine(), "load_average": [round(x, 2) for x in os.getloadavg()],
           "seconds": round(time.perf_counter() - started, 1), "sources": {n: len(r) for n, r in sources.items()},
           "results": {f"{s} | {f}": v for (s, f, *rest), v in table.items() if not rest}}
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    print(markdown(table, splits, families))
    return 0


def _cascade(cap: float | None) -> str:
    return "cascade" if cap is None else f"cascade ≤{cap:.0%}"


def markdown(table: dict, splits: dict, families: dict) -> str:
    lines = ["| split | model | point (C, w_use, w_e5) / τ | zh | en | all | OOS recall | escalated |",
             "|---|---|---|---|---|---|---|---|"]
    for split in splits:
        for family in (*families, *map(_cascade, CAPS)):
            row = table[(split, family)]
            part = row.get("test") or row["oof"]
            what = f"τ={row['tau']}" if family.startswith("cascade") else str(row["point"])
            lines.append(f"| {split}{'' if 'test' in row else ' (5-fold oof)'} | {family} | {what} | {part['zh']:.3f} | "
                         f"{part['en']:.3f} | {part['accuracy']:.3f} | {part['oos_recall']:.3f} | "
                         f"{part.get('escalated', '')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
