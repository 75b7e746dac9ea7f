"""What the request's words require: counts, speakers, quoted lines, tone, injection attempts.

Read deterministically from the text, so a small model cannot lose them: "a two-line argument"
is two lines; "Make Alberto say 'Silenzio, Bruno!'" is that line, verbatim, by Alberto (and
neither "Silenzio" nor "Bruno" speaks); a capitalized word after a place preposition
("through Portorosso"), after a determiner ("the Vespa") or shaped like a product name
("ControlNet", "SDXL") is not a speaker.
"""

from __future__ import annotations

import re
from functools import lru_cache

from state.models import Constraints, Quote

NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "single": 1,
    "two": 2,
    "pair": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_NUM = r"(\d{1,2}|" + "|".join(k for k in NUMBERS if k not in {"a", "an", "pair"}) + r")"
UNITS = {
    "lines": r"lines?|exchanges?|sentences?",
    "images": r"shots?|images?|pictures?|panels?|keyframes?|frames?|illustrations?|drawings?"
    r"|posters?|portraits?|backgrounds?|stills?",
}
_COUNT = {
    kind: re.compile(
        rf"\b{_NUM}(?:[\s-]+(?:short|quick|little|more|simple|funny|final|key|wide|close-up))?"
        rf"[\s-]+(?:{units})\b",
        re.I,
    )
    for kind, units in UNITS.items()
}
SPEECH_VERBS = (
    r"say|says|said|saying|shout|shouts|shouted|shouting|whisper|whispers|whispered|whispering"
    r"|ask|asks|asked|asking|yell|yells|yelled|reply|replies|replied|answer|answers|answered"
    r"|exclaim|exclaims|exclaimed|mutter|mutters|muttered|scream|screams|screamed|cry|cries"
    r"|cried|tell|tells|told|declare|declares|declared|sing|sings|sang|announce|announces"
    r"|announced|shout out|call out|calls out|speak|speaks|talk|talks|argue|argues|chat|chats"
    r"|explain|explains|explained|tease|teases|teased|complain|complains|warn|warns|warned"
    r"|beg|begs|promise|promises|joke|jokes|plead|pleads|confess|confesses|insist|insists"
    r"|greet|greets|thank|thanks|apologize|apologizes|scold|scolds|comfort|comforts|interrupt"
    r"|interrupts|respond|responds|admit|admits|gossip|gossips|flirt|flirts|bicker|bicker"
)
_SPEECH = re.compile(rf"^(?:{SPEECH_VERBS})$", re.I)
TITLES = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "prof",
    "professor",
    "doctor",
    "captain",
    "sergeant",
    "officer",
    "agent",
    "detective",
    "inspector",
    "uncle",
    "aunt",
    "auntie",
    "grandpa",
    "grandma",
    "granny",
    "nonna",
    "nonno",
    "mama",
    "papa",
    "mom",
    "dad",
    "sir",
    "lady",
    "lord",
    "king",
    "queen",
    "prince",
    "princess",
    "chef",
    "coach",
    "mister",
    "madam",
    "mate",
    "sheriff",
    "deputy",
    "judge",
    "nurse",
    "general",
    "colonel",
    "major",
    "lieutenant",
    "admiral",
    "commander",
    "chief",
    "constable",
    "sensei",
    "master",
    "madame",
    "monsieur",
    "signor",
    "signora",
    "señor",
    "señora",
}
"""Words that name a role: a person when a name follows ("Captain Haddock") or when they speak."""
_CONJUNCTIONS = {"and", "or", "&", "nor"}
# A word right before a name that makes it a place or a thing rather than a person.
PLACE_WORDS = {
    "in",
    "at",
    "on",
    "to",
    "into",
    "onto",
    "through",
    "from",
    "near",
    "across",
    "around",
    "over",
    "toward",
    "towards",
    "outside",
    "inside",
    "above",
    "below",
    "under",
    "beyond",
    "along",
    "past",
    "via",
    "using",
    "use",
    "with",
}
THING_WORDS = {
    "the",
    "a",
    "an",
    "his",
    "her",
    "their",
    "its",
    "my",
    "our",
    "your",
    "this",
    "that",
    "these",
    "those",
    "which",
    "whose",
    "some",
    "any",
    "every",
    "each",
    "another",
}
PERSON_NOUNS = {
    "brother",
    "sister",
    "friend",
    "pal",
    "buddy",
    "mother",
    "father",
    "son",
    "daughter",
    "cousin",
    "niece",
    "nephew",
    "grandmother",
    "grandfather",
    "wife",
    "husband",
    "boyfriend",
    "girlfriend",
    "partner",
    "neighbor",
    "neighbour",
    "boss",
    "colleague",
    "coworker",
    "roommate",
    "classmate",
    "teammate",
    "teacher",
    "student",
    "mentor",
    "apprentice",
    "assistant",
    "rival",
    "villain",
    "hero",
    "heroine",
    "sidekick",
    "kid",
    "child",
    "boy",
    "girl",
    "man",
    "woman",
    "robot",
    "dog",
    "cat",
    "mate",
    "twin",
    "sibling",
    "parent",
    "baby",
    "guy",
    "suspect",
    "pirate",
    "knight",
    "soldier",
    "guard",
    "wizard",
    "witch",
    "alien",
    "monster",
    "creature",
    "puppy",
    "kitten",
    "bird",
    "parrot",
    "fox",
    "rabbit",
    "bear",
    "mouse",
    "owner",
    "customer",
    "client",
    "stranger",
    "detective",
    "officer",
    "captain",
    "giant",
    "dragon",
    "ghost",
    "troll",
    "fairy",
    "elf",
    "dwarf",
    "ogre",
    "goblin",
}
"""Nouns for people (and talking companions): "her brother Sol" names a person, where "their
new Tesla" (a determiner, then any other word, then the name) names a thing."""
# Words that start sentences or requests and are never names on their own.
NOT_NAMES = {
    "create",
    "make",
    "write",
    "draw",
    "generate",
    "storyboard",
    "compose",
    "produce",
    "render",
    "show",
    "give",
    "design",
    "imagine",
    "have",
    "let",
    "please",
    "can",
    "could",
    "would",
    "will",
    "should",
    "i",
    "we",
    "you",
    "it",
    "they",
    "he",
    "she",
    "what",
    "how",
    "why",
    "when",
    "where",
    "who",
    "which",
    "ignore",
    "now",
    "then",
    "also",
    "and",
    "but",
    "or",
    "tell",
    "paint",
    "sketch",
    "animate",
    "record",
    "voice",
    "narrate",
    "add",
    "put",
    "depict",
    "illustrate",
    "scene",
    "short",
    "after",
    "before",
    "while",
    "if",
    "is",
    "are",
    "do",
    "does",
    "need",
    "want",
    "keep",
    "find",
    "search",
    "look",
    "explain",
    "describe",
    "summarize",
    "next",
    "finally",
    "first",
    "narrator",
    "okay",
    "ok",
    "yes",
    "no",
    "hi",
    "hello",
    "dear",
    "note",
    "style",
    "mood",
    "setting",
    "title",
    "end",
    "exterior",
    "interior",
    "day",
    "night",
    *THING_WORDS,
    *PLACE_WORDS,
}
_QUOTE = re.compile(
    r"“([^”]{2,300})”|\"([^\"]{2,300})\"|‘([^’]{2,300})’"
    # single quotes: an apostrophe inside a word ("Where's") does not close the quote
    r"|(?:(?<=^)|(?<=[\s(:—-]))'((?:[^']|(?<=[A-Za-z])'(?=[a-z])){2,300}?)'(?=$|[\s.,;:!?)—-])"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_TONE_PHRASE = re.compile(
    r"\b(?:in|with)\s+an?\s+([a-z]+)(?:,\s*[a-z]+)?\s+(?:voice|tone|manner|way|whisper)\b", re.I
)
_ADVERB = re.compile(
    rf"\b([a-z]{{3,}}ly)\s+(?:{SPEECH_VERBS})\b|\b(?:{SPEECH_VERBS})\s+([a-z]{{3,}}ly)\b", re.I
)
_NOT_TONES = {"only", "early", "really", "family", "likely", "lovely", "finally", "daily", "ugly"}
INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,60}\b(?:instructions?|rules|prompts?"
    r"|directions|guidelines|above|previous|system)\b|\bsystem prompt\b|\byou are now\b"
    r"|\bdeveloper mode\b|\bjailbreak\b|\bact as (?:an? )?(?:admin|root|system)\b"
    # new orders, and tags that pretend to close the request or open a system turn
    r"|\bnew instructions?\b"
    r"|</?\s*(?:request|system|instructions?|prompt|user|assistant)\s*>|(?:^|\n)\s*system\s*:",
    re.I,
)


