"""Word and short-phrase translation without an LLM: accuracy of the dictionary, and the glossary alone.

    python -m evals.translate_words [--data evals/data/translate_words.jsonl] [--json-out evals/out/translate_words.json]

Each line is ``{"text", "target_lang", "answers"}``: a request as a user types it ("苹果用英语怎么说",
"how do you say hospital in Chinese") and the acceptable answers. The request goes the way the router's
translate intent sends it: the slot parser finds the words and the target language, and the ``translate``
tool runs with no LLM translator. A zh→en answer is right when one acceptable answer occurs in it
("to thank; thanks; thank you" contains "thank"); an en→zh answer must be one of the acceptable words.
The baseline is the app glossary alone (the behaviour before the dictionary).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from assistant.nlu.slots import extract_slots
from assistant.nlu.text import detect_lang
from tools.context import ToolContext
from tools.translate import load_glossary, translate

DATA = Path(__file__).resolve().parent / "data" / "translate_words.jsonl"
OUT = Path(__file__).resolve().parent / "out" / "translate_words.json"


def correct(answer: str | None, row: dict[str, Any]) -> bool:
    if not answer:
        return False
    if row["target_lang"] == "en":
        return any(ok.casefold() in answer.casefold() for ok in row["answers"])
    return answer.strip() in row["answers"]


def request(text: str) -> tuple[str | None, str | None]:
    """The words and the target language, as the router's slots and ``answers.translate`` pick them."""
    slots = extract_slots(text, "translate")
    words = slots.get("text")
    if not isinstance(words, str):
        return None, None
    target = slots.get("target_lang") or ("en" if detect_lang(words) == "zh" else "zh")
    return words, str(target)


async def run(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ctx = ToolContext("u_eval", "s_eval", "t_eval", "zh", billing=None)  # type: ignore[arg-type]
    glossary = load_glossary()
    results = []
    started = time.perf_counter()
    for row in rows:
        words, target = request(row["text"])
        answer = baseline = None
        if words and target:
            out = await translate(ctx, words, target)
            answer = out.get("translation")
            baseline = glossary.lookup(words, target)
        results.append({**row, "words": words, "target": target, "answer": answer, "ok": correct(answer, row),
                        "glossary_answer": baseline, "glossary_ok": correct(baseline, row)})
    elapsed = time.perf_counter() - started

    def share(key: str, subset: list[dict[str, Any]]) -> float:
        return round(sum(r[key] for r in subset) / len(subset), 3) if subset else 0.0

    by_direction = {}
    for target in ("en", "zh"):
        subset = [r for r in results if r["target_lang"] == target]
        by_direction[f"to_{target}"] = {"n": len(subset), "accuracy": share("ok", subset),
                                        "glossary_only": share("glossary_ok", subset)}
    return {"n": len(results), "accuracy": share("ok", results), "glossary_only": share("glossary_ok", results),
            "answered": round(sum(r["answer"] is not None for r in results) / len(results), 3),
            "by_direction": by_direction, "seconds_total_incl_first_load": round(elapsed, 2),
            "misses": [{k: r[k] for k in ("text", "words", "target", "answer", "answers")}
                       for r in results if not r["ok"]]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--json-out", default=str(OUT))
    args = parser.parse_args(argv)
    with open(args.data, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    report = asyncio.run(run(rows))
    print(f"word translation without an LLM: {report['n']} requests")
    print(f"  dictionary + glossary accuracy: {report['accuracy']:.1%}   (glossary only: {report['glossary_only']:.1%})")
    for name, part in report["by_direction"].items():
        print(f"  {name}: {part['accuracy']:.1%} of {part['n']} (glossary only {part['glossary_only']:.1%})")
    print(f"  answered at all: {report['answered']:.1%}; {report['seconds_total_incl_first_load']} s incl. first load")
    for miss in report["misses"]:
        print(f"  miss: {miss['text']!r} → words={miss['words']!r} {miss['target']} answer={miss['answer']!r}")
    out = Path(args.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
