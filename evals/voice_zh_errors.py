"""Mandarin recognition errors by class, for tuning on clips of TRAINING lines.

    python -m evals.voice_zh_errors [--source train] [--limit 120] [--variants normal,slow]
                                    [--set beam_size=5 ...] [--json-out evals/out/zh-errors.json]
                                    [--reuse <json>] [--homophones on | --homophones margin=4] [--half a|b]
                                    [--by-variant]
    python -m evals.voice_zh_errors --from-json evals/out/voice-zh-train.json

Without ``--from-json`` the Kokoro clips (``evals.voice_zh``; cached apart per source) go through
the server's Mandarin recognition path without the server: Ogg decoded like an upload, Whisper with
the elder session's speech context (u_wang's account labels, nothing pending), the hotword-echo
fallback and the pinyin corrector. It is the same transcription ``/ws`` does for a first turn, but
takes a fraction of the time, so options can be compared on the same clips (``--set``, repeatable,
sets a :class:`voice.stt.WhisperSTT` attribute).

Each reference/transcript pair is aligned character by character after the CER normalisation, and
every maximal run of edits becomes one error of a class:

* ``homophone``: substitutions whose toneless pinyin is equal (取消 -> 取笑);
* ``near-homophone``: substitutions within the corrector's near-syllable distance (燃气 -> 人气);
* ``substitution``: other substitutions;
* ``leading-insertion``: characters before the first reference character (Kokoro's blip -> 一/不/是);
* ``insertion`` / ``deletion``: elsewhere;
* ``number``: numerals or digits on both sides (120 -> 110), or a run with a 2+ digit number;

and, on the transcript as delivered (before normalisation), ``traditional`` (characters the
normalisation maps to simplified) and ``punctuation`` (quotes, 《》, brackets).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.settings import REPO_ROOT

OUT = REPO_ROOT / "evals" / "out" / "zh-errors.json"
ACCOUNT_LABELS = ("静安老房子", "浦东新房子")  # u_wang's (assistant/store/seed.py), as the eval's session
_NUMERAL = re.compile(r"[0-9零〇一二两三四五六七八九十百千万亿]")
_QUOTES = re.compile(r"[《》〈〉「」『』【】“”\"‘’'\[\]()（）<>]")


# --- alignment and classes -------------------------------------------------------------------------
def align(ref: str, hyp: str) -> list[tuple[str, str, str]]:
    """Levenshtein alignment as (op, ref char, hyp char), op in "=", "s", "i" (hyp only), "d" (ref only)."""
    n, m = len(ref), len(hyp)
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dist[i][0] = i
    for j in range(m + 1):
        dist[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            dist[i][j] = min(dist[i - 1][j] + 1, dist[i][j - 1] + 1, dist[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    ops: list[tuple[str, str, str]] = []
    i, j = n, m
    while i or j:
        if i and j and dist[i][j] == dist[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            ops.append(("=" if ref[i - 1] == hyp[j - 1] else "s", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i and dist[i][j] == dist[i - 1][j] + 1:
            ops.append(("d", ref[i - 1], ""))
            i -= 1
        else:
            ops.append(("i", "", hyp[j - 1]))
            j -= 1
    return ops[::-1]


@dataclass
class Error:
    kind: str
    said: str
    heard: str
    edits: int


def _substitution_kind(said: str, heard: str) -> str:
    from voice.correct import pinyin, syllable_distance

    if len(said) != len(heard) or not re.fullmatch(r"[\u3400-\u9fff]+", said + heard):
        return "substitution"
    dists = [syllable_distance(a, b) for a, b in zip(pinyin(said), pinyin(heard), strict=False)]
    if len(dists) != len(said):
        return "substitution"
    if max(dists) == 0:
        return "homophone"
    if max(dists) <= 0.5:
        return "near-homophone"
    return "substitution"


def classify(reference: str, transcript: str) -> list[Error]:
    """The errors of one transcript (normalised as the CER is), in order."""
    from evals.voice_zh import normalise_zh

    ref, hyp = normalise_zh(reference), normalise_zh(transcript)
    ops = align(ref, hyp)
    errors: list[Error] = []
    k = 0
    seen_ref = False
    while k < len(ops):
        if ops[k][0] == "=":
            seen_ref = True
            k += 1
            continue
        run = []
        while k < len(ops) and ops[k][0] != "=":
            run.append(ops[k])
            k += 1
        said = "".join(r for _, r, _ in run)
        heard = "".join(h for _, _, h in run)
        kinds = {op for op, _, _ in run}
        if kinds == {"i"} and not seen_ref:
            kind = "leading-insertion"  # before the first reference character (一 of a blip reads 1 here)
        elif (said and heard and _NUMERAL.search(said) and _NUMERAL.search(heard)) or re.search(r"\d\d", said + heard):
            kind = "number"
        elif kinds == {"i"}:
            kind = "insertion"
        elif kinds == {"d"}:
            kind = "deletion"
        elif kinds == {"s"}:
            kind = _substitution_kind(said, heard)
        else:  # substitutions mixed with an insertion or a deletion
            kind = "substitution"
        errors.append(Error(kind, said, heard, len(run)))
        seen_ref = seen_ref or bool(said)
    return errors


def surface_errors(transcript: str) -> list[Error]:
    """Traditional characters and quotes/brackets left in the delivered transcript."""
    from assistant.nlu.hanzi import to_simplified as nlu_simplified
    from voice.stt import to_simplified

    simple = nlu_simplified(to_simplified(transcript))
    out = [Error("traditional", b, a, 1) for a, b in zip(transcript, simple, strict=False) if a != b]
    out += [Error("punctuation", "", q, 1) for q in _QUOTES.findall(transcript)]
    return out


@dataclass
class Tally:
    utterances: int = 0
    ref_chars: int = 0
    edits: int = 0
    by_kind: Counter = field(default_factory=Counter)  # errors (runs)
    edits_by_kind: Counter = field(default_factory=Counter)  # character edits
    examples: dict[str, Counter] = field(default_factory=dict)

    def add(self, reference: str, transcript: str) -> list[Error]:
        from evals.voice_zh import norm_chars
        from evals.wer import edit_distance

        self.utterances += 1
        ref = norm_chars(reference)
        self.ref_chars += len(ref)
        self.edits += edit_distance(ref, norm_chars(transcript))
        errors = classify(reference, transcript) + surface_errors(transcript)
        for e in errors:
            self.by_kind[e.kind] += 1
            self.edits_by_kind[e.kind] += e.edits
            self.examples.setdefault(e.kind, Counter())[f"{e.said}->{e.heard}"] += 1
        return errors

    def report(self, top: int = 8) -> dict[str, Any]:
        return {
            "utterances": self.utterances,
            "cer": round(self.edits / max(1, self.ref_chars), 4),
            "classes": {k: {"errors": n, "char_edits": self.edits_by_kind[k],
                            "top": self.examples[k].most_common(top)}
                        for k, n in self.by_kind.most_common()},
        }


def table(report: dict[str, Any], title: str, examples: bool = True) -> str:
    lines = [f"{title}: n={report['utterances']}, normalised CER {report['cer']:.4f}",
             f"{'class':20}{'errors':>7}{'edits':>7}  most frequent (said->heard x n)"]
    for kind, c in report["classes"].items():
        top = ", ".join(f"{pair} x{n}" for pair, n in c["top"][:6]) if examples else ""
        lines.append(f"{kind:20}{c['errors']:>7}{c['char_edits']:>7}  {top}")
    return "\n".join(lines)


# --- the server's recognition path, offline ---------------------------------------------------------
def decode_clip(path: Path):
    """Ogg/Opus -> 16 kHz float32 as the server decodes an upload (cached next to the clip)."""
    import numpy as np

    from voice.stream import AudioStream

    npy = path.with_suffix(".pcm.npy")
    if npy.is_file():
        return np.load(npy)
    stream = AudioStream("ogg", max_seconds=60)
    stream.feed(path.read_bytes())
    audio = stream.finish()
    np.save(npy, audio)
    return audio


def recognise(stt, corrector, audio, context) -> tuple[str, str]:
    """(Whisper's text, corrected text) the way ``VoiceGateway.transcribe`` makes a first turn's."""
    from voice.lexicon import echoes_hotwords

    transcript = stt.transcribe(audio, lang="zh", prompt=context.prompt, hotwords=context.hotword_text(),
                                domain_lm=True)
    if echoes_hotwords(transcript.text, context.hotwords):
        transcript = stt.transcribe(audio, lang="zh", domain_lm=True)
    if corrector is None or not transcript.text:
        return transcript.text, transcript.text
    return transcript.text, corrector.correct(transcript.text, context)[0]


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def typed_check(homophones: list[str]) -> int:
    """The typed Mandarin training lines through the corrector: each change is a false correction, except
    where it fixes a deliberate typo of the data (点费, 谁费). Prints the lines the homophone step changes."""
    from assistant.nlu.data import load_examples
    from evals import voice_zh
    from voice.correct import PinyinCorrector
    from voice.lexicon import speech_context

    lines = list(dict.fromkeys(ex.text for ex in load_examples(voice_zh.TRAIN_DATA, strict=False) if ex.lang == "zh"))
    context = speech_context("zh", account_labels=ACCOUNT_LABELS)
    domain, full = PinyinCorrector(homophones=False), PinyinCorrector(homophones=True)
    for pair in (p for p in homophones if p not in ("on", "off")):
        key, _, raw = pair.partition("=")
        setattr(full.homophones, key, _value(raw))
    full.correct("预热一下")
    changed_domain = changed_full = 0
    spent = [0.0, 0.0]
    for text in lines:
        started = time.perf_counter()
        before = domain.correct(text, context)[0]
        middle = time.perf_counter()
        after = full.correct(text, context)[0]
        spent[0] += middle - started
        spent[1] += time.perf_counter() - middle
        changed_domain += before != text
        changed_full += after != text
        if after != before:
            print(f"{text} -> {after}")
    print(f"{len(lines)} typed lines: the domain step changes {changed_domain}, with the homophone step "
          f"{changed_full}; ms a line: {1000 * spent[0] / len(lines):.1f} the domain step, "
          f"{1000 * spent[1] / len(lines):.1f} both")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.voice_zh_errors", description=__doc__.split("\n")[0])
    parser.add_argument("--source", choices=("train", "dev"), default="train")
    parser.add_argument("--limit", type=int, default=120, help="lines (each gives a normal clip and an elder variant)")
    parser.add_argument("--variants", default="normal", help="which clips to recognise (normal,slow,pause,noise)")
    parser.add_argument("--set", action="append", default=[], metavar="ATTR=JSON", help="a WhisperSTT attribute")
    parser.add_argument("--no-correct", action="store_true", help="without the pinyin corrector")
    parser.add_argument("--from-json", type=Path, default=None, help="classify an evals.voice --lang zh result")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="a json-out of this tool: take Whisper's text from it, run only the corrector")
    parser.add_argument("--counts-only", action="store_true",
                        help="--from-json: no example pairs (a dev result is measured, not read)")
    parser.add_argument("--homophones", action="append", default=[], metavar="ATTR=JSON",
                        help="the homophone step: 'on', 'off' or one of its attributes (margin=4 ...; turns it on); default: as LUI_STT_HOMOPHONES")
    parser.add_argument("--half", choices=("a", "b"), default=None,
                        help="only the lines of one half (a stable hash of the line), to choose on one, check on the other")
    parser.add_argument("--by-variant", action="store_true", help="also a table per variant (normal, slow ...)")
    parser.add_argument("--typed", action="store_true",
                        help="only the corrector over the typed Mandarin training lines: which it changes (false fixes)")
    parser.add_argument("--json-out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.typed:
        return typed_check(args.homophones)

    if args.from_json:
        data = json.loads(args.from_json.read_text())
        pairs = [(u["text"], u["transcript"] or "", u["voice"], u["variant"]) for u in data["utterances"]]
        tally = Tally()
        for text, heard, _voice, _variant in pairs:
            tally.add(text, heard)
        print(table(tally.report(), str(args.from_json), examples=not args.counts_only))
        return 0

    from assistant.api.audio import request_texts
    from assistant.nlu.data import load_examples
    from assistant.settings import Settings
    from evals import voice_zh
    from voice.correct import PinyinCorrector
    from voice.domain_lm import CharLM
    from voice.kokoro import Kokoro
    from voice.lexicon import speech_context
    from voice.stt import WhisperSTT

    if args.source == "dev":
        sys.exit("tuning is done on training lines; measure dev with python -m evals.voice --lang zh")
    variants = tuple(v for v in args.variants.split(",") if v)
    examples = load_examples(voice_zh.TRAIN_DATA, strict=False)
    lines = sorted({ex.text: ex for ex in examples if ex.lang == "zh"}.values(),
                   key=lambda ex: voice_zh._h(ex.text, ex.intent))[: args.limit]
    specs = [s for s in voice_zh.plan(lines, voice_zh.VOICES, voice_zh.VARIANTS) if s.variant in variants]
    if args.half:  # after the plan, which gives each line its voices by its place among all --limit lines
        specs = [s for s in specs if int(hashlib.sha1(s.example.text.encode()).hexdigest(), 16) % 2
                 == "ab".index(args.half)]
    clips = voice_zh.generate(specs, Kokoro(Settings().kokoro_dir), voice_zh.SOURCES["train"])
    settings = Settings()
    reused = {}
    if args.reuse:
        reused = {(u["text"], u["voice"], u["variant"]): u["whisper"]
                  for u in json.loads(args.reuse.read_text())["utterances"]}
    stt = WhisperSTT.from_settings(settings)
    stt.lm_weight = settings.stt_lm_weight  # the server's; --set lm_weight=0 for Whisper's own first hypothesis
    for pair in args.set:
        key, _, raw = pair.partition("=")
        if not hasattr(stt, key):
            sys.exit(f"--set {pair}: WhisperSTT has no attribute {key!r}")
        setattr(stt, key, _value(raw))
    # the homophone step as the server runs it (off unless LUI_STT_HOMOPHONES), or as --homophones says
    homophones = Settings().stt_homophones if not args.homophones else "off" not in args.homophones
    corrector = None if args.no_correct else PinyinCorrector(homophones=homophones)
    for pair in (p for p in args.homophones if p not in ("on", "off")):
        key, _, raw = pair.partition("=")
        if corrector is None or corrector.homophones is None or not hasattr(corrector.homophones, key):
            sys.exit(f"--homophones {pair}: HomophoneCorrector has no attribute {key!r}")
        setattr(corrector.homophones, key, _value(raw))
    context = speech_context("zh", account_labels=ACCOUNT_LABELS)
    whisper, corrected = Tally(), Tally()
    by_variant: dict[str, tuple[Tally, Tally]] = {}
    rows = []
    started = time.perf_counter()
    texts = request_texts(settings)
    # the server's language model learns every training line: here each clip's own line is left out
    lm_without = lru_cache(maxsize=4)(lambda line: CharLM(t for t in texts if t != line))
    for spec, path, _seconds in clips:
        key = (spec.example.text, spec.voice, spec.variant)
        stt.lm = lm_without(spec.example.text) if stt.lm_weight > 0 else None
        ms = None
        if key in reused:
            heard = reused[key]
            fixed = corrector.correct(heard, context)[0] if corrector is not None and heard else heard
        else:
            audio = decode_clip(path)
            began = time.perf_counter()
            heard, fixed = recognise(stt, corrector, audio, context)
            ms = round((time.perf_counter() - began) * 1000)
        whisper.add(spec.example.text, heard)
        errors = corrected.add(spec.example.text, fixed)
        pair = by_variant.setdefault(spec.variant, (Tally(), Tally()))
        pair[0].add(spec.example.text, heard)
        pair[1].add(spec.example.text, fixed)
        rows.append({"text": spec.example.text, "voice": spec.voice, "variant": spec.variant, "whisper": heard,
                     "transcript": fixed, "ms": ms, "errors": [e.__dict__ for e in errors]})
    result = {"config": {"set": args.set, "lm_weight": stt.lm_weight, "reuse": str(args.reuse or ""), "correct": not args.no_correct, "variants": variants, "limit": args.limit,
                         "homophones": args.homophones, "half": args.half,
                         "clips": len(rows), "seconds": round(time.perf_counter() - started, 1)},
              "whisper": whisper.report(), "corrected": corrected.report(),
              "by_variant": {v: {"whisper": w.report(), "corrected": c.report()} for v, (w, c) in by_variant.items()},
              "utterances": rows}
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(table(result["whisper"], "Whisper"))
    print(table(result["corrected"], "after correction"))
    for variant, pair in result["by_variant"].items() if args.by_variant else ():
        print(table(pair["whisper"], f"{variant}: Whisper", examples=False))
        print(table(pair["corrected"], f"{variant}: after correction", examples=False))
    print(f"{len(rows)} clips in {result['config']['seconds']} s; json: {args.json_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
