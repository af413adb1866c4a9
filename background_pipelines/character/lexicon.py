"""Small text features for the offline heuristics of character cognition: words, topics, mood
valence, emoji and the style statistics drift compares."""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# Pictographs, symbols, dingbats, flags and the emoticons people type.
EMOJI = re.compile(
    "[\U0001F300-\U0001FAFF\U00002600-\U000027BF\U0001F1E6-\U0001F1FF\u2764\u2728]|(?:^|\\s)[:;]-?[)(DPp](?=\\s|$)"
)

STOPWORDS = frozenset(
    """a an the and or but if then so to of in on at by for with from as is are was were be been being am
    i me my mine we us our you your he him his she her it its they them their this that these those there
    here what which who whom whose when where why how not no yes do does did done have has had having will
    would can could should shall may might must just also too very really quite about into over under again
    some any all each few more most other such only own same than up down out off now today yesterday
    tomorrow ok okay oh yeah yep hey hi hello lol haha hmm um uh like get got go going went gonna wanna
    thing things stuff im i'm i've i'll i'd it's that's don't didn't can't won't isn't wasn't dont cant
    well let's lets sure know think thanks thank please one two much many told said says say tell talk
    talked feel felt want wanted need still back time day days week really maybe something anything""".split()
)

# Words that make poor topics or dream objects: common verbs, adjectives and adverbs.
NON_TOPICS = frozenset(
    """away better best good great bad hard easy long short last first next little big small still ever never
    always often honestly rough morning night evening believe found find make made take took come came give gave
    keep kept look looked seem seemed try tried help helped start started stop stopped work worked working
    happen happened happy sad tired anxious proud grateful kind nice fine right wrong sure true real maybe
    perfect lovely awful terrible amazing old new young whole every another even ever since while though
    which whose those being having doing going coming saying talking asking telling thinking feeling
    bake baking taught teach learn learned showed show offered offer might must shall would could should
    passed pass invited invite brought bring calm calmed hold holding sounds sound sounded until unless
    discuss discussed fair word words mark marks matey reading read says whatever ever anyway quite rather
    minute minutes hour hours lately probably definitely actually basically literally""".split()
)

POSITIVE = frozenset(
    """love loved happy happier glad excited thrilled grateful thankful proud joy relieved amazing wonderful
    great good better best hopeful calm fun laughed laugh enjoyed enjoy beautiful celebrate celebrated
    promoted engaged married won""".split()
)
NEGATIVE = frozenset(
    """sad hate hated scared afraid anxious anxiety worried worry angry furious upset cry cried crying lonely
    alone ashamed guilty nervous stressed stress depressed depression heartbroken devastated miserable hurt
    hurting frustrated overwhelmed exhausted tired terrified awful terrible miss missed grief grieving sorry
    fear jealous embarrassed bored sick died funeral loves likes fired laid lost broke""".split()
)


_LOSS = re.compile(r"\bpass(ed|es)? away\b|\bpassed on\b", re.IGNORECASE)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")]


def topic_words(text: str) -> list[str]:
    """Content words: no stopwords, verbs/adjectives we know of, -ly adverbs or short words."""
    out = []
    for w in words(text):
        w = w.strip("'-")
        if len(w) > 3 and w not in STOPWORDS and w not in NON_TOPICS and w not in POSITIVE and w not in NEGATIVE:
            if not w.endswith(("ly", "ed", "'s")):
                out.append(_singular(w))
    return out


def _singular(w: str) -> str:
    # "records" and "record" are one topic; leave "ss"/"us"/"is" endings ("glass", "status", "analysis").
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 4:
        return w[:-1]
    return w


def top_topics(texts: Iterable[str], n: int = 5, exclude: Iterable[str] = ()) -> list[str]:
    """The `n` most frequent content words over `texts` (ties broken alphabetically)."""
    skip = {e.lower() for e in exclude}
    counts = Counter(w for t in texts for w in topic_words(t) if w not in skip)
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def valence(texts: Iterable[str]) -> float:
    """Mood in [-1, 1]: (positive - negative) / (positive + negative) word counts; 0 when neither."""
    pos = neg = 0
    for t in texts:
        neg += len(_LOSS.findall(t))
        for w in words(t):
            pos += w in POSITIVE
            neg += w in NEGATIVE
    return 0.0 if pos + neg == 0 else (pos - neg) / (pos + neg)


def mood_word(v: float) -> str:
    if v >= 0.35:
        return "bright"
    if v <= -0.35:
        return "heavy"
    return "mixed" if v != 0 else "quiet"


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text or "") if s.strip()]


def first_sentence(text: str, limit: int = 220) -> str:
    parts = sentences(text)
    s = parts[0] if parts else (text or "").strip()
    return s if len(s) <= limit else s[: limit - 1].rsplit(" ", 1)[0] + "…"


def clip(text: str, limit: int = 140) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def style_stats(texts: Iterable[str]) -> dict[str, float]:
    """Per-reply style: mean length in characters and the share of replies with an emoji, a question
    mark or an exclamation mark."""
    texts = [t or "" for t in texts]
    n = len(texts)
    if n == 0:
        return {"replies": 0, "avg_length": 0.0, "emoji_rate": 0.0, "question_rate": 0.0, "exclamation_rate": 0.0}
    return {
        "replies": n,
        "avg_length": round(sum(len(t) for t in texts) / n, 2),
        "emoji_rate": round(sum(bool(EMOJI.search(t)) for t in texts) / n, 4),
        "question_rate": round(sum("?" in t for t in texts) / n, 4),
        "exclamation_rate": round(sum("!" in t for t in texts) / n, 4),
    }


def humanize_predicate(predicate: str) -> str:
    return predicate.replace("_", " ").strip()


_PHRASES = {"has_pet": "has a pet called", "born_in": "was born in", "is": "is", "name_is": "is called"}


def fact_phrase(predicate: str, obj: str) -> str:
    """'works_as', 'nurse' -> 'works as a nurse'; 'has_pet', 'Rocky' -> 'has a pet called Rocky'."""
    obj = (obj or "").strip()
    if predicate == "works_as" and obj and not re.match(r"(?i)(a|an|the)\s", obj):
        obj = ("an " if obj[0].lower() in "aeiou" else "a ") + obj
    return f"{_PHRASES.get(predicate, humanize_predicate(predicate))} {obj}".strip()
