"""Evidence-level memory evaluation: does recall() put the turns that answer a question in its top k?

Reads long two-person conversations in the LoCoMo-style layout (a JSON list of samples: `conversation`
with `speaker_a`, `speaker_b`, `session_N` turns {speaker, dia_id, text} and `session_N_date_time`;
`qa` with `question`, `answer` or `adversarial_answer`, `evidence` dia ids, `category` 1..5). Each
sample is imported into a fresh store with its real timestamps (speaker_a is the user, speaker_b the
character, each session its own session id), the pipeline's own stages run over all its days as a
single-run backfill does (offline LLM backend), and recall() is asked every question.

Figures, per category and per speaker of the evidence turn: strict recall@1/5/10/25 = evidence turns
found in the top k turns / all evidence turns, where hits are expanded into their source turns in rank
order, deduplicated and cut at k turns. In the same run, the floor: BM25 (rank_bm25's BM25Okapi,
k1=1.5 b=0.75, lower-cased word tokens, no stemming or stopword list) over the same raw turns of the
conversation. A turn's `blip_caption`, when present, is part of its text ("[photo: ...]") for both.
Unknown fields are ignored; malformed evidence ("D8:6; D9:17") is split, and ids that name no turn are
counted and reported, never fatal.

    .venv/bin/python benchmarks/memory_eval.py FILE [--limit N] [--embedder hashing|sentence-transformers]
    .venv/bin/python benchmarks/memory_eval.py --generate [--seed 0 --samples 2 --sessions 20]
    .venv/bin/python benchmarks/memory_eval.py --demo      # the demo world's planted facts
    .venv/bin/python benchmarks/memory_eval.py --smoke     # CI size: one small generated sample
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
KS = (1, 5, 10, 25)
GOAL_OVERALL = 0.75
GOAL_SPEAKER_GAP = 0.05
_DIA = re.compile(r"^D(\d+):(\d+)$")
_TOKEN = re.compile(r"\w+", re.UNICODE)
_SESSION_KEY = re.compile(r"^session_(\d+)$")


class LayoutError(ValueError):
    """The file is not in the expected layout; the message names the sample and the field."""


# -- reading the layout ------------------------------------------------------------------------

_MONTHS = {m.lower(): i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"], 1)}
_LOCOMO_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})\s*$", re.I)


def parse_session_time(value: str, where: str) -> datetime:
    """'1:56 pm on 8 May, 2023' (LoCoMo) or ISO 8601, as naive UTC."""
    m = _LOCOMO_TIME.match(value or "")
    if m:
        hour, minute, ampm, day, month, year = m.groups()
        mon = _MONTHS.get(month.lower()) or next((i for n, i in _MONTHS.items() if n.startswith(month.lower()[:3])), None)
        if mon is None:
            raise LayoutError(f"{where}: unknown month {month!r} in {value!r}")
        h = int(hour) % 12 + (12 if ampm.lower() == "pm" else 0)
        return datetime(int(year), mon, int(day), h, int(minute))
    try:
        dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise LayoutError(f"{where}: expected a time like '1:56 pm on 8 May, 2023' or ISO 8601, got {value!r}") from None
    if dt.tzinfo is not None:
        from datetime import timezone

        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


@dataclass
class Turn:
    dia_id: str
    session: int
    speaker: str
    role: str  # user | character
    text: str
    at: datetime
    message_id: int | None = None


@dataclass
class Question:
    text: str
    category: int
    evidence: list[str]  # dia ids that exist
    answer: str = ""


@dataclass
class Sample:
    sample_id: str
    user: str
    character: str
    turns: list[Turn]
    questions: list[Question]
    malformed_evidence: int = 0  # evidence strings that held several ids or were not an id
    missing_evidence: int = 0  # ids that name no turn
    no_evidence: int = 0  # questions left with no evidence turn (not scored)
    sessions: dict[int, datetime] = field(default_factory=dict)


def _turn_text(turn: dict) -> str:
    text = str(turn.get("text") or "").strip()
    caption = str(turn.get("blip_caption") or "").strip()
    return f"{text} [photo: {caption}]" if caption else text


def read_samples(path: str) -> list[Sample]:
    """The file's samples; a malformed sample raises LayoutError naming it."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise LayoutError(f"{path}: cannot read JSON ({exc})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise LayoutError(f"{path}: expected a JSON list of samples")
    return [_sample(s, f"{path}[{i}]", i) for i, s in enumerate(data)]


