"""Russian-aware text tools shared by ingest, summaries, search and views (one ``shorten``).

razdel splits sentences and words knowing Russian abbreviations and initials (English text gets
its titles, initials and "e.g." joined back, see ``split_sentences``); pymorphy3 gives Russian
lemmas, Snowball (PyStemmer) English stems. The analyzer is loaded once, lazily (about 0.1 s and
15 MB), and lemma lookups are cached.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from razdel import sentenize, tokenize

if TYPE_CHECKING:
    from pymorphy3 import MorphAnalyzer


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, as written (no normalisation). In English text a sentence that
    razdel ended after a title or an initial ("Prof. A. B. Smith", "e.g. Apple", "Jan. 5") goes
    on into the next one."""
    sentences = [s.text for s in sentenize(text) if s.text.strip()]
    if len(sentences) < 2 or not is_english(text):
        return sentences
    joined = [sentences[0]]
    for sentence in sentences[1:]:
        if _TITLE_END.search(joined[-1]) or (
            _BEFORE_NUMBER_END.search(joined[-1]) and sentence[:1].isdigit()
        ):
            joined[-1] = f"{joined[-1]} {sentence}"
        else:
            joined.append(sentence)
    return joined


# English abbreviations a sentence does not end with: titles before a name and "e.g."-like
# connectives; months and "No." when a number follows ("Jan. 5", "No. 7").
_TITLE_END = re.compile(
    r"(?<![\w.])(?:Mr|Mrs|Ms|Dr|Prof|St|Sen|Rep|Gov|Gen|Col|Lt|Sgt|Capt|Rev|Hon|Mt|vs|e\.g|i\.e"
    r"|cf|approx)\.\Z",
    re.IGNORECASE,
)
_BEFORE_NUMBER_END = re.compile(
    r"(?<![\w.])(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|No|Nos|pp?)\.\Z"
)


def is_english(text: str) -> bool:
    """Whether a text is written in English: more words in Latin letters than in Cyrillic ones
    (a Russian sentence naming ExxonMobil and Chevron stays Russian)."""
    latin = len(_LATIN_WORD.findall(text))
    return latin > 0 and latin > len(_CYRILLIC_WORD.findall(text))


_LATIN_WORD = re.compile(r"\b[A-Za-z][A-Za-z'’-]*")
_CYRILLIC_WORD = re.compile(r"\b[А-Яа-яЁё][А-Яа-яЁё-]*")


def quote_marks(text: str) -> tuple[str, str]:
    """The quotation marks a quote of ``text`` is set in: “…” for English, «…» for Russian."""
    return ("\u201c", "\u201d") if is_english(text) else ("«", "»")


def words(text: str) -> list[str]:
    """Word tokens of a text (letters and digits; punctuation dropped)."""
    return [t.text for t in tokenize(text) if any(ch.isalnum() for ch in t.text)]


@cache
def morph() -> MorphAnalyzer:
    from pymorphy3 import MorphAnalyzer

    return MorphAnalyzer(lang="ru")


# fmt: off
_STOPWORDS_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these they
this those through to too under until up very was we were what when where which while who whom
why will with would you your yours yourself yourselves yes well still very much many really
"""
# fmt: on
ENGLISH_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The most likely lemma of a word, lower-cased, ``ё`` folded to ``е``."""
    low = word.lower().replace("ё", "е")
    if not any("а" <= ch <= "я" for ch in low):
        return low
    normal: str = morph().parse(low)[0].normal_form
    return normal.replace("ё", "е")


@cache
def _english_stemmer() -> Any:
    import Stemmer  # PyStemmer: Snowball's C stemmers

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def english_stem(word: str) -> str:
    """The Snowball (Porter2) stem of an English word, lower-cased: ``rates`` → ``rate``,
    ``running`` → ``run``, ``investments`` → ``invest``."""
    return str(_english_stemmer().stemWord(word.lower()))


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


# -- shortening ---------------------------------------------------------------------------------

_CLAUSE_BREAKS = (", ", "; ", ": ", " — ", " – ", " - ")
_PAIRS = (("«", "»"), ("(", ")"), ("„", "“"))
_DANGLING_POS = frozenset({"PREP", "CONJ", "PRCL"})


def shorten(text: str, limit: int, *, at_clause: bool = False) -> str:
    """``text`` on one line in at most ``limit`` characters, cut with "…" when longer.

    The cut falls at a word boundary in the second half; with ``at_clause`` (gists) it prefers
    the end of a clause that does not leave a dependent clause hanging, and trims an unclosed
    quote or bracket and dangling function words."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    window = text[: limit - 1]
    space = window.rfind(" ")
    if not at_clause:
        return (window[:space] if space > limit // 2 else window).rstrip(' ,;:—–-(«"') + "…"
    cut = _clause_cut(window, int(limit * 0.45))
    if cut is None:
        cut = window[:space] if space > 0 else window
    cut = _trim_tail(cut)
    return (cut or window.rstrip()) + "…"


_BREAK = re.compile("|".join(re.escape(mark) for mark in _CLAUSE_BREAKS))
# A clause opening with one of these needs the clause after it: "…, и если X, [мы сделаем Y]".
_DEPENDENT = re.compile(
    r"^(?:(?:и|а|но)\s+)?(?:если|когда|чтобы|хотя|пока|потому что|так как|поскольку|"
    r"как только|после того как|прежде чем|несмотря на то)\b",
    re.IGNORECASE,
)


def _clause_cut(window: str, minimum: int) -> str | None:
    """The longest prefix ending at a clause boundary that does not end on a dependent clause."""
    breaks = [m.start() for m in _BREAK.finditer(window)]
    for position, end in reversed(list(enumerate(breaks))):
        if end < minimum:
            return None
        start = breaks[position - 1] if position else 0
        clause = _BREAK.sub("", window[start:end], count=1) if position else window[:end]
        if not _DEPENDENT.match(clause.strip()):
            return window[:end]
    return None


def _trim_tail(cut: str) -> str:
    """Drop an unclosed quote or bracket, trailing punctuation and dangling function words."""
    for _ in range(20):
        before = cut
        for open_mark, close_mark in _PAIRS:
            if cut.count(open_mark) > cut.count(close_mark):
                cut = cut[: cut.rfind(open_mark)]
        cut = cut.rstrip(' ,;:—–-"«„(')
        last = cut.rsplit(" ", 1)
        if len(last) == 2 and _is_dangling(last[1]):
            cut = last[0]
        if cut == before:
            break
    return cut


def _is_dangling(word: str) -> bool:
    low = word.lower()
    if not low.isalpha():
        return False
    return morph().tag(low)[0].POS in _DANGLING_POS or low in {"который", "которые", "которая"}