def without_injection(text: str) -> str:
    """The request less every phrase that tries to change or reveal the instructions."""
    return " ".join(INJECTION.sub(" ", text).split())


_NAMING_FRAME = re.compile(
    r"\b(?:titled|entitled|called|named|labell?ed|prompts?|captions?|captioned|labels?|signs?"
    r"|reads|reading|tagline|title|headline|file|folder|keywords?|tags?|search(?:es)?|query)"
    r"\s*[:=]?\s*$",
    re.I,
)
"""A quote right after these words names or labels something; it is not a line to speak."""
_CONTINUE = re.compile(
    r"\b(?:the\s+next\s+(?:\w+\s+)?(?:lines?|exchanges?|beats?)|(?:what|that)\s+follows"
    r"|continue\s+(?:the|this|it|from)|carry\s+on\s+from|(?:write|give)\s+(?:me\s+)?the\s+"
    r"(?:reply|replies|response|rest))\b",
    re.I,
)
"""Words that make earlier quoted lines the context to continue from, not lines to repeat."""
_MORE_LINES = re.compile(
    r"\b(?:write|writes|dialog(?:ue)?s?|conversations?|scenes?|exchanges?|argu\w*|talk\w*|chat\w*"
    r"|stor(?:y|ies)|scripts?|continue\w*|banter|quarrel\w*|discuss\w*|episodes?|sketch\w*"
    r"|plays?|repl(?:y|ies|ied)|answer\w*|respond\w*|back and forth)\b",
    re.I,
)
"""Words that ask for lines beyond the quoted ones; without them the quotes are the lines."""
_NARRATION = re.compile(r"\bnarrat(?:ion|or|e|ed|es|ing)\b|\bvoice-?over\b", re.I)


