"""The elder reading of a pause, on typed lines: ``python -m evals.turn_words [--source train|dev] [--words-only]``.

In elder mode a pause that the end-of-turn model calls finished is still held open when its transcript reads
as a request still being said ("unfinished", ``VoiceGateway.reading``: a dangling word, the router's request
without its object, a bare topic, a coverb or a verb waiting for more, ``voice.turn``). Two numbers trade
against each other, counted here on the Mandarin lines of a data split without audio (the rules read text;
Whisper's slips come on top):

* **beginnings held**: each line cut at the word boundary nearest its middle (as ``evals.bench_turn`` cuts its
  pause clips, "帮我交……电费"), and at every word boundary; the share of those beginnings read "unfinished".
  Higher is better: any other reading leaves the turn to the end-of-turn model, which often calls a
  Mandarin mid-sentence pause finished (a person cut off). A beginning may itself be a whole request
  ("帮我交电费……谢谢"), so 100% is out of reach.
* **whole lines held**: the share of whole lines read "unfinished". Each costs its turn the longer elder
  wait (a slower reply, not a wrong one), so lower is better; the lines are listed.

The router has learnt the training lines, which flatters its reading of whole training lines (not of their
beginnings). Choose rules on ``train`` only; ``dev`` is for measuring them once.
Writes evals/out/turn_words_<source>[_words].json.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

from evals.metrics import save_result

REPO = Path(__file__).resolve().parent.parent
SOURCES = {"train": "intent_train.jsonl", "dev": "intent_dev.jsonl"}


def reader(use_router: bool = True):
    """``text -> "complete" | "unfinished" | "unsure"``: how an elder pause with this transcript reads when no
    answer is awaited (``VoiceGateway.reading``), with the app's trained router (``lui prepare`` caches it), or
    with the word rules alone (``use_router=False``: no router, every intent counts as unknown)."""
    from assistant.api.audio import elder_reading
    from voice.turn import sounds_unfinished

    router = None
    if use_router:
        from assistant.nlu.router import build_router
        from assistant.settings import Settings

        router = build_router(Settings())

    def read(text: str) -> str:
        if sounds_unfinished(text):
            return "unfinished"
        if router is None:
            return elder_reading(text, "unknown", {})
        u = router.understand(text)
        return elder_reading(text, u.intent, u.slots)

    return read


def beginnings(text: str) -> tuple[str, list[str]]:
    """(the beginning at the word boundary nearest the middle, every beginning at a word boundary)."""
    import jieba

    from evals.bench_turn import split_for_pause

    words = [w for w in jieba.cut(text) if w]
    cuts, pos = [], 0
    for w in words[:-1]:
        pos += len(w)
        cuts.append(text[:pos])
    return split_for_pause(text)[0], [c for c in cuts if c.strip()]


def measure(lines: list[str], read) -> dict:
    read = functools.lru_cache(maxsize=None)(read)  # a middle beginning is among every beginning too
    readings = {t: read(t) for t in lines}
    whole = [t for t in lines if readings[t] == "unfinished"]
    halves = [beginnings(t) for t in lines]
    middle = [h for h, _ in halves if h]
    every = [b for _, bs in halves for b in bs]
    let_go = [h for h in middle if read(h) != "unfinished"]
    return {
        "lines": len(lines),
        "whole_held": len(whole), "whole_held_rate": round(len(whole) / max(len(lines), 1), 4),
        "whole_readings": {k: sum(v == k for v in readings.values()) for k in ("complete", "unsure", "unfinished")},
        "middle_beginnings": len(middle),
        "middle_held_rate": round(1 - len(let_go) / max(len(middle), 1), 4),
        "all_beginnings": len(every),
        "all_held_rate": round(sum(read(b) == "unfinished" for b in every) / max(len(every), 1), 4),
        "whole_lines_held": whole, "middle_let_go": let_go,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", choices=sorted(SOURCES), default="train")
    parser.add_argument("--words-only", action="store_true", help="the word rules without the router")
    parser.add_argument("--show", type=int, default=20, help="how many held whole lines and let-go halves to print")
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in (REPO / "evals" / "data" / SOURCES[args.source]).read_text().splitlines()]
    lines = sorted({r["text"] for r in rows if r["lang"] == "zh"})
    result = measure(lines, reader(use_router=not args.words_only))
    print(f"{args.source}: {result['lines']} Mandarin lines")
    print(f"  whole lines read {result['whole_readings']}")
    print(f"  whole lines held open     {result['whole_held']:5d}  ({100 * result['whole_held_rate']:.1f}%, lower is better)")
    print(f"  middle beginnings held    {100 * result['middle_held_rate']:5.1f}%  of {result['middle_beginnings']}")
    print(f"  every beginning held      {100 * result['all_held_rate']:5.1f}%  of {result['all_beginnings']}")
    for title, items in (("whole lines held", result["whole_lines_held"]), ("middle beginnings let go",
                                                                           result["middle_let_go"])):
        print(f"  {title} (first {min(args.show, len(items))}): " + "  ".join(items[:args.show]))
    name = f"turn_words_{args.source}" + ("_words" if args.words_only else "")
    save_result(result, REPO / "evals" / "out" / f"{name}.json", echo=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
