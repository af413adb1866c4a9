"""observe_drift: each day, a character's replies against its persona baseline: the embedding distance
between its persona+voice text and the mean of the day's replies (and of a baseline window before), and
style statistics (length, emoji, question and exclamation rates) against that window; a drift score
at or above BGP_DRIFT_THRESHOLD flags the day. Embeddings only: no chat LLM."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Sequence

from background_pipelines.character.lexicon import style_stats
from background_pipelines.character.material import NOT_OVER, active_characters, catch_up, check_selection, split_by_day_over
from background_pipelines.character.result import StepResult, md_table
from background_pipelines.store import character as cstore
from background_pipelines.store import ledger
from background_pipelines.store.engine import Store

if TYPE_CHECKING:  # numpy is imported where vectors are compared: the code location loads this module
    import numpy as np

STAGE = "drift_observations"
VERSION = "drift-v1"
MAX_BASELINE_REPLIES = 400
# Fewer replies than this make rates meaningless (one "?" in two replies is a 50% question rate).
MIN_DAY_REPLIES = 3
MIN_BASELINE_REPLIES = 5
# How big a change counts as a full (1.0) drift on each axis: tripled/thirded reply length, a rate moving
# by half the replies, the day's replies moving 0.25 further from the persona than usual.
_LENGTH_SCALE = math.log(3.0)
_RATE_SCALE = 0.5
_EMBED_SCALE = 0.25
_RATES = {"emoji_rate": "emoji rate", "question_rate": "question rate", "exclamation_rate": "exclamation rate"}


def _unit(v: np.ndarray) -> np.ndarray:
    import numpy as np

    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _cos_distance(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    return round(float(1.0 - np.dot(_unit(a), _unit(b))), 6)


def persona_text(persona: str, voice: str) -> str:
    return f"{persona}\n{voice}".strip()


def drift_components(style: dict, base: dict | None, dist: float, base_dist: float | None) -> tuple[dict[str, float], list[str]]:
    """Per-axis drift in [0, 1] and a readable reason per axis (the caller keeps those at threshold)."""
    if base is None or base_dist is None:
        return {}, []
    comps, reasons = {}, []
    ratio = (style["avg_length"] + 1.0) / (base["avg_length"] + 1.0)
    comps["length"] = min(1.0, abs(math.log(ratio)) / _LENGTH_SCALE)
    reasons.append(f"replies {ratio:.1f}x the usual length ({base['avg_length']:.0f} -> {style['avg_length']:.0f} chars)")
    for key, label in _RATES.items():
        comps[key] = min(1.0, abs(style[key] - base[key]) / _RATE_SCALE)
        reasons.append(f"{label} {base[key]:.2f} -> {style[key]:.2f}")
    comps["embedding"] = min(1.0, max(0.0, dist - base_dist) / _EMBED_SCALE)
    reasons.append(f"distance from persona {base_dist:.3f} -> {dist:.3f}")
    return {k: round(v, 4) for k, v in comps.items()}, reasons


def observe_drift(
    store: Store,
    embedder,
    days: Sequence[str],
    *,
    threshold: float,
    baseline_days: int,
    characters: Sequence[str] | None = None,
    force: bool = False,
    run_id: str | None = None,
    now: datetime | None = None,
) -> StepResult:
    """One drift observation per character active on each of `days` (local dates); see module doc."""
    days = list(days)
    only = list(characters) if characters else None
    check_selection(store, days, only)
    result = StepResult(stage=STAGE, days=days)
    result.extra.update(embedding_model=embedder.model_id, threshold=threshold, baseline_days=baseline_days)
    rows, flagged = [], []
    late = catch_up(store, STAGE, days, only)
    result.extra["caught_up"] = sum(len(v) for v in late.values())
    for day in sorted(late) + days:
        over, running = split_by_day_over(active_characters(store, day, late.get(day) if day in late and day not in days else only), now)
        for who in running:
            ledger.mark(store, STAGE, VERSION, [who.item], ledger.PENDING, error=f"{NOT_OVER} in {who.timezone}", run_id=run_id)
            result.pending += 1
        existing = cstore.existing_character_days(store, STAGE, [(w.name, w.day) for w in over])
        for who in over:
            replies = cstore.character_replies(store, who.name, who.start, who.end)
            base = cstore.character_replies(store, who.name, who.start - timedelta(days=baseline_days), who.start)[-MAX_BASELINE_REPLIES:]
            persona = persona_text(who.persona, who.voice)
            fingerprint = json.dumps(
                [VERSION, embedder.model_id, threshold, baseline_days, persona, [r["id"] for r in replies], [r["id"] for r in base]]
            )
            digest = hashlib.sha256(fingerprint.encode()).hexdigest()
            held = existing.get((who.name, who.day))
            if not force and held and held["version"] == VERSION and held["material_hash"] == digest:
                result.skipped += 1
                continue
            texts = [r["text"] for r in replies]
            base_texts = [r["text"] for r in base]
            vecs = embedder.encode([persona or who.name] + texts + base_texts)
            p, day_vecs, base_vecs = vecs[0], vecs[1 : 1 + len(texts)], vecs[1 + len(texts) :]
            day_mean = day_vecs.mean(axis=0)
            dist = _cos_distance(p, day_mean)
            base_dist = _cos_distance(p, base_vecs.mean(axis=0)) if len(base_texts) else None
            shift = _cos_distance(day_mean, base_vecs.mean(axis=0)) if len(base_texts) else None
            style = style_stats(texts)
            base_style = style_stats(base_texts) if base_texts else None
            comps, reasons = drift_components(style, base_style, dist, base_dist)
            score = max(comps.values(), default=0.0)
            kept = [r for (k, v), r in zip(comps.items(), reasons) if v >= threshold]
            enough = len(texts) >= MIN_DAY_REPLIES and len(base_texts) >= MIN_BASELINE_REPLIES
            if not enough:
                kept = [
                    f"too few replies to judge: {len(texts)} today (need {MIN_DAY_REPLIES}), {len(base_texts)} in the "
                    f"{baseline_days} days before (need {MIN_BASELINE_REPLIES})"
                ]
            is_flagged = enough and bool(comps) and score >= threshold
            rows.append(
                dict(
                    character=who.name, day=who.day, reply_count=len(texts), embedding_model=embedder.model_id,
                    embedding_distance=dist, baseline_embedding_distance=base_dist, centroid_shift=shift,
                    style={**style, "components": comps}, baseline_style=base_style, baseline_reply_count=len(base_texts),
                    drift_score=round(score, 4), threshold=threshold, flagged=is_flagged, reasons=kept,
                    source_message_ids=[r["id"] for r in replies], material_hash=digest,
                )
            )
            if is_flagged:
                flagged.append(f"{who.name}/{who.day}")
    result.rows_written = cstore.save_character_days(store, STAGE, rows, stage=STAGE, version=VERSION, run_id=run_id)
    result.processed = len(rows)
    result.row_count = cstore.count_rows(store, STAGE, days)
    result.extra["flagged"] = len(flagged)
    result.extra["flagged_character_days"] = ", ".join(flagged) or "-"
    result.preview = (
        md_table(
            ["character", "day", "replies", "persona distance (base)", "score", "flagged", "why"],
            [
                [
                    r["character"], r["day"], r["reply_count"],
                    f"{r['embedding_distance']:.3f} ({r['baseline_embedding_distance']:.3f})" if r["baseline_embedding_distance"] is not None else f"{r['embedding_distance']:.3f} (-)",
                    r["drift_score"], "⚠️ yes" if r["flagged"] else "no", "; ".join(r["reasons"]),
                ]
                for r in rows
            ],
        )
        if rows
        else "_nothing new to observe_"
    )
    return result