def _sample(raw: dict, where: str, index: int) -> Sample:
    conv = raw.get("conversation") if isinstance(raw, dict) else None
    if not isinstance(conv, dict):
        raise LayoutError(f"{where}: missing 'conversation'")
    a, b = conv.get("speaker_a"), conv.get("speaker_b")
    if not a or not b:
        raise LayoutError(f"{where}.conversation: missing speaker_a or speaker_b")
    turns: list[Turn] = []
    sessions: dict[int, datetime] = {}
    for key in sorted((k for k in conv if _SESSION_KEY.match(k)), key=lambda k: int(_SESSION_KEY.match(k).group(1))):
        n = int(_SESSION_KEY.match(key).group(1))
        rows = conv[key]
        if not isinstance(rows, list) or not rows:
            continue
        when = conv.get(f"{key}_date_time")
        if not when:
            raise LayoutError(f"{where}.conversation.{key}_date_time: missing")
        start = parse_session_time(str(when), f"{where}.conversation.{key}_date_time")
        sessions[n] = start
        for i, t in enumerate(rows):
            if not isinstance(t, dict) or not t.get("dia_id") or not t.get("speaker"):
                raise LayoutError(f"{where}.conversation.{key}[{i}]: a turn needs 'speaker' and 'dia_id'")
            text = _turn_text(t)
            if not text:
                continue
            role = "user" if t["speaker"] == a else "character"
            # turns of a session are spread a minute apart from its start: order and day are kept
            turns.append(Turn(str(t["dia_id"]).strip(), n, str(t["speaker"]), role, text, start + timedelta(minutes=i)))
    known = {t.dia_id for t in turns}
    s = Sample(str(raw.get("sample_id") or f"sample-{index}"), str(a), str(b), turns, [], sessions=sessions)
    for j, q in enumerate(raw.get("qa") or []):
        if not isinstance(q, dict) or not q.get("question"):
            raise LayoutError(f"{where}.qa[{j}]: missing 'question'")
        ids: list[str] = []
        for ev in q.get("evidence") or []:
            parts = [p for p in re.split(r"[;,\s]+", str(ev)) if p]
            if len(parts) != 1 or not _DIA.match(parts[0]):
                s.malformed_evidence += 1
            for p in parts:
                m = re.match(r"^D(\d+):(\d+)", p)
                dia = f"D{int(m.group(1))}:{int(m.group(2))}" if m else p
                if dia in known:
                    if dia not in ids:
                        ids.append(dia)
                else:
                    s.missing_evidence += 1
        try:
            cat = int(q.get("category"))
        except (TypeError, ValueError):
            raise LayoutError(f"{where}.qa[{j}].category: expected 1..5, got {q.get('category')!r}") from None
        if not ids:
            s.no_evidence += 1
            continue
        s.questions.append(Question(str(q["question"]), cat, ids, str(q.get("answer", q.get("adversarial_answer", "")))))
    return s


# -- the floor -----------------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    return [w.lower() for w in _TOKEN.findall(text)]


class BM25Floor:
    """BM25Okapi (rank_bm25) over a conversation's raw turns."""

    def __init__(self, turns: list[Turn]):
        from rank_bm25 import BM25Okapi

        self.ids = [t.dia_id for t in turns]
        self.bm25 = BM25Okapi([tokens(t.text) or ["_"] for t in turns])

    def rank(self, question: str, k: int) -> list[str]:
        scores = self.bm25.get_scores(tokens(question))
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        return [self.ids[i] for i in order[:k]]


# -- the pipeline --------------------------------------------------------------------------------


def import_sample(store, s: Sample) -> None:
    """The sample's turns as messages (platform "eval"), the speakers as user and character."""
    from background_pipelines.ingest import record_messages
    from background_pipelines.store.messages import upsert_characters

    upsert_characters(store, [dict(name=s.character, persona="", voice="")])
    channel = f"{s.sample_id}/{s.user}/{s.character}"
    msgs = [dict(external_id=f"{s.sample_id}:{t.dia_id}", channel=channel, session=f"{s.sample_id}:session_{t.session}",
                 author=t.speaker, author_kind=t.role, text=t.text, created_at=t.at.isoformat()) for t in s.turns]
    record_messages(msgs, store, platform="eval")
    from sqlalchemy import select

    from background_pipelines.store.schema import messages

    with store.connect() as conn:
        ids = {x: i for x, i in conn.execute(select(messages.c.external_id, messages.c.id).where(messages.c.platform == "eval"))}
    for t in s.turns:
        t.message_id = ids.get(f"{s.sample_id}:{t.dia_id}")