def _number(token: str) -> int:
    return int(token) if token.isdigit() else NUMBERS[token.lower()]


def counts(text: str) -> dict[str, int]:
    """Explicit counts: ``{"lines": 2}`` for "a two-line argument", ``{"images": 3}`` ..."""
    found: dict[str, int] = {}
    unquoted = _QUOTE.sub(" ", text)
    for kind, pattern in _COUNT.items():
        match = pattern.search(unquoted)
        if match:
            found[kind] = max(1, min(24, _number(match.group(1))))
    if "images" in found and "lines" not in found and _NARRATION.search(unquoted):
        if re.search(r"\b(?:for|per|with|under)\s+(?:each|every)\b|\beach\b", unquoted, re.I):
            found["lines"] = found["images"]  # "a line of narration for each" shot
    return found


def quoted_spans(text: str) -> list[tuple[int, int, str]]:
    """Every quoted span as (start, end, inner text)."""
    spans = []
    for match in _QUOTE.finditer(text):
        inner = next(g for g in match.groups() if g is not None).strip()
        if re.search(r"[A-Za-z]", inner):
            spans.append((match.start(), match.end(), inner))
    return spans


def _outside_quotes(text: str) -> str:
    """The text with every quoted span blanked out (same length, so offsets still hold)."""
    chars = list(text)
    for start, end, _ in quoted_spans(text):
        for i in range(start, end):
            chars[i] = " "
    return "".join(chars)


def _tech(word: str) -> bool:
    """Product and tool names: inner capitals (ControlNet, LoRA), acronyms (SDXL), digits."""
    core = word.strip("'’-")
    return (
        any(c.isdigit() for c in core)
        or (len(core) >= 2 and core.isupper())
        or any(c.isupper() for c in core[1:])
    )


