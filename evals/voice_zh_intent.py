"""Intent and slots from Mandarin audio vs from the same text, OUT OF FOLD, on clips of TRAINING lines.

    nice -n 10 python -m evals.voice_zh_intent --clips evals/out/zh-errors.json [--folds 5] [--second e5]
                                               [--full-grid] [--json-out evals/out/voice-zh-intent.json]

The clips' transcripts come from ``python -m evals.voice_zh_errors`` (its ``--json-out``: each row has the
line, Whisper's text and the corrected text). The router learns from those very lines, so scoring them
with the app's router would flatter it; here the training lines are split into ``--folds`` groups (by a
stable hash of the normalised text, so a line repeated in two sources falls in one group), and each group
is read by a router trained without it (``IntentRouter.train``: the router's own features, grid, OOS
threshold and, with ``--second``, its e5 stage). The same pass gives the text figure on every training
line (out of fold: what a feature change must not lower) and, on the clips, intent accuracy and slot F1
from the line, from Whisper's text and from the corrected text. Held-out sets are never read.

``--full-grid``: the router's whole grid of C and weights in every fold (slower); by default the grid is
the point the router picks on the full training set (C 16, weight 1: evals/select_router.py).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from assistant.settings import REPO_ROOT
from knowledge.embedders import Embedder

OUT = REPO_ROOT / "evals" / "out" / "voice-zh-intent.json"
CACHE = REPO_ROOT / "evals" / "out" / "voice-zh-intent-embeddings"


class CachedEmbedder(Embedder):
    """An embedder whose vectors are kept on disk by text (both packaged models are deterministic)."""

    def __init__(self, spec: str):
        from knowledge.embedders import make_embedder

        self.inner = make_embedder(spec, threads=2)
        self.name, self.dim = self.inner.name, self.inner.dim
        self.path = CACHE / f"{spec}.pkl"
        self.memo: dict[str, np.ndarray] = pickle.loads(self.path.read_bytes()) if self.path.is_file() else {}
        self.dirty = False

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.inner.encode(missing), strict=True))
            self.dirty = True
            if len(missing) > 100:  # a bulk encoding: kept at once, for the next run
                self.save()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.memo[t] for t in texts])

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(self.memo))
            tmp.replace(self.path)
            self.dirty = False


def fold_of(text: str, folds: int) -> int:
    from assistant.nlu.text import normalise_text
    from evals.voice_zh import _h

    return _h(normalise_text(text)) % folds


def _metrics(rows: list[tuple[str, dict, str, dict]]) -> dict:
    from evals.metrics import Scored, compute_metrics

    m = compute_metrics([Scored(t, "zh", gold, pred, gs, ps) for t, (gold, gs), (pred, ps) in
                         ((r[0], (r[1]["intent"], r[1]["slots"]), (r[2], r[3])) for r in rows)])
    return {"n": m["n"], "accuracy": m["accuracy"], "slot_f1": round(m["slot_f1"], 4)}


def _quick_router(examples, embedder):
    """One fit at the router's chosen point (C 16, weight 1), no threshold yet (set after all folds)."""
    from assistant.nlu.router import IntentRouter, RouterConfig, _fit_model
    from assistant.nlu.text import normalise_text

    texts = [normalise_text(e.text) for e in examples]
    labels = np.array([e.intent for e in examples])
    model = _fit_model(texts, labels, [embedder.encode(texts)], RouterConfig(c=16.0, dense_weight=1.0,
                                                                             oos_threshold=0.0))
    return IntentRouter(embedder, model)


def _heard(path: Path, gold: dict, max_cer: float) -> list[tuple[str, object]]:
    """(line, its transcript as an Example labelled like the line) for clips whose text differs from the line."""
    from evals.bench_stt import cer
    from evals.voice_zh import normalise_zh

    out, seen = [], set()
    for c in json.loads(path.read_text(encoding="utf-8"))["utterances"]:
        ex, said = gold.get(c["text"]), (c.get("transcript") or "").strip()
        key = normalise_zh(said)
        if ex is None or not key or key == normalise_zh(ex.text) or (c["text"], key) in seen:
            continue
        if cer(ex.text, said) <= max_cer:
            seen.add((c["text"], key))
            out.append((c["text"], replace(ex, text=said)))
    print(f"augment: {len(out)} heard transcripts from {path}", file=sys.stderr)
    return out


