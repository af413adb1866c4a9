"""Text features shared by the offline heuristics: tokens, stopwords, emotion and life-event
lexicons, capitalised-name spotting, sentence splitting and TF-IDF sentence centrality."""

from __future__ import annotations

import re

WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|\d+")
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")

STOPWORDS = frozenset(
    """a an the and or but if then so to of in on at by for with from as is are was were be been being am
    i me my mine we us our you your he him his she her it its they them their this that these those there
    here what which who whom whose when where why how not no yes do does did done have has had having will
    would can could should shall may might must just also too very really quite about into over under again
    some any all each few more most other such only own same than up down out off just now today yesterday
    tomorrow ok okay oh yeah yep hey hi hello lol haha hmm um uh like get got go going went gonna wanna
    thing things stuff im i'm i've i'll i'd it's that's don't didn't can't won't isn't wasn't dont cant
    well let's lets sure know think thanks thank please one two much many""".split()
)

EMOTION_WORDS = frozenset(
    """love loved hate hated sad happy happier excited thrilled scared afraid anxious anxiety worried worry
    angry furious upset cry cried crying lonely alone grateful thankful proud ashamed guilty nervous stressed
    stress depressed depression heartbroken devastated miserable joy glad relieved hurt hurts hurting
    frustrated overwhelmed exhausted tired terrified amazing awful terrible wonderful miss missed grief
    grieving sorry fear hope hopeful jealous embarrassed bored""".split()
)

# Phrases marking a life event (significance 3). Kept explicit: each is a thing a character should
# remember about a person for years.
LIFE_EVENTS = re.compile(
    r"\b(passed away|died|dead\b|funeral|pass(ed)? on|"
    r"pregnant|gave birth|had a baby|baby (was|is) born|newborn|"
    r"new job|got (a|the) job|got hired|hired (me|at)|start(ed|ing)? (my new job|work|a job|at)|"
    r"quit my job|got fired|was fired|laid off|lost my job|retir(ed|ing)|"
    r"promot(ed|ion)|"
    r"broke up|break ?up|divorc(e|ed|ing)|separated|got engaged|engaged to|got married|wedding|proposed|"
    r"diagnos(ed|is)|cancer|tumou?r|surgery|hospital|"
    r"mov(ed|ing) (to|out|in with|away|house)|new (apartment|flat|house|city)|"
    r"graduat(ed|ing)|accepted (to|into)|"
    r"accident)\b",
    re.IGNORECASE,
)

DISCLOSURE = re.compile(
    r"\b(i am|i'm|im|i was|i feel|i felt|i have|i've|i had|i got|i just|i work|i live|i moved|i love|i hate|"
    r"my (wife|husband|partner|girlfriend|boyfriend|mom|mum|dad|mother|father|sister|brother|son|daughter|"
    r"kid|kids|dog|cat|job|boss|family|friend|therapist|doctor|name|birthday))\b",
    re.IGNORECASE,
)

_CAP = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")


def tokens(text: str) -> list[str]:
    return WORD.findall(text.lower())


def content_tokens(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in STOPWORDS and len(t) > 2 and not t.isdigit()]


def named_entities(text: str) -> list[str]:
    """Capitalised word runs that do not start a sentence (a cheap proper-noun spotter)."""
    found = []
    for m in _CAP.finditer(text):
        start = m.start()
        before = text[:start].rstrip()
        if not before or before[-1] in ".!?\n":
            continue  # sentence-initial capitals say nothing
        if m.group(0).lower() in STOPWORDS or m.group(0) == "I":
            continue
        found.append(m.group(0))
    return found


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text) if s and len(s.strip()) > 1]


def centrality(docs: list[list[str]]) -> list[float]:
    """TF-IDF cosine centrality of each token list against the others, scaled to 0..1."""
    import numpy as np  # here, not at module load: the code location imports this module

    n = len(docs)
    if n == 0:
        return []
    vocab: dict[str, int] = {}
    rows = np.fromiter((i for i, d in enumerate(docs) for _ in d), dtype=np.int64)
    cols = np.fromiter((vocab.setdefault(t, len(vocab)) for d in docs for t in d), dtype=np.int64)
    width = max(1, len(vocab))
    tf = np.bincount(rows * width + cols, minlength=n * width).reshape(n, width).astype(np.float64)
    tf /= np.maximum(tf.sum(axis=1, keepdims=True), 1.0)
    idf = np.log1p(n / np.maximum((tf > 0).sum(axis=0), 1))
    m = tf * idf
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    m /= np.where(norms == 0, 1.0, norms)
    # similarity to every other sentence: sum_j m_i.m_j - m_i.m_i, without the n x n matrix
    scores = m @ m.sum(axis=0) - (m * m).sum(axis=1)
    top = float(scores.max()) or 1.0
    return [float(x) / top for x in scores]
