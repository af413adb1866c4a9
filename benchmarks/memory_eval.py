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
conversation. A turn's `blip_caption` (an image shared in it) is part of its text ("[shares a photo: ...]")
for both. Unknown fields are ignored; everything odd in a file (evidence strings holding two ids or naming
no turn, questions without `answer` or category, turns without dia_id, undated or skipped sessions,
repeated dia ids) is counted and reported per set, never fatal and never dropped silently. The category
numbers' names are printed and set with --categories (default 1 multi-hop, 2 temporal, 3 open-domain,
4 single-hop, 5 adversarial). Goals per set go through benchmarks/_report.py (MET / NOT MET; exit 0).

Sets (several per run, each its own table): --generate (memory_gen.py, the set the weights were tuned
on), --heldout (memory_gen_heldout.py, never tuned on), --demo (the demo world), --chitchat N (real
human chat: the N most frequent pairs of chitchat-dataset, 20 sessions each; a real question is taken
out of the conversation and the real reply that followed it is the evidence), and any FILE.

    .venv/bin/python benchmarks/memory_eval.py FILE... [--limit N] [--embedder hashing|sentence-transformers]
    .venv/bin/python benchmarks/memory_eval.py --generate --heldout --demo --chitchat 2 --embedder sentence-transformers
    .venv/bin/python benchmarks/memory_eval.py --smoke     # CI size: one small sample of each generator
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
_SESSION_DATE = re.compile(r"^session_(\d+)_date_time$")


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
    sessions: dict[int, datetime] = field(default_factory=dict)
    # what the file held that could not be used as is: counted and reported, never fatal, never silent
    problems: dict[str, int] = field(default_factory=lambda: defaultdict(int))


PROBLEMS = {  # key -> how the report names it
    "malformed_evidence": "evidence strings holding several ids or not an id (split / read leniently)",
    "missing_evidence": "evidence ids naming no turn (left out of the question's evidence)",
    "no_evidence": "questions left with no evidence turn (not scored)",
    "no_question": "qa items without a question (not scored)",
    "no_category": "questions without a usable category (scored under 0 unknown)",
    "no_answer": "questions without an answer key (scored; adversarial ones may carry adversarial_answer)",
    "bad_turn": "turns without speaker or dia_id, or not an object (skipped)",
    "empty_turn": "turns with neither text nor caption (skipped)",
    "third_speaker": "turns by neither speaker_a nor speaker_b (imported as the character's side)",
    "undated_session": "sessions without a readable date (dated a day after the previous one)",
    "dated_empty_session": "dated sessions without turns",
    "bad_session": "sessions that are not a list of turns (skipped)",
    "duplicate_dia": "turns repeating an earlier dia_id (kept under a suffix; evidence names the first)",
    "captioned_turns": "turns sharing an image (blip_caption indexed as part of the turn)",
}


def _turn_text(turn: dict) -> str:
    """The turn's text; an image shared in it (blip_caption) is part of the text, as a reader would see it."""
    text = str(turn.get("text") or "").strip()
    caption = str(turn.get("blip_caption") or "").strip()
    return f"{text} [shares a photo: {caption}]".strip() if caption else text


