"""Russian-aware text tools shared by ingest, summaries and search.

razdel splits sentences and words knowing Russian abbreviations and initials; pymorphy3 gives
lemmas. The analyzer is loaded once, lazily (about 0.1 s and 15 MB), and lemma lookups are cached.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING

from razdel import sentenize, tokenize

if TYPE_CHECKING:
    from pymorphy3 import MorphAnalyzer


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, as written (no normalisation)."""
    return [s.text for s in sentenize(text) if s.text.strip()]


def words(text: str) -> list[str]:
    """Word tokens of a text (letters and digits; punctuation dropped)."""
    return [t.text for t in tokenize(text) if any(ch.isalnum() for ch in t.text)]


@cache
def morph() -> MorphAnalyzer:
    from pymorphy3 import MorphAnalyzer

    return MorphAnalyzer(lang="ru")


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The most likely lemma of a word, lower-cased, ``ё`` folded to ``е``."""
    low = word.lower().replace("ё", "е")
    if not any("а" <= ch <= "я" for ch in low):
        return low
    return morph().parse(low)[0].normal_form.replace("ё", "е")


# pymorphy3 grammemes of readings that are misspellings of another word (Dist: distorted form,
# Erro: typo), not the word itself
_UNRELIABLE = frozenset({"Dist", "Erro"})


@lru_cache(maxsize=200_000)
def lemma_candidates(word: str) -> tuple[str, ...]:
    """Every lemma pymorphy3 considers for a word (the top one first), folded like ``lemma``;
    readings marked as distorted or erroneous spellings are left out."""
    low = word.lower().replace("ё", "е")
    if not any("а" <= ch <= "я" for ch in low):
        return (low,)
    parses = morph().parse(low)
    # "тока" is also a distorted spelling of "только": such readings would match unrelated words
    kept = [p for p in parses if not _UNRELIABLE & p.tag.grammemes] or parses[:1]
    seen: dict[str, None] = {}
    for parse in kept:
        seen.setdefault(parse.normal_form.replace("ё", "е"), None)
    return tuple(seen)
