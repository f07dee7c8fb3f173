"""Before a semantic hit is served: do the two questions agree on what embeddings blur?

Sentence embeddings place "How tall is the Eiffel Tower?" and "How tall is the Tokyo Tower?",
"in 2019" and "in 2020", "Is it safe?" and "Is it not safe?" close together. A wrong answer
from the cache is worse than a miss, so a candidate is refused when the questions differ in
- numbers (digits, and number words: "three" is 3),
- named things (capitalised words other than common ones such as "What", acronyms, quoted
  strings),
- negation (not, no, never, n't, without, and prefixes: unsafe/safe, ineffective/effective),
- opposites (largest/smallest, before/after, buy/sell, ...),
- what is asked for: a place (where), a time (when, what year), a person (who), an amount
  (how many, how long), a reason (why) or a way (how do I): "Where did the war end?" and
  "When did the war end?" (a "what" or "which" question fits any of them), or
- one word swapped for another in an otherwise identical question ("boiling point" and
  "freezing point of water", "sort a dict by value" and "by key"): the question is the same
  about a different thing.
Every such word on one side must appear on the other (case and plural aside), so paraphrases,
which reword more than one word, pass.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass

_WORD = re.compile(r"[A-Za-z0-9][\w'’\-]*(?:[.,][0-9]+)*%?")
_QUOTED = re.compile(r"\"([^\"]{1,80})\"|“([^”]{1,80})”|`([^`]{1,80})`|(?<!\w)'([^']{1,80})'(?!\w)")
_POSSESSIVE = re.compile(r"['’]s$")

_NUMBER_WORDS = {
    "zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
    "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
    "dozen": "12", "first": "1st", "third": "3rd", "fourth": "4th", "fifth": "5th",
    "sixth": "6th", "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th",
    "twice": "x2", "half": "1/2", "quarter": "1/4",
}  # fmt: skip
# "one" and "second" are left out: "which one", "wait a second" are rarely numbers.

_NEGATION_WORDS = "not no never none nobody nothing nowhere neither nor without cannot"
_NEGATIONS = frozenset(_NEGATION_WORDS.split())
_NEGATING_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "non")
# Words that carry no topic: dropped before comparing what two questions are about.
_FUNCTION_WORDS = """
    a an the this that these those what which who whom whose when where why how is are was
    were be been being am do does did can could should would will shall may might must have
    has had i me my mine we us our you your he him his she her it its they them their there
    here please tell me if in on at for of by with about and or but so as any some all each
    every other also just now then way process step steps way's what's how's who's where's
    when's it's i'm i've i'd let lets let's get got need want like know many much number
    amount
"""
_FUNCTION = frozenset(_FUNCTION_WORDS.split())
# One meaning, several ways of asking for it ("how tall" is "the height"): one stem each.
_SAME_MEANING = [
    ("height", "tall high tallest highest"),
    ("length", "long length distance far longest"),
    ("size", "big large size biggest largest"),
    ("age", "old age oldest"),
    ("weight", "heavy weight heaviest"),
    ("depth", "deep depth deepest"),
    ("price", "cost price"),
    ("write", "wrote write writ author"),
]
_CANONICAL = {stem: name for name, words in _SAME_MEANING for stem in words.split()}
# What a question asks for, from its first question word (and the word after it).
_ASKS = re.compile(
    r"\b(?:(?P<place>where|(?:in|at|to|from) (?:what|which) (?:city|country|place|town|state))"
    r"|(?P<time>when|(?:what|which) (?:year|date|day|month|century))"
    r"|(?P<person>who|whom|whose)|(?P<amount>how (?:many|much|long|far|old|big|tall|often))"
    r"|(?P<reason>why)|(?P<way>how))\b",
    re.IGNORECASE,
)
_OPPOSITES = [
    ("largest", "smallest"), ("biggest", "smallest"), ("highest", "lowest"),
    ("tallest", "shortest"), ("longest", "shortest"), ("oldest", "youngest"),
    ("oldest", "newest"), ("earliest", "latest"), ("first", "last"), ("before", "after"),
    ("maximum", "minimum"), ("max", "min"), ("most", "least"), ("more", "less"),
    ("more", "fewer"), ("increase", "decrease"), ("buy", "sell"), ("best", "worst"),
    ("better", "worse"), ("hot", "cold"), ("north", "south"), ("east", "west"),
    ("open", "close"), ("start", "stop"), ("begin", "end"), ("win", "lose"), ("won", "lost"),
    ("add", "remove"), ("enable", "disable"), ("import", "export"), ("input", "output"),
    ("upload", "download"), ("above", "below"), ("inside", "outside"), ("cheap", "expensive"),
    ("cheapest", "priciest"), ("fastest", "slowest"), ("faster", "slower"),
    ("heaviest", "lightest"), ("deepest", "shallowest"), ("true", "false"),
    ("always", "never"), ("left", "right"), ("positive", "negative"), ("male", "female"),
    ("arrive", "depart"), ("arrival", "departure"), ("encrypt", "decrypt"), ("push", "pull"),
    ("upper", "lower"), ("minimize", "maximize"), ("rise", "fall"), ("gain", "loss"),
    ("open", "closed"), ("start", "end"), ("start", "finish"), ("from", "to"),
    ("increase", "reduce"), ("add", "delete"), ("import", "export"), ("day", "night"),
]  # fmt: skip
# Capitalised words that start questions and requests: not names.
_COMMON_WORDS = """
    a an the this that these those what which who whom whose when where why how is are was
    were be been do does did can could should would will shall may might must have has had i
    i'm i've i'd me my we our you your he she it its they them their there here please tell
    explain describe give list show name define compare write find let lets let's if in on at
    for to from of by with about and or but so as any some all each every other is it's whats
    what's hows how's whos who's wheres where's whens when's okay ok hi hello hey yes quick
    briefly summarize summarise help can't don't doesn't isn't aren't wasn't weren't won't
    wouldn't shouldn't couldn't didn't haven't hasn't hadn't also just now then am earth world
    calculate
    compute convert translate summarize summarise create generate make provide suggest
    recommend check identify outline draft rewrite fix solve count estimate
