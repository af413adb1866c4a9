"""The offline fact rules as they were before statements.py (extract-v1): a frozen copy, kept only
as the baseline benchmarks/fact_precision.py measures the current rules against in the same run."""

from __future__ import annotations

import re
from dataclasses import dataclass

# -- offline patterns ------------------------------------------------------------------------------

_OBJ = r"(?P<obj>[^.,!?;:\n()]+)"
_NAME = r"(?P<obj>[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)"
_JOBS = (
    r"(?:software |data |civil |mechanical |senior |junior |lead |staff |head |registered |sous |pastry |graphic |ux |product |"
    r"project |sales |marketing |research |high school |primary school |school |freelance |full-stack |web |backend |frontend )*"
    r"(?:engineer|developer|programmer|nurse|teacher|doctor|designer|manager|accountant|lawyer|architect|chef|cook|"
    r"baker|barista|waiter|waitress|scientist|researcher|analyst|consultant|writer|journalist|editor|artist|musician|"
    r"photographer|pharmacist|dentist|vet|veterinarian|therapist|electrician|plumber|carpenter|mechanic|pilot|"
    r"driver|librarian|professor|lecturer|student|intern|firefighter|paramedic|police officer|cashier|"
    r"receptionist|secretary|translator|tutor|coach|trainer|farmer|paralegal|recruiter|founder|ceo|cto)"
)
_PETS = r"(?P<species>dog|cat|puppy|kitten|parrot|rabbit|bunny|hamster|turtle|tortoise|horse|bird|snake|lizard|guinea pig|ferret)"
_PARTNERS = r"(?:girlfriend|boyfriend|wife|husband|partner|fianc[eé]e?|spouse)"


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern
    kind: str
    predicate: str
    confidence: float
    value: str | None = None  # a fixed object (preferences) instead of the captured one
    proper: bool = False  # the object must be capitalised (a name)


def _p(rx: str, kind: str, predicate: str, confidence: float, value: str | None = None, proper: bool = False, ci: bool = True) -> Pattern:
    return Pattern(re.compile(rx, re.IGNORECASE if ci else 0), kind, predicate, confidence, value, proper)


_I = r"(?:[Ii])"
PATTERNS: list[Pattern] = [
    # work
    _p(r"\bi (?:now |currently |still |also )?work(?:ing)? (?:at|for) " + _OBJ, "fact", "works_at", 0.9),
    _p(r"\bi(?:'m| am) (?:now |currently )?(?:working|employed) (?:at|for) " + _OBJ, "fact", "works_at", 0.9),
    _p(r"\b(?:got|accepted|took|landed|starting|started) (?:a |an |the |my )?(?:new )?(?:job|position|role|offer) (?:at|with) " + _OBJ, "fact", "works_at", 0.85),
    _p(r"\bi(?:'ve| have)? (?:just )?start(?:ed|ing)? (?:working )?(?:at|with) " + _OBJ, "fact", "works_at", 0.85),
    _p(r"\bi work (?:at|for) [^.!?]*? as (?:a |an )" + _OBJ, "fact", "works_as", 0.9),
    _p(r"\bi work as (?:a |an )?" + _OBJ, "fact", "works_as", 0.9),
    _p(r"\bi(?:'m| am) (?:now |currently |still )?(?:a |an )(?P<obj>" + _JOBS + r")\b", "fact", "works_as", 0.85),
    _p(r"\bmy (?:new )?(?:job|position|role|title) (?:is|as) (?:a |an )?" + _OBJ, "fact", "works_as", 0.85),
    _p(r"\bpromoted to (?:a |an )?" + _OBJ, "fact", "works_as", 0.85),
    _p(r"\bbeing (?:a |an )(?P<obj>" + _JOBS + r") at\b", "fact", "works_as", 0.7),
    _p(r"\bbeing (?:a |an )" + _JOBS + r" at " + _OBJ, "fact", "works_at", 0.7),
    # a workplace named in passing ("Work at Acme was hectic", "Second week at Globex")
    _p(r"(?:^|[.!?]\s+)work at " + _OBJ, "fact", "works_at", 0.6),
    _p(r"\b(?:first|second|third|fourth|another|long|busy|last) (?:day|week|month|shift) at " + _OBJ, "fact", "works_at", 0.6),
    # places
    _p(r"\bi (?:now |currently |still )?live in " + _OBJ, "fact", "lives_in", 0.9),
    _p(r"\bi(?:'ve| have)? (?:just |finally |recently )?moved to " + _OBJ, "fact", "lives_in", 0.85),
    _p(r"\bi(?:'m| am) (?:moving|relocating) to " + _OBJ, "fact", "moving_to", 0.7),
    _p(r"\bi(?:'m| am) (?:originally )?from " + _OBJ, "fact", "from", 0.85),
    _p(r"\bi grew up in " + _OBJ, "fact", "from", 0.8),
    # pets
    _p(r"\b[Mm]y (?:new |little |old )?" + _PETS + r"(?:,)? (?:is |was )?(?:named |called )?" + _NAME, "fact", "has_pet", 0.9, proper=True, ci=False),
    _p(r"\b[Ii] (?:have|got|adopted) (?:a|an) (?:new |little )?" + _PETS + r" (?:named|called) " + _NAME, "fact", "has_pet", 0.9, proper=True, ci=False),
    # partner
    _p(r"\b[Mm]y " + _PARTNERS + r"(?:,)? (?:is |was )?(?:named |called )?" + _NAME, "fact", "partner_of", 0.9, proper=True, ci=False),
    _p(r"\b[Ii](?:'m| am) (?:dating|seeing|engaged to|married to) " + _NAME, "fact", "partner_of", 0.85, proper=True, ci=False),
    _p(r"\b[Ii] (?:just )?broke up with " + _NAME, "fact", "broke_up_with", 0.85, proper=True, ci=False),
    # likes
    _p(r"\bi (?:really |absolutely |just |truly )?(?:love|like|enjoy|adore) " + _OBJ, "fact", "likes", 0.75),
    _p(r"\bmy favou?rite \w+ is " + _OBJ, "fact", "likes", 0.8),
    _p(r"\bi (?:really )?(?:hate|dislike|can't stand|don't like) " + _OBJ, "fact", "dislikes", 0.75),
    # about me
    _p(r"\b[Mm]y name is " + _NAME, "fact", "name", 0.95, proper=True, ci=False),
    _p(r"\bi(?:'m| am) (?P<obj>\d{1,2}) (?:years old|yo)\b", "fact", "age", 0.9),
    _p(r"\bmy birthday is (?:on )?" + _OBJ, "fact", "birthday", 0.9),
    _p(r"\bi(?:'m| am) (?:studying|majoring in) " + _OBJ, "fact", "studies", 0.8),
    # preferences: how the user wants to be answered
    _p(r"\b(?:be (?:more )?(?:concise|brief)|keep (?:it|things|your (?:answers|replies|messages|responses)) (?:short|brief)|shorter (?:answers|replies|messages)|too long)\b", "preference", "prefers", 0.9, value="be concise"),
    _p(r"\b(?:no|don't use|do not use|stop using|without|avoid|fewer|less|hate) emojis?\b", "preference", "prefers", 0.9, value="no emojis"),
    _p(r"\b(?:more detail|longer (?:answers|replies)|explain (?:more|in detail))\b", "preference", "prefers", 0.8, value="more detail"),
    _p(r"\b(?:be (?:more )?casual|less formal)\b", "preference", "prefers", 0.8, value="casual tone"),
    _p(r"\b(?:be (?:more )?formal|less casual)\b", "preference", "prefers", 0.8, value="formal tone"),
    _p(r"\b(?:speak|talk|answer|reply|write) (?:to me )?in " + _NAME, "preference", "language", 0.8, proper=True),
    _p(r"\b[Cc]all me " + _NAME, "preference", "preferred_name", 0.9, proper=True, ci=False),
    _p(r"\bprefer (?:chatting|talking|to chat|to talk) in the (?P<obj>morning|afternoon|evening|night)s?\b", "preference", "prefers", 0.85, value="{obj} chats"),
    _p(r"\bi prefer " + _OBJ, "preference", "prefers", 0.75),
]