def _spans(sentence: str) -> list[tuple[str, int, int, bool]]:
    """Capitalized names in a sentence as (text, first token, last token, possessive).

    Consecutive capitalized words are one name ("Teatro Verdi", "Luca Paguro"), and a title
    with a period joins the name after it ("Mr. Abernathy").
    """
    tokens = list(_WORD.finditer(sentence))
    spans = []
    i = 0
    while i < len(tokens):
        word = tokens[i].group(0)
        if not word[0].isupper():
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and tokens[j + 1].group(0)[0].isupper():
            gap = sentence[tokens[j].end() : tokens[j + 1].start()]
            if gap not in (" ", ". ") or (gap == ". " and tokens[j].group(0).lower() not in TITLES):
                break
            if tokens[j].group(0).endswith(("'s", "’s")):
                break
            j += 1
        text = sentence[tokens[i].start() : tokens[j].end()].rstrip("'’-")
        possessive = text.endswith(("'s", "’s"))
        if possessive:
            text = text[:-2]
        spans.append((text, i, j, possessive))
        i = j + 1
    return spans


@lru_cache(maxsize=1)
def _webster() -> frozenset[str]:
    """Webster's 2nd (web2, ~236k entries, case kept: "grace" the word, "Grace" the name)."""
    from english_words import get_english_words_set

    return frozenset(get_english_words_set(["web2"]))


def common_word(word: str) -> bool:
    """A word the dictionary knows only in lower case ("Two", "Sad", "Dialogue", "Call").

    Capitalized at a sentence start such a word says nothing about a name; a word the
    dictionary also lists capitalized ("Grace", "Hector") or not at all ("Luca") may be one.
    """
    words = _webster()
    lower = word.lower()
    # web2 lists lemmas: "Lines" is "line", "Tries" is "try", "Asked" is "ask"
    forms = [lower]
    for suffix, base in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", "")):
        if lower.endswith(suffix) and len(lower) > len(suffix) + 2:
            forms.append(lower[: -len(suffix)] + base)
    return word not in words and any(f in words and f.capitalize() not in words for f in forms)