def run_stages(store, settings) -> float:
    """Every message-level stage over every day of the store, oldest day first, as a backfill runs
    them; returns the CPU seconds spent."""
    from background_pipelines.cognition import embed_messages, extract_facts, score_messages, summarize_sessions, update_knowledge_graph
    from background_pipelines.llm import Gateway, get_embedder
    from background_pipelines.store.message_views import day_versions

    cpu = time.process_time()
    gateway = Gateway.from_settings(settings, store)
    embedder = get_embedder(settings)
    days = sorted(day_versions(store))  # one ranged call per stage, as a single-run backfill makes
    score_messages(store, gateway, settings, days)
    embed_messages(store, embedder, settings, days)
    summarize_sessions(store, gateway, settings, days, embedder=embedder)
    extract_facts(store, gateway, settings, days)
    update_knowledge_graph(store, gateway, settings, days)
    return time.process_time() - cpu


def ranked_turns(hits, k: int) -> list[int]:
    """Hits expanded into their source message ids in rank order, deduplicated, cut at k."""
    out: list[int] = []
    seen: set[int] = set()
    for h in hits:
        for mid in h.source_message_ids:
            if mid not in seen:
                seen.add(mid)
                out.append(mid)
                if len(out) == k:
                    return out
    return out


# -- scoring ---------------------------------------------------------------------------------------


