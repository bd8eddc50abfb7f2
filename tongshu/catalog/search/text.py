"""Text normalization and the tokens of the catalog search index.

Chinese has no spaces between words and catalog terms are often two characters (人口, 户籍, 医保), which a trigram
index cannot find. The index therefore holds, for every run of non-ASCII letters, its character bigrams and single
characters; for every run of ASCII letters and digits, its prefixes (so `gb` finds `GB/T 2260`, `0001` finds a code
sequence starting with it). A query term is looked up by the same tokens, then confirmed as a substring of the
normalized field text, so a match is always a real substring and never a coincidence of scattered bigrams.

Normalization (both sides): NFKC (full-width letters and digits become ASCII), lower case, and every run of characters
that are neither letters nor digits becomes one space.
"""

from __future__ import annotations

import re
import unicodedata

# ASCII prefixes are indexed up to this length; a longer ASCII word is looked up by its first MAX_PREFIX characters and
# confirmed as a substring.
MAX_PREFIX = 16
# A query longer than this, or with more terms, is refused (it would only be slower, never more useful).
MAX_QUERY_LENGTH = 100
MAX_TERMS = 8

# The fields of a search document, as bits of a posting's mask, with their relevance weights (highest first).
FIELD_BITS = {
    "name_text": 1,
    "code_text": 2,
    "keywords_text": 4,
    "items_text": 8,
    "provider_text": 16,
    "summary_text": 32,
}
NAME_START_BIT = 64  # the name starts with this token
FIELD_WEIGHTS = {
    "name_text": 10,
    "code_text": 8,
    "keywords_text": 5,
    "items_text": 4,
    "provider_text": 3,
    "summary_text": 2,
}
NAME_START_BONUS = 6
ALL_FIELDS = sum(FIELD_BITS.values())


def mask_score(mask: int) -> int:
    """Relevance of a term found in the fields of `mask` (see FIELD_WEIGHTS)."""
    score = sum(weight for column, weight in FIELD_WEIGHTS.items() if mask & FIELD_BITS[column])
    return score + (NAME_START_BONUS if mask & NAME_START_BIT else 0)


MASK_SCORES = [mask_score(mask) for mask in range(128)]

_NON_WORD = re.compile(r"[\W_]+")
# Within a query term, code joiners between two letters/digits keep the parts together as one phrase: 101/0001.
_JOINED = re.compile(r"(?<=[^\W_])[/\-.·](?=[^\W_])")
_NON_WORD_EXCEPT_GLUE = re.compile(r"[^\w\x00]+|_+")
_RUNS = re.compile(r"[a-z0-9]+|[^\sa-z0-9]+")


def normalize(text: str) -> str:
    """NFKC + lower case; each run of non-word characters becomes one space."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _NON_WORD.sub(" ", text).strip()


def query_terms(query: str) -> list[str]:
    """The terms of a query, each a normalized phrase that must occur somewhere in a resource's text.

    Terms are separated by spaces or punctuation, except that `/`, `-`, `.` between letters or digits glue the parts
    into one phrase (a code like `101/0001` is one term, matched as `101 0001`).
    """
    text = _JOINED.sub("\x00", unicodedata.normalize("NFKC", query or "").lower())
    terms: list[str] = []
    for chunk in _NON_WORD_EXCEPT_GLUE.split(text):
        term = " ".join(part for part in chunk.split("\x00") if part)
        if term and term not in terms:
            terms.append(term)
    return terms


def _runs(word: str) -> list[str]:
    return _RUNS.findall(word)


def _is_ascii(run: str) -> bool:
    return run.isascii()


def text_tokens(normalized: str) -> set[str]:
    """Every token of a normalized text, for the postings of one document."""
    tokens: set[str] = set()
    for word in normalized.split():
        for run in _runs(word):
            if _is_ascii(run):
                for end in range(1, min(len(run), MAX_PREFIX) + 1):
                    tokens.add(run[:end])
            else:
                tokens.update(run)
                tokens.update(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


def start_tokens(normalized: str) -> set[str]:
    """The tokens a text starts with (for NAME_START_BIT)."""
    words = normalized.split(maxsplit=1)
    if not words:
        return set()
    run = _runs(words[0])[0]
    if _is_ascii(run):
        return {run[:end] for end in range(1, min(len(run), MAX_PREFIX) + 1)}
    return {run[:1], run[:2]} if len(run) > 1 else {run}


def term_tokens(term: str) -> list[str]:
    """The tokens a document must hold to contain `term` (all of them; the substring check does the rest)."""
    tokens: list[str] = []
    for word in term.split():
        for run in _runs(word):
            if _is_ascii(run):
                candidates = [run[:MAX_PREFIX]]
            elif len(run) == 1:
                candidates = [run]
            else:
                candidates = [run[i : i + 2] for i in range(len(run) - 1)]
            tokens.extend(token for token in candidates if token not in tokens)
    return tokens


def is_exact(term: str) -> bool:
    """Whether holding the term's single token means containing the term (no substring check needed)."""
    return term_tokens(term) == [term]


def bigrams(text: str) -> set[str]:
    """Character bigrams of a normalized text (spaces excluded), for similarity; single characters if shorter."""
    compact = normalize(text).replace(" ", "")
    if len(compact) < 2:
        return {compact} if compact else set()
    return {compact[i : i + 2] for i in range(len(compact) - 1)}


def dice(a: set[str], b: set[str]) -> float:
    """Sørensen–Dice coefficient of two sets (1.0 for identical, 0.0 for disjoint or empty)."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))