def classify_names(text: str) -> tuple[list[str], list[str]]:
    """(people, other names): capitalized names outside quotes, split by where they stand."""
    plain = re.sub(r"\b(Mr|Mrs|Ms|Dr|Prof)\.\s+", r"\1 ", _outside_quotes(text))
    # Evidence per name: it speaks or is spoken to (person), it stands after a place word, a
    # determiner or looks like a product (other), or nothing says (a person, weakly).
    strong_person: list[str] = []
    strong_other: list[str] = []
    weak: list[str] = []
    for sentence in re.finditer(r"[^.!?;\n]+", plain):
        chunk = sentence.group(0)
        found = list(_WORD.finditer(chunk))
        tokens = [t.group(0) for t in found]
        last_kind = ""
        last_end = -9
        for name, i, j, possessive in _spans(chunk):
            words = name.split()
            if words[0].lower() in NOT_NAMES:
                if len(words) == 1:
                    last_kind = ""
                    continue
                name = " ".join(words[1:])  # "Make Alberto" -> "Alberto"
                i += 1
            # The clause's first word (after markup such as "</request>" or a "Label:"), where
            # a capital letter says nothing about a name.
            lead = re.sub(r"<[^>]*>", " ", chunk[: found[i].start()])
            initial = not re.search(r"[A-Za-z]", lead.rsplit(":", 1)[-1])
            prev = tokens[i - 1].lower() if i > 0 else ""
            before = tokens[i - 2].lower() if i > 1 else ""
            nxt = tokens[j + 1] if j + 1 < len(tokens) else ""
            after = tokens[j + 2] if j + 2 < len(tokens) else ""
            third = tokens[j + 3] if j + 3 < len(tokens) else ""
            speaks = (
                bool(_SPEECH.match(nxt))
                or (nxt.lower() in _CONJUNCTIONS and bool(_SPEECH.match(after)))
                # "Rose and Jack talk": the pair speaks (not "Millbrook, and Clara answers")
                or (
                    nxt.lower() in _CONJUNCTIONS
                    and after[:1].isupper()
                    and bool(_SPEECH.match(third))
                    and chunk[found[j].end() : found[j + 1].start()] == " "
                )
                # "Pax: 'Where's the key?'" (the quote is blanked out here)
                or re.match(r"\s*:(?:\s*$|\s{3,})", chunk[found[j].end() :]) is not None
            )
            # "Rose meets Jack", "Summer visits River": a subject acting on a named person
            acts_on = (
                j + 2 < len(tokens)
                and nxt.islower()
                and nxt.endswith("s")
                and after[:1].isupper()
                and chunk[found[j].end() : found[j + 1].start()] == " "
                and chunk[found[j + 1].end() : found[j + 2].start()] == " "
            )
            titled = name.split()[0].lower() in TITLES
            if speaks or possessive:
                kind = "person"
            elif prev in _CONJUNCTIONS and i - 2 == last_end and last_kind:
                kind = last_kind  # "Ines and Tobi", "Rome and Paris": the same kind
            elif any(_tech(w) for w in name.split()) or prev in THING_WORDS:
                kind = "other"  # ControlNet, SDXL; the Vespa, a Ferris wheel
            elif (
                before in THING_WORDS
                and prev.islower()
                and prev not in PERSON_NOUNS
                and prev.removesuffix("s") not in PERSON_NOUNS  # "the twins Ada and Eli"
                and chunk[found[i - 1].end() : found[i].start()] == " "  # "the suspect, Lionel"
            ):
                kind = "other"  # their new Tesla, a neon-lit Kowloon (not: her brother Sol)
            elif prev in PLACE_WORDS:
                # "explains the problem to Marcus", "shouts at Ines": a person spoken to, when
                # the speech verb is near ("is coming to Millbrook" after "tells" is a place)
                near = any(_SPEECH.match(t) for t in tokens[max(0, i - 5) : i - 1])
                speaking_to = prev in {"to", "at", "with", "toward", "towards"} and near
                kind = "person" if speaking_to or prev == "with" else "other"
            elif initial and len(name.split()) == 1 and common_word(name) and not acts_on:
                last_kind = ""
                continue  # "Two lines only:", "Sad goodbye at...": a sentence's first word
            elif titled and len(name.split()) == 1:
                kind = "other"  # a role alone ("the Captain"), unless it speaks
            else:
                kind = "weak"
            last_kind, last_end = ("person" if kind == "weak" else kind), j
            bucket = {"person": strong_person, "other": strong_other, "weak": weak}[kind]
            if name not in bucket:
                bucket.append(name)
    people: list[str] = []
    others: list[str] = []
    for name in dict.fromkeys([*strong_person, *weak, *strong_other]):
        if name in strong_person or name not in strong_other:
            people.append(name)
        else:
            others.append(name)
    # "Officer Bell" and, later, "Bell" are one person: the titled name stands for both.
    people = [p for p in people if not any(_alias_of(p, q) for q in people)]
    order = {n: plain.find(n) for n in people}
    people.sort(key=lambda n: order[n])
    return people, others


def _alias_of(name: str, other: str) -> bool:
    """Whether ``name`` is a shorter form of ``other``.

    "Bell" of "Officer Bell" (the name without its title), "Luca" of "Luca Paguro" (the
    first name).
    """
    mine, theirs = name.lower().split(), other.lower().split()
    if not mine or len(theirs) <= len(mine):
        return False
    return theirs[-len(mine) :] == mine or (theirs[: len(mine)] == mine and theirs[0] not in TITLES)