def read_samples(path: str) -> list[Sample]:
    """The file's samples. Only a file that is not this layout at all (no conversation, no speakers)
    raises LayoutError naming the sample and field; everything else odd is counted in `problems`."""
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
    s = Sample(str(raw.get("sample_id") or f"sample-{index}"), str(a), str(b), [], [])
    numbers = {int(m.group(1)) for k in conv if (m := _SESSION_KEY.match(k) or _SESSION_DATE.match(k))}
    previous: datetime | None = None
    seen: set[str] = set()
    for n in sorted(numbers):  # session numbers need not be contiguous
        key = f"session_{n}"
        rows = conv.get(key)
        when = conv.get(f"{key}_date_time")
        start = None
        if when:
            try:
                start = parse_session_time(str(when), f"{where}.conversation.{key}_date_time")
            except LayoutError:
                start = None
        if rows is not None and not isinstance(rows, list):
            s.problems["bad_session"] += 1
            continue
        if not rows:
            if when:
                s.problems["dated_empty_session"] += 1
            continue
        if start is None:
            s.problems["undated_session"] += 1
            start = (previous or datetime(2000, 1, 1)) + timedelta(days=1)
        previous = start
        s.sessions[n] = start
        for i, t in enumerate(rows):
            if not isinstance(t, dict) or not t.get("dia_id") or not t.get("speaker"):
                s.problems["bad_turn"] += 1
                continue
            text = _turn_text(t)
            if not text:
                s.problems["empty_turn"] += 1
                continue
            if t.get("blip_caption"):
                s.problems["captioned_turns"] += 1
            if t["speaker"] not in (a, b):
                s.problems["third_speaker"] += 1
            role = "user" if t["speaker"] == a else "character"
            dia = _dia(str(t["dia_id"]))
            if dia in seen:  # a repeated id would collide on import: kept under a suffix, counted
                s.problems["duplicate_dia"] += 1
                dia = f"{dia}#{i}"
            seen.add(dia)
            # turns of a session are spread a minute apart from its start: order and day are kept
            s.turns.append(Turn(dia, n, str(t["speaker"]), role, text, start + timedelta(minutes=i)))
    known = {t.dia_id for t in s.turns}
    for j, q in enumerate(raw.get("qa") or []):
        if not isinstance(q, dict) or not str(q.get("question") or "").strip():
            s.problems["no_question"] += 1
            continue
        ids: list[str] = []
        evidence = q.get("evidence") or []
        for ev in evidence if isinstance(evidence, list) else [evidence]:
            parts = [p for p in re.split(r"[;,\s]+", str(ev)) if p]
            if len(parts) != 1 or not _DIA.match(parts[0]):
                s.problems["malformed_evidence"] += 1
            for p in parts:
                dia = _dia(p)
                if dia in known:
                    if dia not in ids:
                        ids.append(dia)
                else:
                    s.problems["missing_evidence"] += 1
        try:
            cat = int(q.get("category"))
        except (TypeError, ValueError):
            s.problems["no_category"] += 1
            cat = 0
        if "answer" not in q:
            s.problems["no_answer"] += 1
        if not ids:
            s.problems["no_evidence"] += 1
            continue
        s.questions.append(Question(str(q["question"]), cat, ids, str(q.get("answer", q.get("adversarial_answer", "")))))
    return s


def _dia(value: str) -> str:
    """A dia id in canonical form ("D08:06" -> "D8:6"); anything else as given."""
    m = re.match(r"^\s*D\s*(\d+)\s*:\s*(\d+)", value)
    return f"D{int(m.group(1))}:{int(m.group(2))}" if m else value.strip()


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


# -- real human chat (chitchat-dataset) -------------------------------------------------------------

_STOP = set("""a an the i you he she it we they me my your our their is are was were be been am do does did have has had
to of in on at for with and or but so if not no yes what when where who why how which that this there here just
like really really lol haha ok okay oh um uh im its dont u ur can could would should will about up out get got""".split())