class Tally:
    """Evidence turns found at each k, per (system, group); group is a category or a speaker role."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: {k: 0 for k in KS})
        self.total: dict[tuple[str, str], int] = defaultdict(int)
        self.questions: dict[str, int] = defaultdict(int)

    def add(self, system: str, groups: list[str], ranked: list, evidence: list) -> None:
        for g in groups:
            self.total[(system, g)] += len(evidence)
            for k in KS:
                top = set(ranked[:k])
                self.found[(system, g)][k] += sum(1 for e in evidence if e in top)

    def recall(self, system: str, group: str, k: int) -> float | None:
        n = self.total.get((system, group), 0)
        return self.found[(system, group)][k] / n if n else None


def evaluate_sample(store, settings, s: Sample, tally: Tally, timing: dict) -> None:
    from background_pipelines.recall import recall

    by_dia = {t.dia_id: t for t in s.turns}
    floor = BM25Floor(s.turns)
    for q in s.questions:
        cat = f"{q.category} {CATEGORIES.get(q.category, 'unknown')}"
        tally.questions[cat] += 1
        t0 = time.perf_counter()
        hits = recall(s.user, q.text, character=s.character, k=max(KS), store=store, settings=settings)
        timing["recall_s"] += time.perf_counter() - t0
        timing["queries"] += 1
        got = ranked_turns(hits, max(KS))
        t0 = time.perf_counter()
        base = [by_dia[d].message_id for d in floor.rank(q.text, max(KS))]
        timing["bm25_s"] += time.perf_counter() - t0
        ev = [by_dia[d].message_id for d in q.evidence]
        for system, ranked in (("recall", got), ("bm25", base)):
            tally.add(system, [cat, "all"], ranked, ev)
            for d in q.evidence:  # per speaker: who spoke each evidence turn
                tally.add(system, [f"said by {by_dia[d].role}"], ranked, [by_dia[d].message_id])


# -- the demo world --------------------------------------------------------------------------------

# Written once from the planted predicates, before measuring (the recall_quality.py phrasings).
DEMO_QUESTIONS = {
    "works_at": ("Which company does {name} work for?", 4),
    "works_as": ("What is {name}'s job?", 4),
    "lives_in": ("Which city does {name} live in?", 4),
    "has_pet": ("Does {name} have a pet?", 4),
    "prefers": ("How does {name} like to be answered?", 4),
}
DEMO_PARAPHRASES = {
    "works_at": "Who pays {name}'s salary?",
    "works_as": "What does {name} spend the workday doing?",
    "lives_in": "Which part of the world is {name} from?",
    "has_pet": "Who is waiting for {name} when she gets back to the flat?",
    "prefers": "What should I keep in mind when replying to {name}?",
}


def demo_samples(store) -> list[Sample]:
    """One sample per (user, character) conversation of the loaded demo world that holds planted
    evidence: single-hop questions (two phrasings) per current fact, and temporal ones ("before")
    for the planted contradiction, with the messages that state it as evidence."""
    from sqlalchemy import select

    from background_pipelines.demo import default_world
    from background_pipelines.store.schema import messages as mt

    world = default_world()
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(mt.c.id, mt.c.external_id, mt.c.channel, mt.c.session, mt.c.author,
                                                               mt.c.author_kind, mt.c.text, mt.c.created_at).where(mt.c.platform == "demo"))]
    by_ext = {r["external_id"]: r for r in rows}
    convs: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        convs[r["channel"]].append(r)
    samples: dict[str, Sample] = {}

    def sample_for(channel: str) -> Sample:
        if channel not in samples:
            ms = sorted(convs[channel], key=lambda r: (r["created_at"], r["id"]))
            user = next(r["author"] for r in ms if r["author_kind"] == "user")
            char = next((r["author"] for r in ms if r["author_kind"] == "character"), "")
            turns = [Turn(r["external_id"], 0, r["author"], r["author_kind"], r["text"], r["created_at"], r["id"]) for r in ms]
            samples[channel] = Sample(channel, user, char, turns, [])
        return samples[channel]

    for f in world.facts:
        if f.superseded_by or f.predicate not in DEMO_QUESTIONS:
            continue
        groups: dict[str, list[str]] = defaultdict(list)
        for x in f.message_ids:
            if x in by_ext:
                groups[by_ext[x]["channel"]].append(x)
        for channel, ev in groups.items():
            s = sample_for(channel)
            name = f.user.title()
            template, cat = DEMO_QUESTIONS[f.predicate]
            s.questions.append(Question(template.format(name=name), cat, ev, f.object))
            s.questions.append(Question(DEMO_PARAPHRASES[f.predicate].format(name=name), cat, ev, f.object))
    for c in world.contradictions:
        ev = [x for x in c.old_message_ids if x in by_ext]
        if ev and c.predicate in ("works_at", "works_as", "lives_in"):
            s = sample_for(by_ext[ev[0]]["channel"])
            what = {"works_at": "company did {name} work for", "works_as": "job did {name} have", "lives_in": "city did {name} live in"}
            s.questions.append(Question(f"Which {what[c.predicate].format(name=c.user.title())} before the change?", 2,
                                        [x for x in ev if by_ext[x]["channel"] == s.sample_id], c.old))
    return list(samples.values())


# -- report ----------------------------------------------------------------------------------------


def _f(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def report(tally: Tally, info: dict) -> dict:
    groups = [f"{c} {n}" for c, n in CATEGORIES.items() if tally.total.get(("recall", f"{c} {n}"))] + ["all"]
    speakers = [g for g in ("said by user", "said by character") if tally.total.get(("recall", g))]
    head = " ".join(f"{'@' + str(k):>6}" for k in KS)
    print(f"\n{'group':<18} {'q':>5} {'ev':>5} | recall() {head} | BM25 floor {head} | @10 vs floor")
    out: dict = {"groups": {}, **info}
    for g in groups + speakers:
        r = [tally.recall("recall", g, k) for k in KS]
        b = [tally.recall("bm25", g, k) for k in KS]
        q = tally.questions.get(g, sum(tally.questions.values()) if g == "all" else 0)
        diff = (r[2] or 0) - (b[2] or 0)
        print(f"{g:<18} {q if q else '':>5} {tally.total[('recall', g)]:>5} |          {' '.join(_f(x) for x in r)} |"
              f"            {' '.join(_f(x) for x in b)} | {diff:+.3f}")
        out["groups"][g] = {"questions": q, "evidence_turns": tally.total[("recall", g)],
                            "recall": dict(zip(KS, r)), "bm25": dict(zip(KS, b))}
    cats = [g for g in groups if g != "all"]
    beat = [g for g in cats if (tally.recall("recall", g, 10) or 0) > (tally.recall("bm25", g, 10) or 0)]
    overall = tally.recall("recall", "all", 10) or 0.0
    u, c = tally.recall("recall", "said by user", 10), tally.recall("recall", "said by character", 10)
    ceiling = [g for g in cats if g not in beat and (tally.recall("bm25", g, 10) or 0) >= 1.0 and (tally.recall("recall", g, 10) or 0) >= 1.0]
    goals = [
        (f"recall@10 beats the BM25 floor in every category ({len(beat)}/{len(cats)}: "
         f"below or equal in {', '.join(g for g in cats if g not in beat) or 'none'}"
         f"{'; both at 1.000 in ' + ', '.join(ceiling) if ceiling else ''})", len(beat) == len(cats) and bool(cats)),
        (f"recall@10 >= {GOAL_OVERALL} overall ({overall:.3f})", overall >= GOAL_OVERALL),
        (f"character-spoken evidence within {GOAL_SPEAKER_GAP} of user-spoken at @10 "
         f"(user {_f(u).strip()}, character {_f(c).strip()})",
         u is not None and c is not None and abs(u - c) <= GOAL_SPEAKER_GAP),
    ]
    print()
    for text, met in goals:
        print(f"goal: {text}: {'MET' if met else 'NOT MET'}")
    out["goals"] = {t: m for t, m in goals}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file", nargs="?", help="JSON file in the LoCoMo-style layout")
    p.add_argument("--generate", action="store_true", help="evaluate on benchmarks/memory_gen.py output")
    p.add_argument("--demo", action="store_true", help="evaluate on the demo world's planted facts")
    p.add_argument("--smoke", action="store_true", help="one small generated sample (CI)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--limit", type=int, help="evaluate only the first N samples")
    p.add_argument("--embedder", default="hashing", help="BGP_EMBEDDING_BACKEND for the run (default hashing)")
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)
    if not (args.file or args.generate or args.demo or args.smoke):
        p.error("give FILE, --generate, --demo or --smoke")
    tmp = tempfile.mkdtemp(prefix="bgp_memory_eval_")
    os.environ.update(BGP_HOME=tmp, BGP_EMBEDDING_BACKEND=args.embedder)
    os.environ.pop("BGP_LLM_BASE_URL", None)  # the offline backend: deterministic, no network
    try:
        return _run(args, Path(tmp))
    except LayoutError as exc:
        print(f"memory_eval: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(args, tmp: Path) -> int:
    from background_pipelines.config import Settings
    from background_pipelines.store import open_store

    tally, timing = Tally(), defaultdict(float)
    cpu_per_conv: list[float] = []
    problems = defaultdict(int)
    if args.demo:
        from background_pipelines.demo import load_demo

        url = f"sqlite:///{tmp / 'demo.db'}"
        os.environ["BGP_DATABASE_URL"] = url
        settings = Settings.from_env()
        store = open_store(url)
        cpu = time.process_time()
        load_demo(store)
        cpu_all = run_stages(store, settings) + (time.process_time() - cpu)
        samples = demo_samples(store)
        source = f"demo world ({len(samples)} user-character conversations with planted evidence)"
        cpu_per_conv.append(cpu_all / max(1, len(samples)))
        for s in samples:
            evaluate_sample(store, settings, s, tally, timing)
        store.engine.dispose()
    else:
        if args.file:
            samples, source = read_samples(args.file), args.file
        else:
            from memory_gen import generate

            n, sessions = (1, 4) if args.smoke else (args.samples, args.sessions)
            path = tmp / "generated.json"
            path.write_text(json.dumps(generate(args.seed, n, sessions)))
            samples, source = read_samples(str(path)), f"generated (memory_gen.py seed {args.seed}, {n} samples x {sessions} sessions)"
        samples = samples[: args.limit] if args.limit else samples
        for i, s in enumerate(samples):
            url = f"sqlite:///{tmp / f'sample{i}.db'}"
            os.environ["BGP_DATABASE_URL"] = url
            settings = Settings.from_env()
            store = open_store(url)
            cpu = time.process_time()
            import_sample(store, s)
            cpu_per_conv.append(run_stages(store, settings) + (time.process_time() - cpu))
            evaluate_sample(store, settings, s, tally, timing)
            for key in ("malformed_evidence", "missing_evidence", "no_evidence"):
                problems[key] += getattr(s, key)
            store.engine.dispose()
            print(f"  {s.sample_id}: {len(s.turns)} turns, {len(s.sessions)} sessions, {len(s.questions)} questions, "
                  f"pipeline {cpu_per_conv[-1]:.1f} CPU s", flush=True)
    load = os.getloadavg()
    q = max(1, int(timing["queries"]))
    print(f"\nmemory eval: {source}; embedder {args.embedder}; offline LLM backend; SQLite; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"floor: rank_bm25 BM25Okapi over the same raw turns (lower-cased \\w+ tokens, no stemming/stopwords)")
    print(f"evidence problems: {problems['malformed_evidence']} malformed evidence strings (split), "
          f"{problems['missing_evidence']} ids naming no turn (dropped), {problems['no_evidence']} questions without evidence (not scored)")
    print(f"pipeline CPU s per conversation: {sum(cpu_per_conv) / max(1, len(cpu_per_conv)):.1f} "
          f"(max {max(cpu_per_conv or [0]):.1f}); recall {timing['recall_s'] * 1000 / q:.1f} ms/query, "
          f"BM25 floor {timing['bm25_s'] * 1000 / q:.1f} ms/query")
    out = report(tally, {"source": source, "embedder": args.embedder, "problems": dict(problems),
                         "cpu_s_per_conversation": sum(cpu_per_conv) / max(1, len(cpu_per_conv))})
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