def _read_clip(router, clip: dict, ex, clip_rows: dict) -> dict:
    """The clip's line, Whisper's text and the corrected text as the router reads them."""
    row = {"text": clip["text"], "voice": clip.get("voice"), "intent": ex.intent, "slots": ex.slots}
    for which, said in (("text", clip["text"]), ("whisper", clip["whisper"]), ("corrected", clip["transcript"])):
        u = router.understand(said or "", lang="zh")
        clip_rows[which].append((said, {"intent": ex.intent, "slots": ex.slots}, u.intent, u.slots))
        row[which] = {"said": said, "intent": u.intent, "slots": u.slots}
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.voice_zh_intent", description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=Path, default=None,
                        help="a --json-out of python -m evals.voice_zh_errors (without: the text figure alone)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--second", default="e5", help="the router's second-stage embedder ('' for none)")
    parser.add_argument("--full-grid", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="one fit per fold (C 16, weight 1, no e5 stage); the OOS threshold calibrated on the "
                             "pooled out-of-fold readings of the training lines (for comparing features fast)")
    parser.add_argument("--pinyin", action="store_true",
                        help="the router's n-grams with toneless pinyin grams (assistant/nlu/sound_grams.py)")
    parser.add_argument("--augment", type=Path, default=None,
                        help="a --json-out of python -m evals.voice_zh_errors: each fold also learns the transcripts "
                             "of these clips whose lines it trains on (labelled as their line)")
    parser.add_argument("--augment-max-cer", type=float, default=1.0,
                        help="--augment: only transcripts this close to their line (normalised CER)")
    parser.add_argument("--json-out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    from assistant.nlu import router as router_module
    from assistant.nlu.data import load_training_sources
    from assistant.nlu.router import IntentRouter
    from assistant.nlu.types import OUT_OF_SCOPE
    from assistant.settings import Settings

    if args.pinyin:
        from assistant.nlu.sound_grams import sound_grams

        router_module.ANALYZER = sound_grams
    if not args.full_grid:
        router_module.C_GRID, router_module.DENSE_WEIGHT_GRID = (16.0,), (1.0,)
    started = time.perf_counter()
    examples = load_training_sources(Settings().router_training_files)
    gold = {}
    for ex in examples:
        gold.setdefault(ex.text, ex)
    clips = json.loads(args.clips.read_text(encoding="utf-8"))["utterances"] if args.clips else []
    clips = [c for c in clips if c["text"] in gold]
    heard = _heard(args.augment, gold, args.augment_max_cer) if args.augment else []
    first = CachedEmbedder("use")
    second = CachedEmbedder(args.second) if args.second else None
    text_rows: list[tuple[str, str, str]] = []  # (lang, gold intent, predicted) for every training line
    clip_rows: dict[str, list] = {"text": [], "whisper": [], "corrected": []}
    out_rows = []
    quick: list[tuple[str, str, np.ndarray, object]] = []  # (what, said, probabilities, where) in --quick
    for fold in range(args.folds):
        held = [ex for ex in examples if fold_of(ex.text, args.folds) == fold]
        mine = [c for c in clips if fold_of(c["text"], args.folds) == fold]
        rest = [ex for ex in examples if fold_of(ex.text, args.folds) != fold]
        rest += [ex for line, ex in heard if fold_of(line, args.folds) != fold]
        router = _quick_router(rest, first) if args.quick else IntentRouter.train(rest, first, second_embedder=second)
        if args.quick:
            quick += [("line", ex.text, p, ex) for ex, p in zip(held, router.probabilities([e.text for e in held]),
                                                                  strict=True)]
            for c in mine:
                said = [c["text"], c["whisper"] or "", c["transcript"] or ""]
                quick += [("clip", t, p, (c, which)) for t, p, which in
                          zip(said, router.probabilities(said), ("text", "whisper", "corrected"), strict=True)]
        else:
            for ex, u in zip(held, router.understand_many([ex.text for ex in held]), strict=True):
                text_rows.append((ex.lang, ex.intent, u.intent))
            for c in mine:
                out_rows.append(_read_clip(router, c, gold[c["text"]], clip_rows))
        print(f"fold {fold}: {len(held)} lines, {len(mine)} clips ({time.perf_counter() - started:.0f} s)",
              file=sys.stderr, flush=True)
    if args.quick:
        from assistant.nlu.router import _calibrate_oos_threshold

        lines = [q for q in quick if q[0] == "line"]
        labels = np.array([ex.intent for *_, ex in lines])
        threshold = _calibrate_oos_threshold(np.stack([p for _, _, p, _ in lines]), labels)
        config = replace(router.config, oos_threshold=threshold)
        for _, text, probs, ex in lines:
            text_rows.append((ex.lang, ex.intent, router.decide(text, probs, config=config).intent))
        rows: dict[str, dict] = {}
        for _, said, probs, (c, which) in (q for q in quick if q[0] == "clip"):
            ex = gold[c["text"]]
            row = rows.setdefault(c["text"] + "\x1f" + str(c.get("voice")),
                                  {"text": c["text"], "voice": c.get("voice"), "intent": ex.intent, "slots": ex.slots})
            u = router.decide(said, probs, lang="zh", config=config)
            clip_rows[which].append((said, {"intent": ex.intent, "slots": ex.slots}, u.intent, u.slots))
            row[which] = {"said": said, "intent": u.intent, "slots": u.slots}
        out_rows = list(rows.values())
    first.save()
    if second is not None:
        second.save()

    def accuracy(rows, lang=None, in_scope=None):
        sel = [r for r in rows if (lang is None or r[0] == lang)
               and (in_scope is None or (r[1] != OUT_OF_SCOPE) == in_scope)]
        return round(sum(g == p for _, g, p in sel) / len(sel), 4) if sel else None

    result = {
        "config": {"clips": str(args.clips), "augment": str(args.augment or ""),
                   "augment_max_cer": args.augment_max_cer, "pinyin": args.pinyin, "quick": args.quick, "folds": args.folds, "second": args.second, "full_grid": args.full_grid,
                   "seconds": round(time.perf_counter() - started, 1),
                   "load_average": [round(x, 2) for x in os.getloadavg()]},
        "text_oof": {"n": len(text_rows), "all": accuracy(text_rows), "zh": accuracy(text_rows, "zh"),
                     "en": accuracy(text_rows, "en"), "oos_recall": accuracy(text_rows, in_scope=False)},
        "clips": {which: _metrics(rows) for which, rows in clip_rows.items()} if clip_rows["text"] else {},
        "agreement": {f"text_{'right' if a else 'wrong'}_audio_{'right' if b else 'wrong'}": n
                      for (a, b), n in Counter((r["text"]["intent"] == r["intent"],
                                                r["corrected"]["intent"] == r["intent"]) for r in out_rows).items()},
        "utterances": out_rows,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    t, c = result["text_oof"], result["clips"]
    print(f"text out of fold (all training lines, n={t['n']}): all {t['all']:.4f}  zh {t['zh']:.4f}  "
          f"en {t['en']:.4f}  OOS recall {t['oos_recall']:.4f}")
    if not clip_rows["text"]:
        return 0
    print(f"clips (n={c['text']['n']}):      intent   slot F1")
    for which in ("text", "whisper", "corrected"):
        print(f"  from {which:10} {c[which]['accuracy']:>10.4f}{c[which]['slot_f1']:>10.4f}")
    print(f"json: {args.json_out} ({result['config']['seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
