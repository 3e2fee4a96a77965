"""Fuzzy name matching against the SDN list: word order, case, diacritics and transliteration.

Names are folded to ASCII (anyascii transliterates Cyrillic, Arabic, Greek… as well as dropping
accents), split into words, and each word is also reduced to a transliteration-neutral form
(Mohammed / Muhammad / Mohamed → "muhamad", Hussein / Husayn / Hussain → "husain"). Candidates
come from an index of those words and their one-letter deletions (so a typo still meets its
entry); rapidfuzz scores each candidate on sorted words, and date of birth and country move the
score up or down to rank the hits. They only rank: a name that matches strongly on its own is
kept for a person to review even when its date of birth or country disagrees, at a lower score.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from anyascii import anyascii
from rapidfuzz import fuzz

# Words that carry no identity on their own (kinship and article particles): never used to find candidates.
PARTICLES = frozenset(
    {"al", "el", "bin", "ibn", "bint", "abu", "abd", "de", "del", "der", "la", "le", "van", "von", "da", "di", "dos"}
)
# Company suffixes, stripped from entity names before comparing.
LEGAL_FORMS = frozenset({"ltd", "llc", "inc", "co", "corp", "company", "limited", "sa", "gmbh", "plc", "jsc", "pjsc"})
_TRANSLITERATION = (
    ("kh", "h"),
    ("gh", "g"),
    ("ph", "f"),
    ("th", "t"),
    ("dh", "d"),
    ("sch", "s"),
    ("sh", "s"),
    ("ck", "k"),
    ("q", "k"),
    ("c", "k"),
    ("w", "v"),
    ("z", "s"),
    ("x", "ks"),
    ("j", "i"),
    ("y", "i"),
    ("ou", "u"),
    ("oo", "u"),
    ("o", "u"),
    ("ee", "i"),
    ("ie", "i"),
    ("ei", "ai"),
    ("e", "a"),
)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"(.)\1+")
MIN_KEY_LENGTH = 2
DELETION_MIN_LENGTH = 5


def fold(name: str) -> list[str]:
    """ASCII, lower-case words of a name, without legal-form suffixes."""
    words = _NON_ALNUM.sub(" ", anyascii(name).lower()).split()
    kept = [w for w in words if w not in LEGAL_FORMS]
    return kept or words


def neutral(word: str) -> str:
    """A transliteration-neutral spelling of one folded word."""
    for source, target in _TRANSLITERATION:
        word = word.replace(source, target)
    return _REPEATS.sub(r"\1", word)


def _deletions(key: str) -> set[str]:
    if len(key) < DELETION_MIN_LENGTH:
        return set()
    return {key[:i] + key[i + 1 :] for i in range(len(key))}


@dataclass(frozen=True)
class Name:
    plain: str
    neutral: str
    keys: frozenset[str]
    words: int

    @classmethod
    def of(cls, raw: str) -> Name:
        words = fold(raw)
        neutral_words = [neutral(w) for w in words]
        keys = frozenset(
            k for w, n in zip(words, neutral_words, strict=True) if w not in PARTICLES for k in (n,) if len(k) >= 2
        )
        return cls(
            plain=" ".join(sorted(words)),
            neutral=" ".join(sorted(neutral_words)),
            keys=keys,
            words=len(words),
        )


@dataclass
class ListedName:
    ent_num: int
    entry_name: str
    name: str
    program: str
    digest: str
    folded: Name
    birth_dates: tuple[str, ...]
    countries: frozenset[str]


@dataclass(frozen=True)
class Subject:
    """Someone to screen: an investor or one of an entity's owners."""

    investor_id: int
    name: str
    owner_id: int | None = None
    birth_date: dt.date | None = None
    countries: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Match:
    subject: Subject
    listed: ListedName
    name_score: int
    score: int
    reasons: tuple[str, ...]


def name_score(a: Name, b: Name) -> int:
    """0–100: the best of the sorted-word ratios on plain and on transliteration-neutral spellings,
    and a slightly discounted subset ratio when one name is the other with words added.
    """
    score = max(fuzz.ratio(a.plain, b.plain), fuzz.ratio(a.neutral, b.neutral))
    if min(a.words, b.words) >= 2:
        score = max(score, fuzz.token_set_ratio(a.neutral, b.neutral) - 6)
    return round(score)


def _rank(subject: Subject, listed: ListedName) -> tuple[int, list[str]]:
    """Adjust the name score by what else is known: DOB agreeing raises it, contradicting lowers it."""
    adjustment, reasons = 0, []
    if subject.birth_date and listed.birth_dates:
        iso = subject.birth_date.isoformat()
        years = {int(d[:4]) for d in listed.birth_dates}
        if iso in listed.birth_dates:
            adjustment += 8
            reasons.append("date of birth matches")
        elif subject.birth_date.year in years:
            adjustment += 4
            reasons.append("year of birth matches")
        elif min(abs(subject.birth_date.year - y) for y in years) > 1:
            adjustment -= 20
            reasons.append("date of birth differs")
    if subject.countries and listed.countries:
        if subject.countries & listed.countries:
            adjustment += 3
            reasons.append("country matches")
        else:
            adjustment -= 2
            reasons.append("country differs")
    return adjustment, reasons


class Matcher:
    """An in-memory index of every listed name and alias of one list version."""

    def __init__(self, names: Iterable[ListedName], *, threshold: int) -> None:
        self.threshold = threshold
        self.names: list[ListedName] = list(names)
        self.index: dict[str, list[int]] = defaultdict(list)
        for position, listed in enumerate(self.names):
            keys: set[str] = set()
            for key in listed.folded.keys:
                keys.add(key)
                keys |= _deletions(key)
            for key in keys:
                self.index[key].append(position)
        self.single_word = frozenset(p for p, listed in enumerate(self.names) if len(listed.folded.keys) < 2)

    def _candidates(self, name: Name) -> list[int]:
        """Listed names sharing enough words with `name` (a word may differ by one letter).

        Two shared words are needed, unless either name has a single word. The counting runs
        in C (set unions, Counter) because most candidates are dismissed right here.
        """
        counts: Counter[int] = Counter()
        index = self.index
        empty: list[int] = []
        for key in name.keys:
            probes = [index.get(key, empty), *(index.get(d, empty) for d in _deletions(key))]
            counts.update(set().union(*probes))
        if len(name.keys) < 2:
            return list(counts)
        single = self.single_word
        return [p for p, c in counts.items() if c >= 2 or p in single]

    def screen(self, subject: Subject) -> list[Match]:
        name = Name.of(subject.name)
        if not name.keys:
            return []
        found: dict[int, Match] = {}
        floor = self.threshold - 10
        for position in self._candidates(name):
            listed = self.names[position]
            base = name_score(name, listed.folded)
            if base < floor:
                continue
            adjustment, reasons = _rank(subject, listed)
            score = max(0, min(100, base + adjustment))
            # A strong name match is never dropped for a disagreeing date of birth or country
            # (those are often wrong or missing on the list); it is ranked lower for review.
            if score < self.threshold and base < self.threshold:
                continue
            previous = found.get(listed.ent_num)
            if previous is None or score > previous.score:
                found[listed.ent_num] = Match(subject, listed, base, score, (f"name {base}", *reasons))
        return sorted(found.values(), key=lambda m: -m.score)

    def screen_all(self, subjects: Sequence[Subject] | Iterable[Subject]) -> list[Match]:
        matches: list[Match] = []
        for subject in subjects:
            matches.extend(self.screen(subject))
        return matches
