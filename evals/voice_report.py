"""The voice eval's records and its report: WER, audio-vs-text metrics, latency, tables."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from evals.metrics import Scored, compute_metrics, percentile
from evals.wer import edit_distance, fold_numbers, has_cjk, words

NO_INTENT = "<none>"  # the turn ended in an error before an intent event


@dataclass
class TurnOut:
    """What one turn (audio or text) produced."""

    intent: str = NO_INTENT
    slots: dict[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    reply: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # the code of the terminal error event
    confirm_request: bool = False
    turn_ms: float | None = None  # send (text) / audio.end (audio) -> reply or error


@dataclass
class Record:
    index: int
    text: str
    intent: str
    slots: dict[str, Any]
    audio_s: float
    audio_bytes: int
    transcript: str | None = None
    partials: int = 0
    eos_final_ms: float | None = None  # audio.end sent -> transcript.final received
    endpointed_early: bool = False  # the server ended the utterance (long pause) before audio.end
    audio: TurnOut = field(default_factory=TurnOut)
    typed: TurnOut = field(default_factory=TurnOut)
    edits: int = 0
    ref_words: int = 0
    edits_numfold: int = 0
    ref_words_numfold: int = 0
    voice: str = ""  # Mandarin set: the Kokoro voice
    variant: str = ""  # Mandarin set: normal / slow / pause / noise
    cer_edits: int = 0  # Mandarin: character edits after normalisation (evals.voice_zh.normalise_zh)
    cer_ref: int = 0
    cer_raw_edits: int = 0  # Mandarin: character edits on the text as sent and heard (spaces dropped)
    cer_raw_ref: int = 0



def score_wer(rec: Record) -> None:
    ref, hyp = words(rec.text), words(rec.transcript or "")
    rec.edits, rec.ref_words = edit_distance(ref, hyp), len(ref)
    ref_f, hyp_f = fold_numbers(ref), fold_numbers(hyp)
    rec.edits_numfold, rec.ref_words_numfold = edit_distance(ref_f, hyp_f), len(ref_f)


def wer_summary(records: list[Record]) -> dict[str, Any]:
    ref = sum(r.ref_words for r in records)
    ref_f = sum(r.ref_words_numfold for r in records)
    return {
        "n": len(records),
        "wer": round(sum(r.edits for r in records) / ref, 4) if ref else 0.0,
        "exact": round(sum(r.edits == 0 for r in records) / len(records), 4) if records else 0.0,
        "wer_numbers_folded": round(sum(r.edits_numfold for r in records) / ref_f, 4) if ref_f else 0.0,
        "reference_words": ref,
    }


def scored(records: list[Record], which: str, lang: str = "en") -> list[Scored]:
    rows = []
    for r in records:
        t: TurnOut = getattr(r, which)
        rows.append(Scored(r.text, lang, r.intent, t.intent, r.slots, t.slots, t.turn_ms or 0.0))
    return rows


def latency(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1),
            "max": round(max(values), 1) if values else 0.0}


def summarise(records: list[Record]) -> dict[str, Any]:
    audio_m, text_m = compute_metrics(scored(records, "audio")), compute_metrics(scored(records, "typed"))
    both = Counter((r.typed.intent == r.intent, r.audio.intent == r.intent) for r in records)
    latin = [r for r in records if not has_cjk(r.text)]
    return {
        "wer": wer_summary(records),
        "wer_without_cjk_lines": wer_summary(latin),
        "intent_accuracy": {"audio": audio_m["accuracy"], "text": text_m["accuracy"]},
        "intent_accuracy_without_cjk_lines": {
            "n": len(latin),
            "audio": round(sum(r.audio.intent == r.intent for r in latin) / len(latin), 4) if latin else 0.0,
            "text": round(sum(r.typed.intent == r.intent for r in latin) / len(latin), 4) if latin else 0.0,
        },
        "slot_f1": {"audio": audio_m["slot_f1"], "text": text_m["slot_f1"]},
        "macro_f1": {"audio": audio_m["macro_f1"], "text": text_m["macro_f1"]},
        # who is to blame: text right & audio wrong = lost in speech recognition; text wrong = the router
        "agreement": {
            "text_right_audio_right": both[(True, True)],
            "text_right_audio_wrong": both[(True, False)],
            "text_wrong_audio_right": both[(False, True)],
            "text_wrong_audio_wrong": both[(False, False)],
            "audio_wrong_with_exact_transcript": sum(r.audio.intent != r.intent and r.edits == 0 for r in records),
        },
        "latency_ms": {
            "eos_to_final": latency([r.eos_final_ms for r in records
                                     if r.eos_final_ms is not None and not r.endpointed_early]),
            "stt": latency([r.audio.timings["stt"] for r in records if "stt" in r.audio.timings]),
            "understand_audio": latency([r.audio.timings["understand"] for r in records
                                         if "understand" in r.audio.timings]),
            "eos_to_reply": latency([r.audio.turn_ms for r in records if r.audio.turn_ms is not None
                                     and r.audio.error is None]),
            "text_send_to_reply": latency([r.typed.turn_ms for r in records if r.typed.turn_ms is not None
                                           and r.typed.error is None]),
        },
        "errors": {
            "audio": dict(Counter(r.audio.error for r in records if r.audio.error)),
            "text": dict(Counter(r.typed.error for r in records if r.typed.error)),
        },
        "confirm_requests": {"audio": sum(r.audio.confirm_request for r in records),
                             "text": sum(r.typed.confirm_request for r in records)},
        "partials": sum(r.partials for r in records),
        "endpointed_early": sum(r.endpointed_early for r in records),
        "metrics_audio": audio_m,
        "metrics_text": text_m,
    }


def table(summary: dict[str, Any], config: dict[str, Any]) -> str:
    w, lat = summary["wer"], summary["latency_ms"]
    acc, f1, macro = summary["intent_accuracy"], summary["slot_f1"], summary["macro_f1"]
    ag = summary["agreement"]
    nocjk = summary["intent_accuracy_without_cjk_lines"]

    def pq(key: str) -> str:
        return f"{lat[key]['p50']:.0f} / {lat[key]['p95']:.0f}"

    errors = ", ".join(f"{k} x{v}" for k, v in summary["errors"]["audio"].items()) or "none"
    text_errors = ", ".join(f"{k} x{v}" for k, v in summary["errors"]["text"].items()) or "none"
    lines = [
        f"voice eval: whisper {config['model']} ({config['compute_type']}, {config['threads']} threads, "
        f"beam {config['beam_size']}), {config['format']}, n={config['n']}, "
        f"{'real-time pacing' if config['realtime'] else 'unpaced'}; run {config['run_s']:.0f} s",
        f"{'':38}{'audio':>12}{'text':>12}",
        f"{'intent accuracy':38}{acc['audio']:>12.3f}{acc['text']:>12.3f}",
        f"{'  without code-switched (CJK) lines':38}{nocjk['audio']:>12.3f}{nocjk['text']:>12.3f}",
        f"{'macro F1':38}{macro['audio']:>12.3f}{macro['text']:>12.3f}",
        f"{'slot F1':38}{f1['audio']:>12.3f}{f1['text']:>12.3f}",
        f"{'WER (corpus)':38}{w['wer']:>12.3f}",
        f"{'  numbers folded to digits':38}{w['wer_numbers_folded']:>12.3f}",
        f"{'  without CJK lines':38}{summary['wer_without_cjk_lines']['wer']:>12.3f}",
        f"{'exact transcripts':38}{w['exact']:>12.3f}",
        f"{'end of speech -> final p50/p95 ms':38}{pq('eos_to_final'):>12}",
        f"{'stt p50/p95 ms':38}{pq('stt'):>12}",
        f"{'end of speech -> reply p50/p95 ms':38}{pq('eos_to_reply'):>12}",
        f"{'send -> reply p50/p95 ms (text)':38}{'':>12}{pq('text_send_to_reply'):>12}",
        f"{'text right, audio wrong':38}{ag['text_right_audio_wrong']:>12}",
        f"{'text wrong, audio right':38}{ag['text_wrong_audio_right']:>12}",
        f"{'both wrong':38}{ag['text_wrong_audio_wrong']:>12}",
        f"errors (audio): {errors}; errors (text): {text_errors}; partial transcripts: {summary['partials']}; "
        f"server-endpointed before audio.end: {summary['endpointed_early']}",
    ]
    return "\n".join(lines)


def worst_markdown(records: list[Record], config: dict[str, Any], k: int = 15) -> str:
    ranked = sorted(records, key=lambda r: (-(r.edits / max(1, r.ref_words)), -r.edits, r.index))[:k]
    out = [f"# Voice eval: the {len(ranked)} worst transcripts",
           "",
           f"whisper `{config['model']}`, `{config['format']}`, n={config['n']}. WER per utterance = word edits / "
           "reference words (lowercased, punctuation stripped). Intents: gold / from audio / from text.",
           ""]
    for rank, r in enumerate(ranked, 1):
        hyp = r.transcript if r.transcript is not None else f"(no transcript: {r.audio.error})"
        mark = "" if r.audio.intent == r.intent else " **(intent lost)**"
        out.append(f"{rank}. WER {r.edits / max(1, r.ref_words):.2f} ({r.edits}/{r.ref_words}) - "
                   f"`{r.intent}` / `{r.audio.intent}` / `{r.typed.intent}`{mark}")
        out.append(f"   - said: {r.text}")
        out.append(f"   - heard: {hyp}")
    return "\n".join(out) + "\n"


# --- main -------------------------------------------------------------------------------------------