def chitchat_samples(n: int, sessions: int = 20, per_sample: int = 60, offset: int = 0) -> list[Sample]:
    """Real long conversations: the `n` pairs (after the first `offset`) of people of the chitchat-dataset package who talked most
    often, each pair's first `sessions` conversations in time order as sessions (real text, speakers and
    timestamps; each message group one turn). Questions are honest and need no writing: a real question
    one of them asked (a turn with '?' and at least three content words) is taken OUT of the
    conversation and asked of recall(); its evidence is the real reply the other person gave right
    after it. Nothing is paraphrased or labelled by us."""
    import chitchat_dataset

    with open(chitchat_dataset._PATH) as fh:
        convs = json.load(fh)
    by_pair: dict[frozenset, list[dict]] = defaultdict(list)
    for key in sorted(convs):
        groups = [g for g in convs[key].get("messages") or [] if g]
        senders = frozenset(m.get("sender") for g in groups for m in g)
        if len(senders) == 2 and groups:
            by_pair[senders].append(groups)
    pairs = sorted(by_pair, key=lambda p: (-len(by_pair[p]), sorted(p)))[offset : offset + n]
    out = []
    for j, pair in enumerate(pairs):
        chats = sorted(by_pair[pair], key=lambda gs: gs[0][0].get("timestamp", ""))[:sessions]
        first = chats[0][0][0]["sender"]
        names = {first: "Robin", next(x for x in pair if x != first): "Quinn"}  # user, character
        s = Sample(f"chitchat-{offset + j}", "Robin", "Quinn", [], [])
        asked: list[tuple[int, list[dict]]] = []
        for n_s, groups in enumerate(chats, start=1):
            rows = []
            for g_i, g in enumerate(groups):
                text = " ".join(str(m.get("text") or "").strip() for m in g).strip()
                if text:
                    rows.append(dict(who=names[g[0]["sender"]], text=text, at=_ts(g[0].get("timestamp")), g=g_i))
            s.sessions[n_s] = rows[0]["at"] if rows else datetime(2018, 1, 1)
            asked.append((n_s, rows))
        candidates = []
        for n_s, rows in asked:
            for i in range(2, len(rows) - 1):  # past the greetings
                q, a = rows[i], rows[i + 1]
                content = [w for w in tokens(q["text"]) if w not in _STOP and len(w) > 2]
                if "?" in q["text"] and len(content) >= 3 and a["who"] != q["who"] and len(tokens(a["text"])) >= 5:
                    candidates.append((n_s, i))
        step = max(1, len(candidates) // per_sample)
        chosen = set(candidates[::step][:per_sample])
        for n_s, rows in asked:
            kept = 0
            for i, r in enumerate(rows):
                if (n_s, i) in chosen:  # the question leaves the conversation; its reply is the evidence
                    s.questions.append(Question(r["text"], 6, [f"D{n_s}:{i + 2}"]))  # the reply's id, below
                    continue
                kept += 1
                s.turns.append(Turn(f"D{n_s}:{i + 1}", n_s, r["who"], "user" if r["who"] == "Robin" else "character",
                                    r["text"], r["at"]))
        known = {t.dia_id for t in s.turns}
        for q in s.questions:
            if q.evidence[0] not in known:  # its reply was itself a chosen question: not scored
                s.problems["no_evidence"] += 1
        s.questions = [q for q in s.questions if q.evidence[0] in known]
        out.append(s)
    return out


def _ts(value) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return datetime(2018, 1, 1)


# -- report ----------------------------------------------------------------------------------------


def _f(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def _groups(tally: Tally) -> tuple[list[str], list[str]]:
    cats = [f"{c} {n}" for c, n in sorted(CATEGORIES.items()) if tally.total.get(("recall", f"{c} {n}"))]
    cats += sorted(g for (sy, g) in tally.total if sy == "recall" and g[0].isdigit() and g not in cats)
    speakers = [g for g in ("said by user", "said by character") if tally.total.get(("recall", g))]
    return cats, speakers


def print_table(tally: Tally, title: str) -> dict:
    """The per-category and per-speaker table of one set (category number AND name); its figures."""
    cats, speakers = _groups(tally)
    head = " ".join(f"{'@' + str(k):>6}" for k in KS)
    print(f"\n{title}\n{'group':<22} {'q':>5} {'ev':>5} | recall() {head} | BM25 floor {head} | @10 vs floor")
    out: dict = {}
    for g in cats + ["all"] + speakers:
        r = [tally.recall("recall", g, k) for k in KS]
        b = [tally.recall("bm25", g, k) for k in KS]
        q = tally.questions.get(g, sum(tally.questions.values()) if g == "all" else 0)
        diff = (r[2] or 0) - (b[2] or 0)
        print(f"{g:<22} {q if q else '':>5} {tally.total[('recall', g)]:>5} |          {' '.join(_f(x) for x in r)} |"
              f"            {' '.join(_f(x) for x in b)} | {diff:+.3f}")
        out[g] = {"questions": q, "evidence_turns": tally.total[("recall", g)], "recall": dict(zip(KS, r)), "bm25": dict(zip(KS, b))}
    return out


def check_goals(report, tally: Tally, name: str, speaker_goal: bool = True) -> None:
    """This set's goals, each a Report line: every category above the floor, overall, speakers."""
    cats, _ = _groups(tally)
    for g in cats:
        r, b = tally.recall("recall", g, 10) or 0.0, tally.recall("bm25", g, 10) or 0.0
        ceiling = " (both at the ceiling)" if r >= 1.0 and b >= 1.0 else ""
        report.check(f"{name}: recall@10 vs BM25 floor, category {g}", f"{r:.3f} vs {b:.3f}{ceiling}", "> floor", r > b)
    overall, floor = tally.recall("recall", "all", 10) or 0.0, tally.recall("bm25", "all", 10) or 0.0
    report.check(f"{name}: recall@10 overall (BM25 floor {floor:.3f})", f"{overall:.3f}", f">= {GOAL_OVERALL}", overall >= GOAL_OVERALL)
    u, c = tally.recall("recall", "said by user", 10), tally.recall("recall", "said by character", 10)
    if speaker_goal and u is not None and c is not None:
        fu, fc = tally.recall("bm25", "said by user", 10) or 0.0, tally.recall("bm25", "said by character", 10) or 0.0
        report.check(f"{name}: character-spoken vs user-spoken evidence, recall@10",
                     f"{c:.3f} vs {u:.3f} (gap {abs(u - c):.3f}; the BM25 floor's own gap {abs(fu - fc):.3f})",
                     f"gap <= {GOAL_SPEAKER_GAP}", abs(u - c) <= GOAL_SPEAKER_GAP)


SETS = ("generated", "heldout", "demo", "chitchat")
BENCH_ARGS = ["--generate", "--heldout", "--demo", "--chitchat", "2"]
SMOKE_ARGS = ["--smoke"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file", nargs="*", help="JSON files in the LoCoMo-style layout (each its own set)")
    p.add_argument("--generate", action="store_true", help="memory_gen.py's conversations (the set the weights were tuned on)")
    p.add_argument("--heldout", action="store_true", help="memory_gen_heldout.py's conversations (never tuned on)")
    p.add_argument("--demo", action="store_true", help="the demo world's planted facts")
    p.add_argument("--chitchat", type=int, metavar="N", help="N real long conversations of chitchat-dataset (questions: real questions, evidence: the real reply)")
    p.add_argument("--smoke", action="store_true", help="CI size: one small sample of each generator, hashing embedder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--limit", type=int, help="evaluate only the first N samples of each set")
    p.add_argument("--embedder", default=None,
                   help="BGP_EMBEDDING_BACKEND for the run (default: the project's default, auto = all-MiniLM-L6-v2 when "
                        "sentence-transformers is installed, else hashing; --smoke: hashing)")
    p.add_argument("--categories", default=",".join(f"{k}={v}" for k, v in CATEGORIES.items()),
                   help="category number = name, comma-separated (default: %(default)s)")
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)
    if not (args.file or args.generate or args.heldout or args.demo or args.chitchat or args.smoke):
        p.error("give FILE, --generate, --heldout, --demo, --chitchat N or --smoke")
    try:
        CATEGORIES.clear()
        CATEGORIES.update({int(k): v.strip() for k, _, v in (x.partition("=") for x in args.categories.split(",") if x.strip())})
    except ValueError:
        p.error(f"--categories: expected 1=multi-hop,2=temporal,..., got {args.categories!r}")
    CATEGORIES.setdefault(6, "chitchat reply")
    CATEGORIES.setdefault(0, "unknown")
    if args.embedder is None:
        args.embedder = "hashing" if args.smoke else _auto_backend()
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


def _auto_backend() -> str:
    """What BGP_EMBEDDING_BACKEND=auto resolves to here (named, so the report says which embedder ran)."""
    from background_pipelines.llm.embedders import sentence_transformers_available

    return "sentence-transformers" if sentence_transformers_available() else "hashing"


def _sets(args, tmp: Path) -> list[tuple[str, str, object]]:
    """[(name, description, samples or "demo")] in the order asked."""
    out: list[tuple[str, str, object]] = []
    n, sessions = (1, 4) if args.smoke else (args.samples, args.sessions)
    if args.generate or args.smoke:
        from memory_gen import generate

        path = tmp / "generated.json"
        path.write_text(json.dumps(generate(args.seed, n, sessions)))
        out.append(("generated (tuned on)", f"memory_gen.py seed {args.seed}, {n} samples x {sessions} sessions", read_samples(str(path))))
    if args.heldout or args.smoke:
        from memory_gen_heldout import generate as generate_heldout

        path = tmp / "heldout.json"
        path.write_text(json.dumps(generate_heldout(args.seed, n, sessions)))
        out.append(("held-out generated", f"memory_gen_heldout.py seed {args.seed}, {n} samples x {sessions} sessions", read_samples(str(path))))
    for f in args.file:
        out.append((Path(f).name, f, read_samples(f)))
    if args.chitchat:
        out.append(("chitchat (real)", f"chitchat-dataset: the {args.chitchat} most frequent pairs, 20 sessions each", chitchat_samples(args.chitchat)))
    if args.demo:
        out.append(("demo", "the demo world's planted facts", "demo"))
    return out


def _run(args, tmp: Path) -> int:
    from background_pipelines.config import Settings
    from background_pipelines.store import open_store

    from benchmarks._report import Report

    report = Report("memory_eval")
    print("categories: " + ", ".join(f"{k} = {v}" for k, v in sorted(CATEGORIES.items())) + "  (--categories to change)")
    print("floor: rank_bm25 BM25Okapi over the same raw turns (lower-cased \\w+ tokens, no stemming/stopwords)")
    results: dict = {}
    for set_i, (name, source, samples) in enumerate(_sets(args, tmp)):
        tally, timing = Tally(), defaultdict(float)
        cpu_per_conv: list[float] = []
        problems: dict[str, int] = defaultdict(int)
        if samples == "demo":
            from background_pipelines.demo import load_demo

            url = f"sqlite:///{tmp / 'demo.db'}"
            os.environ["BGP_DATABASE_URL"] = url
            settings = Settings.from_env()
            store = open_store(url)
            cpu = time.process_time()
            load_demo(store)
            cpu_all = run_stages(store, settings) + (time.process_time() - cpu)
            samples = demo_samples(store)
            source += f" ({len(samples)} user-character conversations)"
            cpu_per_conv.append(cpu_all / max(1, len(samples)))
            for s in samples:
                evaluate_sample(store, settings, s, tally, timing)
            store.engine.dispose()
        else:
            samples = samples[: args.limit] if args.limit else samples
            for i, s in enumerate(samples):
                url = f"sqlite:///{tmp / f'set{set_i}_sample{i}.db'}"
                os.environ["BGP_DATABASE_URL"] = url
                settings = Settings.from_env()
                store = open_store(url)
                cpu = time.process_time()
                import_sample(store, s)
                cpu_per_conv.append(run_stages(store, settings) + (time.process_time() - cpu))
                evaluate_sample(store, settings, s, tally, timing)
                for key, v in s.problems.items():
                    problems[key] += v
                store.engine.dispose()
                print(f"  {name} {s.sample_id}: {len(s.turns)} turns, {len(s.sessions)} sessions, {len(s.questions)} questions, "
                      f"pipeline {cpu_per_conv[-1]:.1f} CPU s", flush=True)
        load = os.getloadavg()
        q = max(1, int(timing["queries"]))
        print(f"\n== set: {name}: {source}; embedder {args.embedder}; offline LLM backend; SQLite; "
              f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print("file problems (counted, never fatal): " + ("; ".join(f"{v} {PROBLEMS.get(k, k)}" for k, v in sorted(problems.items())) or "none"))
        print(f"pipeline CPU s per conversation: {sum(cpu_per_conv) / max(1, len(cpu_per_conv)):.1f} "
              f"(max {max(cpu_per_conv or [0]):.1f}); recall {timing['recall_s'] * 1000 / q:.1f} ms/query, "
              f"BM25 floor {timing['bm25_s'] * 1000 / q:.1f} ms/query")
        figures = print_table(tally, f"set: {name} (recall@k of evidence turns, per category and per speaker of the evidence)")
        results[name] = {"source": source, "embedder": args.embedder, "problems": dict(problems), "groups": figures,
                         "cpu_s_per_conversation": sum(cpu_per_conv) / max(1, len(cpu_per_conv))}
        check_goals(report, tally, name, speaker_goal=name != "demo")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return report.finish(f"embedder {args.embedder}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