"""
_COMMON = frozenset(_COMMON_WORDS.split())


@dataclass(frozen=True, slots=True)
class Marks:
    """The words of a question that embeddings blur, and every word it has (lowercased)."""

    numbers: Counter[str]
    names: frozenset[str]
    negated: bool
    words: frozenset[str]
    stems: frozenset[str]
    content: tuple[str, ...]
    text: str


def marks(text: str) -> Marks:
    """Numbers, names, negation and the lowercase words of `text`."""
    tokens = [m.group() for m in _WORD.finditer(text)]
    words = [_POSSESSIVE.sub("", t).lower().replace("’", "'") for t in tokens]
    numbers: Counter[str] = Counter()
    names: set[str] = set()
    negated = False
    for token, word in zip(tokens, words, strict=True):
        for part in word.split("-"):
            if any(c.isdigit() for c in part):
                numbers[_number(part)] += 1
            elif part in _NUMBER_WORDS:
                numbers[_NUMBER_WORDS[part]] += 1
        if word in _NEGATIONS or word.endswith(("n't", "n’t")):
            negated = True
        if _is_name(token, word):
            names.add(stem(word))
    for match in _QUOTED.finditer(text):
        quoted = next(g for g in match.groups() if g is not None)
        names.add(quoted.strip().lower())
    parts = [part for word in words for part in word.split("-") if part]
    content = tuple(
        _CANONICAL.get(w, stem(w)) for w in parts if w not in _FUNCTION and not _numeric(w)
    )
    stems = frozenset(stem(w) for w in parts)
    return Marks(numbers, frozenset(names), negated, frozenset(words), stems, content, text.lower())


def stem(word: str) -> str:
    """A crude English stem, the same on both sides: plurals, -ing, -ed, -er."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("er", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: len(word) - len(suffix)] + keep
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2]:
                word = word[:-1]  # cancelling -> cancel
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word  # filing, file -> fil


def disagreement(first: str, second: str) -> str | None:
    """Why the two questions may not share an answer (`numbers`, `names`, `negation`,
    `question`, `opposites`, `substitution`), or None when they agree."""
    a, b = marks(first), marks(second)
    if a.numbers != b.numbers:
        return "numbers"
    if a.negated != b.negated or _prefix_negated(a, b) or _prefix_negated(b, a):
        return "negation"
    if not (_names_in(a, b) and _names_in(b, a)):
        return "names"
    asked = _asks(a.text), _asks(b.text)
    if None not in asked and asked[0] != asked[1]:
        return "question"
    for one, other in _OPPOSITES:
        if _opposed(a.words, b.words, one, other) or _opposed(b.words, a.words, one, other):
            return "opposites"
    if _swapped(a.content, b.content):
        return "substitution"
    return None


def _is_name(token: str, word: str) -> bool:
    """A capitalised word that is not a common one (wherever it stands: the other question
    only has to contain it, in any case), or an acronym."""
    if word in _COMMON or word in _NUMBER_WORDS or any(c.isdigit() for c in token):
        return False
    return token[0].isupper()


def _names_in(a: Marks, b: Marks) -> bool:
    """Every name of `a` appears in `b`: as a word, or (quoted phrases) in its text."""
    return all(name in b.stems or (" " in name and name in b.text) for name in a.names)


def _prefix_negated(a: Marks, b: Marks) -> bool:
    """`a` says unsafe, ineffective, dislike where `b` says safe, effective, like."""
    for word in a.words - b.words:
        for prefix in _NEGATING_PREFIXES:
            rest = word[len(prefix) :]
            if word.startswith(prefix) and len(rest) >= 4 and rest in b.words:
                return True
    return False


def _swapped(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """The same content words but one, in the same place: one thing asked about another."""
    matcher = difflib.SequenceMatcher(a=first, b=second, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if len(changes) != 1 or not any(op[0] == "equal" for op in matcher.get_opcodes()):
        return False
    kind, a_start, a_end, b_start, b_end = changes[0]
    return kind == "replace" and a_end - a_start == 1 and b_end - b_start == 1


def _asks(text: str) -> str | None:
    """place, time, person, amount, reason or way; None for what/which questions."""
    found = _ASKS.search(text)
    return found.lastgroup if found is not None else None


def _numeric(word: str) -> bool:
    return any(c.isdigit() for c in word) or word in _NUMBER_WORDS


def _opposed(mine: frozenset[str], theirs: frozenset[str], one: str, other: str) -> bool:
    return one in mine and other in theirs and other not in mine and one not in theirs


def _number(word: str) -> str:
    plain = word.replace(",", "").rstrip("%")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".") if plain.replace(".", "").isdigit() else plain
    return plain