def _speaker_near(text: str, start: int, end: int, people: list[str]) -> str:
    """The named person attributed to the quote at ``start..end`` ("" if none)."""
    aliases = [" ".join(p.split()[1:]) for p in people if len(p.split()) > 1]
    aliases += [p.split()[0] for p in people if len(p.split()) > 1]
    every = [*people, *(a for a in aliases if a and a.lower() not in TITLES)]
    names = "|".join(re.escape(p) for p in sorted(every, key=len, reverse=True))
    if not names:
        return ""
    left = text[max(0, start - 80) : start]
    right = text[end : end + 60]
    verbs = SPEECH_VERBS
    patterns_left = [
        rf"\b({names})\b(?:\s+\w+ly)?\s+(?:{verbs})(?:\s+\w+ly)?(?:\s+(?:to|at)\s+\w+)?\s*[,:]?\s*$",
        rf"\b({names})\b\s*:\s*$",
        rf"\b(?:make|makes|have|has|let|lets|get|gets)\s+({names})\s+(?:\w+\s+)?(?:{verbs})\b"
        r"[^\"“‘']{0,20}$",
        rf"\b({names})\b[^\"“‘'.!?]{{0,40}}\b(?:{verbs})\b[^\"“‘'.!?]{{0,25}}$",
    ]
    for pattern in patterns_left:
        match = re.search(pattern, left, re.I)
        if match:
            return _canonical(match.group(1), people)
    for pattern in (
        rf"^\s*[,.!?]?\s*(?:{verbs})\s+({names})\b",
        rf"^\s*[,.!?]?\s*({names})\s+(?:{verbs})\b",
    ):
        match = re.search(pattern, right, re.I)
        if match:
            return _canonical(match.group(1), people)
    return ""


def _speaks(text: str, name: str) -> bool:
    """Whether the words make ``name`` speak (a speech verb right after the name)."""
    return bool(
        re.search(
            rf"\b{re.escape(name)}\b(?:\s+and\s+\w+)?\s+(?:\w+ly\s+)?(?:{SPEECH_VERBS})\b",
            text,
            re.I,
        )
    )


def _canonical(name: str, people: list[str]) -> str:
    exact = next((p for p in people if p.lower() == name.lower()), "")
    return exact or next((p for p in people if _alias_of(name, p)), name)


def tone(text: str) -> str:
    """A tone the request asks for ("in an excited voice" -> "excited", "angrily" -> "angry")."""
    plain = _outside_quotes(text)
    match = _TONE_PHRASE.search(plain)
    if match:
        return match.group(1).lower()
    for match in _ADVERB.finditer(plain):
        adverb = (match.group(1) or match.group(2)).lower()
        if adverb in _NOT_TONES:
            continue
        if adverb.endswith("ily"):
            return adverb[:-3] + "y"
        return adverb[:-2]
    return ""


def read_constraints(text: str) -> Constraints:
    """Everything the request's words require, with no model involved."""
    people, others = classify_names(text)
    quotes = [
        Quote(character=_speaker_near(text, s, e, people), text=inner)
        for s, e, inner in quoted_spans(text)
        # "a poster titled 'Summer'", "with prompt 'test'": a name or a label, not a line
        if not _NAMING_FRAME.search(text[max(0, s - 30) : s])
    ]
    plain = _outside_quotes(text)
    follow = _CONTINUE.search(plain)
    if follow:
        # "Quinn: 'Where's the map?' ... Write the next two lines": the quotes before those
        # words are where the scene stands; the new lines must not repeat them.
        before = {inner for s, _, inner in quoted_spans(text) if s < follow.start()}
        quotes = [q for q in quotes if q.text not in before]
    narration = bool(_NARRATION.search(plain))
    if len(people) == 1 and not narration:
        # One named person and lines nobody else could say: they are that person's lines.
        quotes = [q if q.character else Quote(character=people[0], text=q.text) for q in quotes]
    if narration:
        # Narrated work: the narrator speaks; a character speaks only when the words say so.
        speakers = ["Narrator", *[p for p in people if _speaks(plain, p)]]
    else:
        speakers = list(people)
    for quote in quotes:
        if quote.character and quote.character not in speakers:
            speakers.append(quote.character)
    found = counts(text)
    if quotes and "lines" not in found and not _MORE_LINES.search(plain):
        # "Voice lines for Morgrave: 'A' and 'B'", "have Pip say 'Ahoy!'": exactly those lines
        found["lines"] = len(quotes)
    return Constraints(
        counts=found,
        speakers=speakers,
        not_speakers=[o for o in others if o not in speakers],
        quotes=quotes,
        tone=tone(text),
        narration=narration,
        injection=bool(INJECTION.search(text)),
    )