_CUT = re.compile(
    r"\s+(?:and|but|because|so|since|which|where|who|when|though|although|now|today|anymore|these days|"
    r"lately|recently|right now|as well|too|yet|already|again|last \w+|this \w+|next \w+|for \w+ years?|"
    r"as (?:a|an|the)|was|is|were|has|had|never|always|gets)\b.*$",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^(?:the|a|an|my|our|some)\s+", re.IGNORECASE)
_PRONOUNS = frozenset("it that this you them him her those these there what how doing being having".split())
_HEDGE = re.compile(r"\b(?:maybe|might|perhaps|probably|i think|not sure|thinking (?:about|of)|considering|if i|hopefully|someday|would like)\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:don't|do not|no longer|never|not|didn't|won't|can't)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
_CAPS = re.compile(r"^(?:[A-Z][\w&'.-]*)(?:\s+(?:[A-Z][\w&'.-]*|of|&|and|de|la))*")


def _clean_object(raw: str, proper: bool) -> str | None:
    obj = _CUT.sub("", raw.strip()).strip(" '\"")
    obj = _LEAD.sub("", obj)
    if not proper:
        caps = _CAPS.match(obj)
        if caps and len(caps.group(0)) >= 2:  # "Acme Robotics downtown" -> "Acme Robotics"
            obj = caps.group(0).rstrip()
            obj = re.sub(r"\s+(?:and|of|&|de|la)$", "", obj)
    words = obj.split()
    if not words or words[0].lower() in _PRONOUNS or words[0].lower() == "to" and len(words) == 1:
        return None
    if words[0].lower() == "to":  # "I love to hike" -> "hike"
        words = words[1:]
    if len(words) > 6:
        return None  # a clause, not a thing
    return " ".join(words)


def facts_in(text: str) -> list[tuple[str, str, str, float]]:
    """(kind, predicate, object, confidence) stated in one message by the offline patterns."""
    found: dict[tuple[str, str, str], float] = {}
    spans: dict[str, list[tuple[int, int]]] = {}  # predicate -> matched spans: earlier (more specific) patterns win
    hedged = bool(_HEDGE.search(text))
    for p in PATTERNS:
        for m in p.regex.finditer(text):
            if _NEGATION.search(text[: m.start()]) and p.kind == "fact":
                continue
            if any(m.start() < e and s < m.end() for s, e in spans.get(p.predicate, [])):
                continue
            if p.value is not None:
                obj = p.value.format(obj=m.group("obj").lower()) if "{obj}" in p.value else p.value
            else:
                obj = _clean_object(m.group("obj"), p.proper)
                if obj is None:
                    continue
            spans.setdefault(p.predicate, []).append((m.start(), m.end()))
            conf = round(p.confidence * (0.6 if hedged else 1.0), 3)
            key = (p.kind, p.predicate, obj)
            found[key] = max(found.get(key, 0.0), conf)
    return [(k, pr, o, c) for (k, pr, o), c in found.items()]
