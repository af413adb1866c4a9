"""The offline rules of fact extraction: what a speaker states about themself (or their family) in
ordinary chat, first person, with the time phrase it is anchored to and whether it ends a fact
("I lost my job as a banker yesterday" -> works_as banker, ended, yesterday). Precision over yield:
measured by benchmarks/fact_precision.py on hand-labelled real and generated chat."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

from background_pipelines.cognition.literals import RuleIndex

# -- vocabularies --------------------------------------------------------------------------------

_JOB_NOUNS = (
    r"engineer|developer|programmer|nurse|teacher|doctor|designer|manager|accountant|lawyer|architect|chef|cook|"
    r"baker|banker|barista|bartender|waiter|waitress|server|scientist|researcher|analyst|consultant|writer|journalist|"
    r"editor|artist|musician|photographer|pharmacist|dentist|vet|veterinarian|therapist|physiotherapist|electrician|"
    r"plumber|carpenter|mechanic|pilot|driver|librarian|professor|lecturer|student|intern|firefighter|paramedic|"
    r"police officer|cop|cashier|receptionist|secretary|translator|tutor|coach|trainer|farmer|paralegal|recruiter|"
    r"founder|ceo|cto|nanny|babysitter|janitor|soldier|marine|veteran|salesman|saleswoman|realtor|agent|clerk|"
    r"technician|surgeon|psychologist|counselor|counsellor|social worker|stylist|hairdresser|florist|butcher|"
    r"tailor|welder|miner|fisherman|sailor|officer|administrator|assistant|supervisor|director|caregiver|painter|sculptor|"
    r"poet|novelist|actor|actress|singer|dancer|illustrator|animator|programmer|economist|mathematician|historian"
)
_JOB = (
    r"(?P<job>(?:(?:software|data|civil|mechanical|electrical|chemical|senior|junior|lead|staff|head|registered|sous|pastry|"
    r"graphic|ux|ui|product|project|sales|marketing|research|high school|middle school|primary school|elementary school|"
    r"school|freelance|full-stack|web|backend|frontend|graduate|college|grad|nursing|medical|law|phd|math|maths|english|"
    r"art|music|history|science|physics|chemistry|biology|dental|pharmacy|bank|retail|store|restaurant|night|"
    r"part-time|full-time|substitute|personal|fitness|flight|truck|taxi|bus|tax|it|hr|social media|real estate|"
    r"insurance|construction|finance|financial|security|customer service|line|prep|head|executive|stay at home|"
    r"stay-at-home)\s+)*(?:" + _JOB_NOUNS + r"))\b"
)
_SPECIES = r"(?P<species>dog|cat|puppy|kitten|parrot|rabbit|bunny|hamster|turtle|tortoise|horse|bird|snake|lizard|guinea pig|ferret|fish|goldfish|pup)"
_BREED = r"(?:(?:[a-z]+(?: [a-z]+)?|[A-Z][a-z]+(?: [a-z]+)?)\s+)?"
_RELATIVE = (
    r"(?P<rel>mom|mum|mother|dad|father|sister|brother|son|daughter|wife|husband|grandma|grandmother|grandpa|"
    r"grandfather|aunt|uncle|cousin|niece|nephew|twin|stepmom|stepdad|stepsister|stepbrother|"
    r"(?:older|younger|big|little|baby|twin) (?:sister|brother)|best friend|roommate|boss|parents|kids|children)"
)
_PARTNER = r"(?P<rel>girlfriend|boyfriend|wife|husband|partner|fianc[eé]e?|spouse)"
RELATIONS = frozenset(
    "mom mum mother dad father sister brother son daughter wife husband grandma grandmother grandpa grandfather aunt uncle "
    "cousin niece nephew twin stepmom stepdad stepsister stepbrother best_friend roommate boss parents kids children "
    "girlfriend boyfriend partner fiance fiancee spouse".split()
)
# a name: capitalised, not a word that starts a sentence or a place-holder
_NAME = r"(?P<name>[A-Z][a-z]{1,15})"
_NOT_NAMES = frozenset(
    "I Im He She It We They The A An And But So Is Was Has Had Just Now Today Yesterday Who What When Where "
    "Why How This That My Our Your Oh Yeah Yes No Not Thanks Lol Haha Well Also Still Even Only Very Really Mom Dad "
    "Christmas Easter Monday Tuesday Wednesday Thursday Friday Saturday Sunday God".split()
)
_GERUND_STOP = frozenset("thing something anything nothing everything being doing having going getting making saying king ring spring morning evening".split())
_OBJ_STOP = frozenset(
    "it that this you them him her those these there what how when where why who which all everything anything something "
    "nothing some most lots lot any each both either one ones stuff things thing way idea fact sound look feeling point "
    "kind sort type part rest same other others yours mine his hers ours theirs myself yourself people person guy guys "
    "to too so very such more much many well really just about being having doing getting going making your my our "
    "their its a an the home night work school time day week weekend moment while first second bit".split()
)
_PLACE_STOP = frozenset(
    "a an the my our your his her their this that these those it there here home house apartment flat area city town "
    "country state place same middle moment bed car room office school college university neighborhood neighbourhood "
    "suburbs countryside south north east west general fact love terms touch front".split()
)
# not about now: wishes, plans, conditions ("I want to become a nurse", "if I lived in Paris")
_HYPOTHETICAL = re.compile(
    r"\b(?:would(?:n't)? (?:like|love)|wish|want(?:ed)? to|wanna|hope to|plan(?:ning)? to|going to|gonna|if|pretend|"
    r"imagine|dream(?:ed|t|ing)? (?:of|about)|one day|someday|could|should|would|will|i'll|can't wait to)\b",
    re.IGNORECASE,
)
# stated, but unsure: kept with a lower confidence
_HEDGE = re.compile(r"\b(?:maybe|might|perhaps|probably|i think|i guess|not sure|kind of|kinda|sort of)\b", re.IGNORECASE)
_REPORTED = re.compile(r"\b(?:he|she|they|you) (?:said|says|told|think|thinks)\b|\"|“", re.IGNORECASE)

# -- temporal phrases (resolved later against the message's date by anchors.resolve) ----------------

_NUM = r"(?:\d{1,2}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few|couple of|few)"
WHEN = re.compile(
    r"\b(?:(?:the day before yesterday)|yesterday|today|tonight|this (?:morning|afternoon|evening)|last night|earlier today|"
    r"(?:last|this|next|past) (?:weekend|week|month|year|summer|winter|spring|fall|autumn|christmas)|"
    r"(?:last|on|this|next) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|"
    r"" + _NUM + r" (?:days?|weeks?|months?|years?) ago|in (?:19|20)\d\d|"
    r"in (?:january|february|march|april|may|june|july|august|september|october|november|december)|"
    r"tomorrow|(?:a )?while ago|"
    # "just"/"recently" date only a completed change ("I just adopted"), never "I just like fishing"
    r"(?:just|recently)(?= (?:\w+ed|got|bought|went|came|ran|began|left|lost|quit|found|took|had|did|broke|made|won|brought|"
    r"flew|drove|read|spent|sold|met|became|got back)\b))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Statement:
    """One thing a message states. `about` is None for the speaker, else a relation of theirs
    ("sister"); `ended` marks a statement that ends the fact; `when` is the time phrase it carries."""

    kind: str
    predicate: str
    object: str
    confidence: float
    about: str | None = None
    ended: bool = False
    when: str | None = None


# -- object cleaning -------------------------------------------------------------------------------

_CUT = re.compile(
    r"\s+(?:and|but|because|cause|cuz|so|since|which|where|who|when|while|though|although|now|today|anymore|any more|"
    r"these days|lately|recently|right now|as well|too|yet|already|again|last \w+|this \w+|next \w+|for \w+ \w+|"
    r"for a \w+|as (?:a|an|the)|was|is|are|were|has|had|have|never|always|gets|with|in|on|at|near|from|until|til|"
    r"till|after|before|during|over|about|if|then|lol|haha|hah|tho|though|or|yesterday|tomorrow|tonight|ago|"
    r"\d+ \w+ ago|back|every|whenever|instead|first|either|even|a lot|so much|so freaking much|it's|its|it is|that's|"
    r"thats|which|than|more|right)\b.*$",
    re.IGNORECASE,
)
_TAIL = re.compile(r"[^\w&'.-]+.*$")  # up to the first punctuation that ends a noun phrase
_LEAD = re.compile(r"^(?:(?:the|a|an|my|our|some|this|that|of|probably|definitely|really|actually|just|also|totally)\s+)+", re.IGNORECASE)
# a bare gerund whose sense lives in what followed ("talking with the elderly", "messing with freshmen")
_BARE_TAIL = re.compile(r"^\s*(?:with|about|to|in|on|at|for|down|up|out|off|around|from|by|through|into|over|that|who|which|"
                        r"the|a|an|my|your|his|her|their|our|people|them|him|it|this|those|these)\b", re.IGNORECASE)


def _np(raw: str, *, max_words: int = 4, stop: frozenset = _OBJ_STOP) -> str | None:
    """A short noun phrase from the text after a verb: cut at the first clause boundary."""
    text = re.split(r"[.,!?;:()\n\"]|\s-\s|\s–\s", raw, maxsplit=1)[0]
    text = _CUT.sub("", " " + text.strip()).strip(" '")
    text = _LEAD.sub("", text).strip(" '")
    words = text.split()
    if not words or len(words) > max_words or words[0].lower() in stop or words[-1].lower() in ("the", "a", "an", "my", "of", "and"):
        return None
    if any(w.lower() in ("you", "your", "it", "i", "me", "he", "she", "they", "we", "those", "these", "them", "that", "this") for w in words):
        return None
    return " ".join(words)


def _place(raw: str) -> str | None:
    obj = _np(raw, max_words=4, stop=_PLACE_STOP)
    if obj is None:
        return None
    words = obj.split()
    if not any(w[0].isupper() for w in words) and len(words) > 2:
        return None  # a lower-case place is a name typed casually ("texas"), not a clause
    return obj


def _org(raw: str) -> str | None:
    obj = _np(raw, max_words=4, stop=_PLACE_STOP | _OBJ_STOP)
    if obj is None:
        return None
    caps = re.match(r"^(?:[A-Z][\w&'.-]*)(?:\s+(?:[A-Z][\w&'.-]*|of|&|and|de|la))*", obj)
    if caps and len(caps.group(0)) >= 2:
        return re.sub(r"\s+(?:and|of|&|de|la)$", "", caps.group(0))
    return obj


def _liked(raw: str) -> str | None:
    """The object of "I love/enjoy/like ...": a gerund phrase, a proper name or a plural noun, short."""
    obj = _np(raw, max_words=3)
    if obj is None:
        return None
    first = obj.split()[0]
    low = first.lower()
    rest = raw.strip()[len(obj):] if raw.strip().lower().startswith(obj.lower()) else ""
    if (len(obj.split()) == 1 and _BARE_TAIL.match(raw.strip()[len(first):])) or re.match(r"\s*(?:who|that|which|when|where)\b", rest):
        return None
    if low.endswith("ing") and len(low) > 4 and low not in _GERUND_STOP:
        return obj.lower() if not first[0].isupper() or first.isupper() else obj
    if first[0].isupper() and first not in _NOT_NAMES and first.upper() != first:
        return obj
    # a bare noun phrase that is the whole object ("I like soccer, tennis", "i love cream soda!"): no
    # determiner before it (those point at something in the context: "I love the combination")
    if not re.match(r"\s*(?:the|a|an|this|that|these|those|my|your|his|her|their|our|its|some|any|all|every|most|such|what|so|too|very)\b", raw, re.IGNORECASE) \
            and re.match(r"\s*(?:$|[,!.;:)]|and\b|too\b|so much\b|a lot\b|though\b|but\b|haha|lol)", rest, re.IGNORECASE) \
            and all(w.isalpha() for w in obj.split()):
        return obj.lower() if obj.islower() or obj.isupper() else obj
    last = obj.split()[-1].lower()
    if last.endswith("s") and not last.endswith("ss") and len(last) > 3 and last not in ("things", "ones", "days", "times", "guys", "others", "yours", "ours", "lots", "always", "sometimes", "ways", "pieces", "kinds", "sorts", "types", "parts"):
        return obj.lower()
    return None


# -- rules -----------------------------------------------------------------------------------------

Rule = tuple[re.Pattern, Callable[[re.Match], list[Statement] | Statement | None]]
_RULES: list[Rule] = []


def _rule(rx: str, ci: bool = True):
    def register(fn):
        _RULES.append((re.compile(rx, re.IGNORECASE if ci else 0), fn))
        return fn

    return register


def _fact(predicate: str, obj: str | None, conf: float, **kw) -> Statement | None:
    return Statement("fact", predicate, obj, conf, **kw) if obj else None


_I = r"(?<![\w'])(?:i|I)"
_IM = _I + r"(?:'m|’m| am|m)"
_NOWISH = r"(?:now |currently |still |also |actually |just |finally |officially )?"

# work
@_rule(_I + r" " + _NOWISH + r"work(?:ing)? (?:at|for) (?P<obj>.+)")
def _works_at(m):
    rest = m.group("obj")
    out = [_fact("works_at", _org(rest), 0.9)]
    job = re.match(r"[^.!?,]*? as (?:a |an )" + _JOB, rest, re.IGNORECASE)
    if job:
        out.append(_fact("works_as", job.group("job").lower(), 0.9))
    return out


@_rule(_IM + r" " + _NOWISH + r"(?:working|employed) (?:at|for) (?P<obj>.+)")
def _employed_at(m):
    return _fact("works_at", _org(m.group("obj")), 0.9)


@_rule(r"\b(?:got|accepted|took|landed|start(?:ed|ing)?|begin|began) (?:a |an |the |my )?(?:new )?(?:job|position|role|internship) (?:at|with) (?P<obj>.+)")
def _new_job_at(m):
    return _fact("works_at", _org(m.group("obj")), 0.85)


@_rule(_I + r" " + _NOWISH + r"work as (?:a |an )?" + _JOB)
def _work_as(m):
    return _fact("works_as", m.group("job").lower(), 0.9)


@_rule(_IM + r" " + _NOWISH + r"(?:a |an )" + _JOB + r"(?! (?:at heart|by nature))(?: (?:at|for) (?P<obj>[^.!?,]+))?")
def _i_am_a(m):
    job = m.group("job").lower()
    out = [_fact("works_as", job, 0.85 if job != "student" else 0.8)]
    if m.group("obj") and job != "student":
        org = _org(m.group("obj"))
        if org and org[0].isupper():  # "a nurse at St Anne's Hospital", not "a nurse at the clinic"
            out.append(_fact("works_at", org, 0.8))
    return out


@_rule(r"\b(?:my (?:new )?(?:job|position|role|title) (?:is|as)|(?:starting|started|start) (?:work )?as|(?:first|second|third|last) (?:day|week|shift|month) as|promoted to|(?:i(?:'m| am)|as) (?:their|the) new) (?:a |an )?" + _JOB + r"(?: (?:at|for) (?P<obj>[^.!?,]+))?")
def _job_as(m):
    out = [_fact("works_as", m.group("job").lower(), 0.85)]
    if m.group("obj"):
        org = _org(m.group("obj"))
        if org and org[0].isupper():
            out.append(_fact("works_at", org, 0.8))
    return out


@_rule(r"\b(?:being (?:a |an )(?:" + _JOB_NOUNS + r") at|(?:first|second|third|fourth|another|long|busy|last) (?:day|week|month|shift) at|(?:^|[.!?]\s+)work at) (?P<obj>.+)")
def _work_named(m):
    return _fact("works_at", _org(m.group("obj")), 0.6)


# ends of work
@_rule(r"\b(?:lost|quit|left) my (?:old )?job(?: as (?:a |an )?" + _JOB + r")?(?: at (?P<obj>[^.!?,]+))?")
def _lost_job(m):
    out = [_fact("event", "lost my job" if "lost" in m.group(0).lower() else "quit my job", 0.85)]
    if m.group("job"):
        out.append(_fact("works_as", m.group("job").lower(), 0.85, ended=True))
    if m.group("obj"):
        out.append(_fact("works_at", _org(m.group("obj")), 0.85, ended=True))
    return out


@_rule(r"\b(?:got|was|been|just got) (?:fired|laid off|let go) (?:from|by|at) (?P<obj>.+)")
def _fired(m):
    return _fact("works_at", _org(m.group("obj")), 0.85, ended=True)


@_rule(r"\b(?:handed in my notice|resigned|quit) (?:at|from) (?P<obj>.+)")
def _resigned(m):
    return _fact("works_at", _org(m.group("obj")), 0.85, ended=True)


@_rule(_I + r" (?:used to|no longer|don't|do not) work (?:at|for) (?P<obj>.+)")
def _used_to_work(m):
    if not re.search(r"used to|no longer|anymore|any more", m.group(0), re.IGNORECASE):
        return None
    return _fact("works_at", _org(m.group("obj")), 0.8, ended=True)


@_rule(_I + r" used to be (?:a |an )" + _JOB)
def _used_to_be(m):
    return _fact("works_as", m.group("job").lower(), 0.8, ended=True)


# places
@_rule(_I + r" " + _NOWISH + r"live in (?P<obj>.+)")
def _live_in(m):
    return _fact("lives_in", _place(m.group("obj")), 0.9)


@_rule(_I + r"(?:'ve| have)? " + _NOWISH + r"(?:recently )?moved (?:back )?to (?P<obj>.+)")
def _moved_to(m):
    return _fact("lives_in", _place(m.group("obj")), 0.85)


@_rule(r"\b(?:we're|we are|i'm|i am|im) (?:moving|relocating) to (?P<obj>.+)")
def _moving_to(m):
    return _fact("moving_to", _place(m.group("obj")), 0.7)


@_rule(r"\bi (?:found|got|signed (?:the lease|a lease) (?:on|for)) (?:a |an |the )?(?:new )?(?:flat|apartment|house|place) in (?P<obj>.+)")
def _flat_in(m):
    return _fact("moving_to", _place(m.group("obj")), 0.7)


@_rule(_I + r" (?:used to|no longer|don't|do not) live in (?P<obj>.+)")
def _used_to_live(m):
    if not re.search(r"used to|no longer|anymore|any more", m.group(0), re.IGNORECASE):
        return None
    return _fact("lives_in", _place(m.group("obj")), 0.8, ended=True)


@_rule(_I + r" moved (?:out of|away from) (?P<obj>.+)")
def _moved_out(m):
    return _fact("lives_in", _place(m.group("obj")), 0.8, ended=True)


def _origin(raw: str) -> str | None:
    obj = _place(raw)
    if obj and not any(w[0].isupper() for w in obj.split()) and obj.lower() not in _LOWER_PLACES and not re.fullmatch(
        r"(?:(?:small|little|big|tiny) )?(?:town|city|village|farm|island)", obj.lower()
    ):
        return None  # "I'm from work" / "from a harsh environment": a lower-case origin must be a known place word
    return obj


@_rule(_IM + r" (?:originally )?from (?P<obj>.+)")
def _from(m):
    return _fact("from", _origin(m.group("obj")), 0.85)


@_rule(_I + r" grew up (?:in|on) (?P<obj>.+)")
def _grew_up(m):
    return _fact("from", _origin(m.group("obj")), 0.8)


_LOWER_PLACES = frozenset(
    "texas california florida new york ohio michigan georgia virginia carolina utah arizona colorado oregon washington "
    "canada mexico england scotland ireland wales france germany spain italy india china japan korea brazil australia "
    "london paris chicago boston seattle denver atlanta miami vegas houston dallas toronto america usa idaho nevada "
    "montana wyoming oklahoma kansas nebraska iowa missouri illinois indiana kentucky tennessee alabama mississippi "
    "louisiana arkansas minnesota wisconsin pennsylvania massachusetts connecticut maryland alaska hawaii".split()
    + ["south carolina", "north carolina", "new jersey", "new mexico", "new hampshire", "west virginia", "north dakota", "south dakota"]
)


# pets
@_rule(r"\b[Mm]y (?:new |little |old |sweet |baby |rescue )?" + _SPECIES + r"(?:,)? (?:is |was )?(?:named |called )?" + _NAME, ci=False)
def _my_pet(m):
    return None if m.group("name") in _NOT_NAMES else _fact("has_pet", m.group("name"), 0.9)


@_rule(r"\b(?:[Ii]|[Ww]e) (?:just |finally |recently )?(?:have|got|adopted|rescued|brought home|came home from the shelter with) (?:a|an|two|our|my) (?:new |little |tiny |sweet )?" + _BREED + _SPECIES + r"s?\b(?: (?:named|called) " + _NAME + r")?", ci=False)
def _got_pet(m):
    name = m.group("name")
    if name and name not in _NOT_NAMES:
        return _fact("has_pet", name, 0.9)
    return _fact("has_pet", m.group("species").lower(), 0.8)


@_rule(r"\b(?:a|an) (?:" + _BREED + r")?" + _SPECIES + r" (?:we|i) (?:just |finally )?(?:adopted|rescued|got)\b|\bmeet the newest member of the household: " + _NAME, ci=True)
def _newest_pet(m):
    if m.groupdict().get("name"):
        return _fact("has_pet", m.group("name"), 0.85)
    return _fact("has_pet", m.group("species").lower(), 0.8)


@_rule(r"\b[Mm]y (?:old |sweet |poor )?" + _SPECIES + r"(?: " + _NAME + r")? (?:died|passed away|passed|ran away|had to be put down)", ci=False)
def _pet_died(m):
    name = m.group("name")
    obj = name if name and name not in _NOT_NAMES else m.group("species").lower()
    return _fact("has_pet", obj, 0.85, ended=True)


# family and partners
@_rule(r"\b[Mm]y " + _RELATIVE + r"(?: " + _NAME + r")?(?:,)? (?:just |now |still |also |finally )?(?:lives|live|moved|is moving|got a place|has a place|got an apartment|found a flat) (?:in|to) (?P<obj>.+)", ci=False)
def _relative_lives(m):
    rel = m.group("rel").lower()
    name = m.group("name") if m.group("name") and m.group("name") not in _NOT_NAMES else None
    out = [_fact("lives_in", _place(m.group("obj")), 0.8, about=rel)]
    out.append(_fact("has_relative", f"{rel} {name}" if name else rel, 0.8))
    return out


@_rule(r"\b[Mm]y " + _RELATIVE + r"(?: " + _NAME + r")?(?:,)? (?:is|works as) (?:a |an )" + _JOB, ci=False)
def _relative_job(m):
    rel = m.group("rel").lower()
    name = m.group("name") if m.group("name") and m.group("name") not in _NOT_NAMES else None
    return [_fact("works_as", m.group("job").lower(), 0.8, about=rel), _fact("has_relative", f"{rel} {name}" if name else rel, 0.8)]


@_rule(r"\b(?:[Ii] have|[Ii]'ve got) (?P<n>a|an|one|two|three|four|five|\d) (?:little |older |younger |big |baby |twin |step)?(?P<rel>sisters?|brothers?|kids|children|sons?|daughters?|siblings)\b", ci=False)
def _have_relatives(m):
    n, rel = m.group("n").lower(), m.group("rel").lower()
    return _fact("has_relative", rel if n in ("a", "an", "one") else f"{n} {rel}", 0.85)


@_rule(r"\b[Mm]y " + _PARTNER + r"(?:,)? (?:is |was )?(?:named |called )?" + _NAME, ci=False)
def _partner(m):
    return None if m.group("name") in _NOT_NAMES else _fact("partner_of", m.group("name"), 0.9)


@_rule(r"\b[Ii](?:'m| am) (?:dating|seeing|engaged to|married to) " + _NAME, ci=False)
def _dating(m):
    return None if m.group("name") in _NOT_NAMES else _fact("partner_of", m.group("name"), 0.85)


@_rule(r"\b[Ii] (?:just |finally )?(?:broke up with|split up with|divorced) " + _NAME, ci=False)
def _broke_up(m):
    return None if m.group("name") in _NOT_NAMES else _fact("broke_up_with", m.group("name"), 0.85)


@_rule(r"\b(?:i|we) (?:just )?got (?P<what>engaged|married|divorced)\b")
def _got_married(m):
    return _fact("event", f"got {m.group('what').lower()}", 0.85)


# events with a time anchor
_ACTIVITIES = (
    r"camping|hiking|fishing|skiing|snowboarding|swimming|surfing|shopping|bowling|dancing|kayaking|canoeing|climbing|"
    r"rock climbing|sailing|hunting|biking|cycling|skating|ice skating|horseback riding|paintballing|golfing|running|"
    r"clubbing|snorkeling|scuba diving|diving|sightseeing|backpacking|tubing|rafting|white water rafting|caving|"
    r"trick or treating|christmas shopping|grocery shopping|thrift shopping|bar hopping|wine tasting|ziplining|jogging"
)


@_rule(r"\b(?:i|we|me and \w+|\w+ and i) (?:just |finally |all |both )?went (?P<act>" + _ACTIVITIES + r")\b")
def _went_activity(m):
    return _fact("event", f"went {m.group('act').lower()}", 0.85)


@_rule(r"\b(?:i|we|me and \w+|\w+ and i) (?:just |finally )?(?:went|traveled|travelled|flew|drove|got back from a trip|got back) (?:back )?(?:to|from) (?P<obj>[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2})", ci=False)
def _went_to(m):
    obj = m.group("obj")
    return None if obj.split()[0] in _NOT_NAMES else _fact("visited", obj, 0.8)


@_rule(r"\bi (?:just |finally )?(?:signed up for|started|joined|took|am taking|'m taking) (?:a |an |some |my first )?(?P<what>[a-z]+(?: [a-z]+)?) (?:class|classes|lessons|course)\b")
def _class(m):
    what = m.group("what").lower()
    if what in _OBJ_STOP or what.split()[0] in ("new", "online", "few", "couple", "night", "first", "summer", "evening", "two", "three"):
        return None
    return _fact("takes_class", what, 0.8)


@_rule(r"\bi (?:just |finally )?graduated(?: from (?P<obj>[^.!?,]+))?")
def _graduated(m):
    out = [_fact("event", "graduated", 0.85)]
    if m.group("obj"):
        out.append(_fact("studied_at", _org(m.group("obj")), 0.8))
    return out


_VEHICLES = r"car|house|home|bike|motorcycle|motorbike|truck|boat|camper van|van|apartment|condo|estate|suv|jeep|scooter"


@_rule(r"\b(?:[Ii]|[Ww]e) (?:just |finally )?(?:bought|got) (?:a |an |my first |our first |myself a )(?P<what>(?:[\w-]+ ){0,3}?(?:" + _VEHICLES + r"|[A-Z][a-z]+))\b", ci=False)
def _bought(m):
    what = m.group("what")
    last = what.split()[-1]
    if last[0].isupper() and (last in _NOT_NAMES or len(what.split()) < 2):
        return None  # "got a Tuesday off"; a brand needs a describing word before it ("tiny electric Fiat")
    return _fact("owns", what if last[0].isupper() else what.lower(), 0.8)


@_rule(r"(?:^|\b(?:i|we) )(?:just |finally )?got back from (?:a (?:trip|holiday|vacation) (?:to|in) )?(?P<obj>[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2})", ci=False)
def _back_from(m):
    obj = m.group("obj")
    return None if obj.split()[0] in _NOT_NAMES else _fact("visited", obj, 0.8)


@_rule(r"\b(?:[Ii]|[Ww]e|[Mm]y \w+ and I) spent (?:a |an |\w+ )?(?:days?|weeks?|nights?|months?|weekend|week) (?:\w+ ){0,2}(?:in|around|at|exploring|touring) (?P<obj>[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2})", ci=False)
def _spent_in(m):
    obj = m.group("obj")
    return None if obj.split()[0] in _NOT_NAMES else _fact("visited", obj, 0.8)


@_rule(r"\b[Ii] (?:just |finally )?(?:finished|read|finished reading) (?P<title>(?:The |A )?[A-Z][\w']*(?: (?:[A-Z][\w']*|of|the|and|in|a)){0,5})", ci=False)
def _read(m):
    title = re.sub(r"(?: (?:of|the|and|in|a))+$", "", m.group("title"))
    return None if title.split()[0] in _NOT_NAMES - {"The", "A"} else _fact("read", title, 0.8)


@_rule(r"\bi (?:just |finally )?(?:entered|signed up for|registered for|ran|finished|completed|did) (?:a |an |the |my first |my )?(?P<where>[A-Z][\w'-]* )?(?P<what>half marathon|marathon|10k|5k|triathlon|ultra(?:marathon)?)\b")
def _race(m):
    verb = m.group(0).split()[1] if m.group(0).split()[1].lower() not in ("just", "finally") else m.group(0).split()[2]
    what = ((m.group("where") or "") + m.group("what")).strip()
    return _fact("event", f"{'ran' if verb.lower() in ('ran', 'finished', 'completed', 'did') else 'entered'} the {what}", 0.85)


@_rule(r"\bi (?:just )?(?P<how>sprained|broke|twisted|hurt|injured|fractured|tore) my (?P<part>ankle|wrist|arm|leg|knee|back|foot|hand|shoulder|finger|toe|nose|collarbone|hip|acl)\b")
def _injury(m):
    return _fact("event", f"{m.group('how').lower()} my {m.group('part').lower()}", 0.85)


# study
@_rule(_IM + r" (?:studying|majoring in|doing a degree in|getting my degree in|in school for|going to school for) (?P<obj>.+)")
def _studies(m):
    obj = _np(m.group("obj"), max_words=3)
    return _fact("studies", obj.lower() if obj else None, 0.8)


@_rule(_IM + r" (?:a )?(?:\w+ )?(?:student|freshman|sophomore|junior|senior) (?P<prep>at|in) (?P<obj>.+)")
def _student_at(m):
    if m.group("prep").lower() == "in":  # "a junior in CS": the subject, not the school
        obj = _np(m.group("obj"), max_words=3)
        return _fact("studies", obj, 0.8) if obj and not re.search(r"high school|college", obj, re.IGNORECASE) else None
    return _fact("studies_at", _org(m.group("obj")), 0.8)


@_rule(_I + r" (?:go to|attend) (?P<obj>[A-Z][\w&'.-]*(?: [A-Z][\w&'.-]*| of){0,4})", ci=False)
def _attends(m):
    obj = m.group("obj").rstrip(" of")
    if not re.search(r"university|college|school|academy|institute|\bU\b|state", obj, re.IGNORECASE):
        return None
    return _fact("studies_at", obj, 0.8)


# likes
_PASTIMES = (
    r"travel|cook|bake|read|dance|sing|draw|paint|write|hike|swim|run|ski|fish|camp|knit|sew|garden|surf|skate|shop|"
    r"climb|golf|bike|cycle|hunt|sketch|dream|eat|play|watch|listen to|go|do|make|build|work with|spend time with|"
    r"rock climb|latin dance"
)


@_rule(_I + r" (?:really |absolutely |just |truly |also |totally |do |sure )?(?:love|like|enjoy|adore) (?P<obj>[^.!?]+)")
def _likes(m):
    obj = m.group("obj")
    to = re.match(r"to (?P<v>" + _PASTIMES + r")\b(?P<rest>.*)", obj, re.IGNORECASE)
    if to:  # "I love to travel", "I like to play sports": the pastime
        tail = _np(to.group("rest"), max_words=3) if to.group("rest").strip() and not re.match(r"\s*[,!.;]", to.group("rest")) else ""
        if tail is None or (to.group("v").lower() in ("go", "do", "make", "play", "watch", "eat", "listen to", "work with", "spend time with") and not tail):
            return None
        return _fact("likes", f"{to.group('v').lower()} {tail}".strip(), 0.75)
    if re.match(r"(?:to |it |that |this |you|when |how |what |the idea|being |having |going |doing |getting )", obj, re.IGNORECASE):
        return None
    return _fact("likes", _liked(obj), 0.75)


@_rule(r"\b" + _IM + r" (?:a (?:big |huge )?fan of|really into|obsessed with|into) (?P<obj>[^.!?]+)")
def _fan_of(m):
    return _fact("likes", _liked(m.group("obj")), 0.75)


@_rule(r"\bmy favou?rite (?P<what>(?!one\b)[a-z]+(?: (?!which|that)[a-z]+)?) (?:is|are) (?P<obj>[^.!?]+)")
def _favourite(m):
    obj = _np(m.group("obj"), max_words=4)
    return _fact("likes", obj, 0.8) if obj else None


@_rule(_I + r" (?:really )?(?:hate|dislike|can't stand|cant stand|don't like|dont like|do not like) (?P<obj>[^.!?]+)")
def _dislikes(m):
    if re.match(r"(?:to |it |that |this |you|when |how |what |the idea|being |having |going |doing |getting )", m.group("obj"), re.IGNORECASE):
        return None
    return _fact("dislikes", _liked(m.group("obj")), 0.75)


# about me
@_rule(r"\b[Mm]y name is " + _NAME, ci=False)
def _name(m):
    return None if m.group("name") in _NOT_NAMES else _fact("name", m.group("name"), 0.95)


@_rule(_IM + r" (?P<obj>\d{1,2}) (?:years old|yrs old|yo|year old)\b")
def _age(m):
    return _fact("age", m.group("obj"), 0.9)


@_rule(r"\bmy birthday is (?:on )?(?P<obj>(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]* \d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)? (?:of )?(?:january|february|march|april|may|june|july|august|september|october|november|december)|tomorrow|today|next week|this weekend)")
def _birthday(m):
    return _fact("birthday", m.group("obj"), 0.9)


# preferences: how the speaker wants to be answered
def _pref(rx: str, value: str, conf: float) -> None:
    _RULES.append((re.compile(rx, re.IGNORECASE), lambda m: Statement("preference", "prefers", value.format(obj=(m.groupdict().get("obj") or "").lower()), conf)))


_pref(r"\b(?:be (?:more )?(?:concise|brief)|keep (?:it|things|your (?:answers|replies|messages|responses)) (?:short|brief)|shorter (?:answers|replies|messages)|(?:answers|replies|messages|responses|texts) (?:are )?(?:way |much |far )?too long)\b", "be concise", 0.9)
_pref(r"\b(?:no|don't use|do not use|stop using|without|avoid|fewer|less|hate) emojis?\b", "no emojis", 0.9)
_pref(r"\b(?:more detail|longer (?:answers|replies)|explain (?:more|in detail))\b", "more detail", 0.8)
_pref(r"\b(?:be (?:more )?casual|less formal)\b", "casual tone", 0.8)
_pref(r"\b(?:be (?:more )?formal|less casual)\b", "formal tone", 0.8)
_pref(r"\bprefer (?:chatting|talking|to chat|to talk) in the (?P<obj>morning|afternoon|evening|night)s?\b", "{obj} chats", 0.85)


@_rule(r"\b(?:speak|talk|answer|reply|write) (?:to me )?in (?P<name>[A-Z][a-z]+)\b")
def _language(m):
    return Statement("preference", "language", m.group("name"), 0.8) if m.group("name")[0].isupper() else None


@_rule(r"\b[Cc]all me " + _NAME, ci=False)
def _call_me(m):
    return None if m.group("name") in _NOT_NAMES else Statement("preference", "preferred_name", m.group("name"), 0.9)


# -- the entry point -------------------------------------------------------------------------------

# what a time phrase dates: changes and happenings, not traits ("I'm from Brazil", "I love hiking")
_DATED = frozenset("works_at works_as lives_in moving_to has_pet partner_of broke_up_with event visited owns read takes_class studied_at".split())

_FUTURE = re.compile(r"\b(?:starting|starts|start|begin|begins|beginning|will|'ll|from next|moving|relocating)\b", re.IGNORECASE)

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+|\s+(?:but|however)\s+", re.IGNORECASE)


def _sentences(text: str) -> Iterator[str]:
    for s in _SENTENCE.split(text):
        s = s.strip()
        if s:
            yield s


# every rule's required words (literals.py): a message holding none of a rule's words cannot match it,
# so most messages never reach the regex engine (same statements, a fraction of the CPU)
_INDEX: RuleIndex | None = None


def _candidates(text: str) -> list[Rule]:
    global _INDEX
    if _INDEX is None or _INDEX.size != len(_RULES):  # built on first use (not at import)
        _INDEX = RuleIndex([rx for rx, _ in _RULES])
    return [_RULES[i] for i in _INDEX.candidates(text)]


def statements_in(text: str, *, prefilter: bool = True) -> list[Statement]:
    """What one message states, sentence by sentence: questions, hypotheticals and reported speech
    state nothing; hedged statements keep a lower confidence; each carries its sentence's time phrase.
    `prefilter=False` runs every rule on every sentence: the reference the fast path must equal."""
    rules = _candidates(text) if prefilter else _RULES
    if not rules:
        return []
    found: dict[tuple, Statement] = {}
    for sentence in _sentences(text):
        if sentence.rstrip().endswith("?"):
            continue
        matches = [(rx, fn, m) for rx, fn in rules for m in rx.finditer(sentence)]
        if not matches or _REPORTED.search(sentence):  # the sentence-wide tests only where a rule matched
            continue
        hedged = bool(_HEDGE.search(sentence))
        when = WHEN.search(sentence)
        for rx, fn, m in matches:
            made = fn(m)
            for st in made if isinstance(made, list) else [made]:
                if st is None or not st.object:
                    continue
                said = sentence[: m.start("obj") if "obj" in rx.groupindex else m.end()]  # a cue before the object
                if st.kind == "fact" and _HYPOTHETICAL.search(said):
                    continue  # "I want to become a nurse", "if I lived in Paris": not a fact about now
                if re.search(r"\b(?:not|never|n't|no)\s+(?:\w+\s+){0,1}$", sentence[: m.start()], re.IGNORECASE) and not st.ended and st.kind == "fact":
                    continue  # "I'm not a nurse"
                conf = round(st.confidence * (0.6 if hedged else 1.0), 3)
                dated = when.group(0).lower() if when and (st.predicate in _DATED or st.ended) else None
                if dated and dated.startswith("on ") and _FUTURE.search(sentence):
                    dated = "next " + dated[3:]  # "Starting at Casa Verde on Monday": the coming Monday
                st = Statement(st.kind, st.predicate, st.object, conf, st.about, st.ended, dated)
                key = (st.kind, st.predicate, st.object.lower(), st.about, st.ended)
                if key not in found or found[key].confidence < st.confidence:
                    found[key] = st
    # "I lost my job as a banker" also reads as "my job as a banker": the ending wins
    return [st for key, st in found.items() if st.ended or (key[:4] + (True,)) not in found]
