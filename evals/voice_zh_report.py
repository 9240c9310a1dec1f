"""The Mandarin voice eval's figures: CER (normalised and raw), audio vs text, per voice and variant."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from evals.metrics import compute_metrics
from evals.voice_report import Record, latency, scored
from evals.voice_zh import TRACKED_TERMS, norm_chars, normalise_zh, raw_chars
from evals.wer import edit_distance


def score_cer(rec: Record) -> None:
    ref, hyp = norm_chars(rec.text), norm_chars(rec.transcript or "")
    rec.cer_edits, rec.cer_ref = edit_distance(ref, hyp), len(ref)
    ref_raw, hyp_raw = raw_chars(rec.text), raw_chars(rec.transcript or "")
    rec.cer_raw_edits, rec.cer_raw_ref = edit_distance(ref_raw, hyp_raw), len(ref_raw)


def group_figures(records: list[Record]) -> dict[str, Any]:
    if not records:
        return {"n": 0}
    ref = sum(r.cer_ref for r in records) or 1
    ref_raw = sum(r.cer_raw_ref for r in records) or 1
    audio_m = compute_metrics(scored(records, "audio", "zh"))
    text_m = compute_metrics(scored(records, "typed", "zh"))
    return {
        "n": len(records),
        "cer": round(sum(r.cer_edits for r in records) / ref, 4),
        "cer_raw": round(sum(r.cer_raw_edits for r in records) / ref_raw, 4),
        # one runaway transcript (a decoding loop) can outweigh the rest: edits capped at its length
        "cer_capped": round(sum(min(r.cer_edits, r.cer_ref) for r in records) / ref, 4),
        "exact": round(sum(r.cer_edits == 0 for r in records) / len(records), 4),
        "intent_accuracy_audio": audio_m["accuracy"],
        "intent_accuracy_text": text_m["accuracy"],
        "slot_f1_audio": audio_m["slot_f1"],
        "slot_f1_text": text_m["slot_f1"],
        "eos_to_final_ms": latency([r.eos_final_ms for r in records
                                    if r.eos_final_ms is not None and not r.endpointed_early]),
        "stt_ms": latency([r.audio.timings["stt"] for r in records if "stt" in r.audio.timings]),
        "no_transcript": sum(r.transcript is None for r in records),
        "endpointed_early": sum(r.endpointed_early for r in records),
    }


def term_recall(records: list[Record]) -> dict[str, dict[str, Any]]:
    """For each tracked service word: in how many utterances that say it the transcript has it too."""
    out: dict[str, dict[str, Any]] = {}
    for term in TRACKED_TERMS:
        said = [r for r in records if term in normalise_zh(r.text)]
        if said:
            heard = sum(term in normalise_zh(r.transcript or "") for r in said)
            misses = sorted({(r.transcript or "")[:30] for r in said if term not in normalise_zh(r.transcript or "")})
            out[term] = {"said": len(said), "heard": heard, "recall": round(heard / len(said), 3),
                         "misheard_as": misses[:5]}
    return out


def summarise_zh(records: list[Record]) -> dict[str, Any]:
    for rec in records:
        score_cer(rec)
    by_voice: dict[str, list[Record]] = defaultdict(list)
    by_variant: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_voice[r.voice].append(r)
        by_variant[r.variant].append(r)
    normal = by_variant.get("normal", [])
    return {
        "all": group_figures(records),
        "per_variant": {k: group_figures(v) for k, v in sorted(by_variant.items())},
        "per_voice_normal": {k: group_figures([r for r in v if r.variant == "normal"])
                             for k, v in sorted(by_voice.items())},
        "per_voice_all_variants": {k: group_figures(v) for k, v in sorted(by_voice.items())},
        "normal_speed_voices": group_figures(normal),
        "terms": term_recall(records),
    }


def _row(name: str, g: dict[str, Any]) -> str:
    if not g.get("n"):
        return f"{name:24}{0:>5}"
    lat = g["eos_to_final_ms"]
    return (f"{name:24}{g['n']:>5}{g['cer']:>8.3f}{g['cer_capped']:>8.3f}{g['cer_raw']:>8.3f}{g['exact']:>7.2f}"
            f"{g['intent_accuracy_audio']:>8.3f}{g['intent_accuracy_text']:>7.3f}"
            f"{g['slot_f1_audio']:>8.3f}{g['slot_f1_text']:>7.3f}{lat['p50']:>8.0f}{lat['p95']:>7.0f}")


def table_zh(summary: dict[str, Any], config: dict[str, Any]) -> str:
    zh = summary["zh"]
    head = (f"{'':24}{'n':>5}{'CER':>8}{'capped':>8}{'raw':>8}{'exact':>7}{'int.au':>8}{'text':>7}"
            f"{'slotF1au':>8}{'text':>7}{'eos>fin':>8}{'p95':>7}")
    lines = [
        f"voice eval (zh): whisper {config['model']} ({config['compute_type']}, {config['threads']} threads, "
        f"beam {config['beam_size']}), {config['format']}, session {config['session']}, n={config['n']}; "
        f"overrides {config['settings_overrides'] or 'none'}; run {config['run_s']:.0f} s; "
        f"load {config['loadavg_start'][0]:.1f}->{config['loadavg_end'][0]:.1f}",
        "CER = character edits / reference characters after normalisation (simplified, numerals as digits, "
        "no punctuation); capped: each utterance's edits at most its length; raw = as heard. int.au = intent accuracy from audio; eos>fin = audio.end -> "
        "transcript.final ms p50",
        head,
        _row("all", zh["all"]),
        _row("normal speed (all voices)", zh["normal_speed_voices"]),
    ]
    lines += [_row(f"  variant {k}", g) for k, g in zh["per_variant"].items() if k != "normal"]
    lines += [_row(f"  voice {k}", g) for k, g in zh["per_voice_normal"].items()]
    lines.append("service words heard (said -> heard):")
    lines.append("  " + ", ".join(f"{t} {v['heard']}/{v['said']}" for t, v in zh["terms"].items()))
    errors = ", ".join(f"{k} x{v}" for k, v in summary["errors"]["audio"].items()) or "none"
    lines.append(f"errors (audio): {errors}")
    return "\n".join(lines)


def worst_markdown_zh(records: list[Record], config: dict[str, Any], k: int = 25) -> str:
    ranked = sorted(records, key=lambda r: (-(r.cer_edits / max(1, r.cer_ref)), r.index))[:k]
    out = [f"# Mandarin voice eval: the {len(ranked)} worst transcripts", "",
           f"whisper `{config['model']}`, `{config['format']}`, n={config['n']}, overrides "
           f"{config['settings_overrides'] or 'none'}. Intents: gold / audio / text.", ""]
    for rank, r in enumerate(ranked, 1):
        hyp = r.transcript if r.transcript is not None else f"(no transcript: {r.audio.error})"
        mark = "" if r.audio.intent == r.intent else " **(intent lost)**"
        out.append(f"{rank}. CER {r.cer_edits / max(1, r.cer_ref):.2f} - {r.voice} {r.variant} - "
                   f"`{r.intent}` / `{r.audio.intent}` / `{r.typed.intent}`{mark}")
        out += [f"   - said: {r.text}", f"   - heard: {hyp}"]
    return "\n".join(out) + "\n"
