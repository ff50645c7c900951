"""Quote search, the text side: folding, tokens, lemma keys, match expressions, typos, ranking.

Pure functions, no SQL and no Telegram; ``storage/quote_index.py`` runs them against SQLite FTS5.

**Index side.** Every quote becomes a *key text*: one group per word, groups joined by ``" | "``,
each group holding the word's folded surface form first, then every lemma pymorphy3 considers
for it (for an English word, its Snowball stem: ``rates`` and ``rate`` meet on ``rate``), then
sub-keys of symbol tokens (``<5%`` also as ``5%`` and ``5``). Python's sqlite3
cannot register an FTS5 tokenizer, so the folding happens here and FTS5 only splits on spaces
and ``|`` (the ``ascii`` tokenizer with the symbol characters kept as token characters).

The speaker's name is indexed with each of their quotes (a second FTS5 column), so
``Курамаев`` finds what Kuramaev said, and ``Курамаев Токаев`` his quotes that mention Tokayev.

**Query side.** The query is folded and tokenized the same way. A query word matches a quote
word when their key sets meet: ``Токаев`` → {токаев, токай} meets ``Токаева`` → {токаева, токаев}.
The last word, while being typed, also matches the archive's terms that start with it; a long
word the archive has never seen is replaced by its nearest known spellings. User text never
reaches FTS5 syntax: a match expression is built only from double-quoted keys, and a key holds
only letters, digits and ``& + < > ~ $ % .`` (see ``KEY_SYMBOLS``).

**Ranking** (``rank_key``): more query words matched, then phrase, then proximity, then how
directly they matched (form or lemma over a completion of the typed prefix or a typo fix), then
the newer piece; within a piece, the very forms typed, then stop words of the query, then the
more quotable sentence.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from typing import NamedTuple

from rapidfuzz.distance import OSA

from bot.domain.language import english_stem, lemma_candidates

# Bump when folding, tokens or keys change: the repository then rebuilds the index.
# 2: the speaker's name is indexed with every quote; distorted-spelling lemmas dropped.
# 3: English words carry their Snowball stem.
NORMALISER_VERSION = 3

GROUP_SEP = " | "
# Empty groups between a quote's words and its speaker's name in the text the matcher reads:
# a word of the quote and a word of the name are never "near" (see ``_proximity``).
SPEAKER_GAP = "| " * 32
MAX_QUERY_CHARS = 512  # Telegram sends at most 256 characters; anything longer is cut
MAX_QUERY_WORDS = 10
MAX_TOKEN_CHARS = 40
MIN_PREFIX_CHARS = 2
MAX_TYPO_CANDIDATES = 3
DEEP_PROBE_MAX = 12  # letters; longer words are probed with one-letter deletions only
STEM_TYPO_MIN = 10  # letters; shorter words are not guessed from their stem
STEM_ENDING = 3  # letters of the ending left out when comparing stems
# ASCII characters a key may hold besides letters and digits; the FTS5 tokenizer keeps them.
KEY_SYMBOLS = "&+<>~$%."

_STOPWORD_TEXT = """
    а без бы в во вот да для до же за и из или их к ко ли на над не ни но о об от по под при
    про с со то у уж уже что чтобы это как так его ее он она они оно мы вы я ты был была было
    были быть есть еще все весь который которая которое которые этот эта эти тот та те
    лишь только также тоже если когда где там тут здесь очень
    кто кого кому чем почему зачем куда откуда какой какая какое какие каких
    a an and are as at be by for from in is it of on or that the to was were with
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())  # folded forms

# Latin and Cyrillic letters that look alike (after case folding).
_CYR_LOOKALIKE = "авекмнорстухіјѕ"
_LAT_LOOKALIKE = "abekmhopctyxijs"
_TO_LATIN = str.maketrans(_CYR_LOOKALIKE, _LAT_LOOKALIKE)
_TO_CYRILLIC = str.maketrans(_LAT_LOOKALIKE[:12], _CYR_LOOKALIKE[:12])
_CYR_SET = frozenset(_CYR_LOOKALIKE)
_LAT_SET = frozenset(_LAT_LOOKALIKE[:12])

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufeff]")
# combining marks, except the breve of й
_MARKS = re.compile(r"(?<![иИ])\u0306|[\u0300-\u0305\u0307-\u036f\u1ab0-\u1aff\u1dc0-\u1dff]")
_DASHES = re.compile(r"[\u2010-\u2015\u2212\u00ad]")
_SPACE_BEFORE_PERCENT = re.compile(r"(?<=\d)\s+%")
_ALNUM = r"[^\W_]"
_TOKEN = re.compile(
    rf"(?P<pre>[<>≤≥~±$€£₽]?)(?P<core>{_ALNUM}+(?:[&+.,]{_ALNUM}+)*)(?P<post>\+{{1,2}}|%)?"
)
_DOT_OUTSIDE_NUMBER = re.compile(r"(?<!\d)[.,]|[.,](?!\d)")
_JOINER = re.compile(r"[&+]")
_RUSSIAN = re.compile(r"[а-я]+")
_ENGLISH = re.compile(r"[a-z]{3,}")
_LETTERS_ONLY = re.compile(r"[^\W\d_]+")
_SYMBOL_MAP = str.maketrans({"≤": "<", "≥": ">", "±": "~", "€": "$", "£": "$", "₽": "$", ",": "."})


# -- folding and tokens ----------------------------------------------------------------------


def clean(text: str) -> str:
    """Text with control characters, NUL, BOMs and lone surrogates replaced by spaces."""
    return _CONTROL.sub(" ", text)


def fold(text: str) -> str:
    """Compatibility-normalised, case-folded text without diacritics; ``ё`` → ``е``, ``й`` kept."""
    text = unicodedata.normalize("NFKD", clean(text))
    text = _MARKS.sub("", text)
    text = unicodedata.normalize("NFC", text).casefold()
    return _DASHES.sub("-", text)


def _fix_lookalikes(token: str, *, code: bool) -> str:
    """Map Latin/Cyrillic look-alike letters of a mixed token onto one script.

    Codes (tokens with digits or symbols: ``С5+1``, ``СО2``) go to Latin when every Cyrillic
    letter has a Latin twin; words mixing both scripts go to the script of most letters.
    """
    cyr = [c for c in token if "а" <= c <= "я" or c in "іјѕ"]
    lat = [c for c in token if "a" <= c <= "z"]
    if not cyr:
        return token
    if not lat and not code:
        return token
    cyr_ok = all(c in _CYR_SET for c in cyr)
    lat_ok = all(c in _LAT_SET for c in lat)
    if code and cyr_ok:
        return token.translate(_TO_LATIN)
    if len(cyr) >= len(lat) and lat_ok:
        return token.translate(_TO_CYRILLIC)
    if cyr_ok:
        return token.translate(_TO_LATIN)
    return token


def _split_core(core: str) -> list[str]:
    """A token core split where dots and commas are not decimal marks, and at ``&``/``+`` that
    join two ordinary words (``R&D`` and ``C5+1`` stay whole, ``Россия+Китай`` splits)."""
    parts = [p for p in _DOT_OUTSIDE_NUMBER.split(core) if p]
    out: list[str] = []
    for part in parts:
        pieces = _JOINER.split(part)
        if len(pieces) > 1 and all(len(p) > 2 and not any(c.isdigit() for c in p) for p in pieces):
            out.extend(pieces)
        else:
            out.append(part)
    return out


@dataclass(frozen=True, slots=True)
class Token:
    form: str  # folded surface form
    subkeys: tuple[str, ...] = ()  # other spellings it should be found by (index side)
    end: int = 0  # offset in the folded text just after the token


def tokens(text: str) -> list[Token]:
    """Folded word tokens of a text, symbols that matter kept (``co2``, ``r&d``, ``<5%``)."""
    folded = _SPACE_BEFORE_PERCENT.sub("%", fold(text))
    out: list[Token] = []
    for match in _TOKEN.finditer(folded):
        pre, core, post = match.group("pre"), match.group("core"), match.group("post") or ""
        parts = _split_core(core)
        for i, part in enumerate(parts):
            first, last = i == 0, i == len(parts) - 1
            digits = part[:1].isdigit()
            head = pre if first and digits else ""
            tail = post if last and (post != "%" or part[-1:].isdigit()) else ""
            out.append(_make_token(head, part, tail, match.end() if last else 0))
    return out


def _make_token(pre: str, core: str, post: str, end: int) -> Token:
    code = bool(pre or post) or any(c.isdigit() for c in core) or bool(_JOINER.search(core))
    core = _fix_lookalikes(core, code=code).translate(_SYMBOL_MAP)[:MAX_TOKEN_CHARS]
    pre, post = pre.translate(_SYMBOL_MAP), post.translate(_SYMBOL_MAP)
    form = pre + core + post
    subs: list[str] = []
    if pre:
        subs.append(core + post)
    if post:
        subs.append(core)
    pieces = _JOINER.split(core)
    if len(pieces) > 1:
        subs.extend(p for p in pieces if len(p) >= 2)
    subs = [s for s in dict.fromkeys(subs) if s and s != form and (len(s) >= 2 or s.isdigit())]
    return Token(form, tuple(subs), end)


@lru_cache(maxsize=50_000)
def lemma_keys(form: str) -> tuple[str, ...]:
    """Every lemma a Russian word form may have, or the stem of an English one (none for stop
    words, codes and words in other scripts)."""
    if len(form) < 2 or form in STOPWORDS:
        return ()
    if _ENGLISH.fullmatch(form):
        stem = english_stem(form)
        return (stem,) if stem != form and len(stem) >= 2 else ()
    if not _RUSSIAN.fullmatch(form):
        return ()
    return tuple(lem for lem in lemma_candidates(form) if lem != form and lem.isalnum())


def token_keys(token: Token) -> tuple[str, ...]:
    """The index keys of one word: its form first, then lemmas and sub-keys."""
    return tuple(dict.fromkeys((token.form, *lemma_keys(token.form), *token.subkeys)))


def key_text(text: str) -> str:
    """The shadow text FTS5 indexes for a quote (see the module docstring)."""
    return GROUP_SEP.join(" ".join(token_keys(t)) for t in tokens(text))


def key_groups(keys: str) -> list[list[str]]:
    """A key text split back into its words' key lists."""
    return [group.split(" ") for group in keys.split(GROUP_SEP)] if keys else []


def quote_term(key: str) -> str:
    """An FTS5 string literal (keys never hold a double quote; doubled anyway)."""
    return '"' + key.replace('"', '""') + '"'


# -- queries ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryWord:
    form: str
    keys: tuple[str, ...]  # exact alternatives: the form and its lemmas
    position: int  # index among the query's words
    prefix: bool  # the word being typed: also matches longer terms
    optional: bool  # a stop word: helps ranking, not required

    @property
    def typo_distance(self) -> int:
        return max_typo_distance(self.form)


@lru_cache(maxsize=4096)
def parse_query(text: str) -> tuple[QueryWord, ...]:
    """The words of a query. The last word is a prefix unless the text ends with a space or a
    punctuation mark. Stop words are optional unless the query has nothing else."""
    text = clean(text[:MAX_QUERY_CHARS])
    found = tokens(text)[:MAX_QUERY_WORDS]
    if not found:
        return ()
    folded_len = len(_SPACE_BEFORE_PERCENT.sub("%", fold(text)))
    typing = found[-1].end == folded_len
    only_stop = all(t.form in STOPWORDS for t in found)
    words = []
    for i, token in enumerate(found):
        is_last = i == len(found) - 1
        words.append(
            QueryWord(
                form=token.form,
                keys=tuple(dict.fromkeys((token.form, *lemma_keys(token.form)))),
                position=i,
                prefix=is_last and typing and len(token.form) >= MIN_PREFIX_CHARS,
                optional=token.form in STOPWORDS and not only_stop,
            )
        )
    return tuple(words)


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """A half-open range of terms that start with ``prefix`` (for a B-tree range scan)."""
    return prefix, prefix + "\U0010ffff"


# -- typos -----------------------------------------------------------------------------------


def max_typo_distance(form: str) -> int:
    """Edits tolerated in a word: none below 5 letters, 1 up to 7, 2 from 8; words only."""
    if not _LETTERS_ONLY.fullmatch(form) or len(form) < 5:
        return 0
    return 1 if len(form) < 8 else 2


def _deletes(term: str, depth: int) -> set[str]:
    found = {term}
    frontier = {term}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def fuzzy_keys(term: str) -> list[str]:
    """Index side of typo lookup: the term and its one-letter deletions (SymSpell style)."""
    if not _LETTERS_ONLY.fullmatch(term) or not 4 <= len(term) <= 30:
        return []
    return sorted(_deletes(term, 1))


def typo_probe_keys(form: str) -> list[str]:
    """Query side: deletions of the typed word, as many as the word's typo distance (one for
    words over ``DEEP_PROBE_MAX`` letters: two would be hundreds of look-ups, and their second
    edit is found by the scan over terms sharing their first letters).

    A term within one edit shares a key with the word (deletion, insertion, substitution and
    transposition); within two, most do (two substitutions do not)."""
    distance = max_typo_distance(form)
    if len(form) > DEEP_PROBE_MAX:
        distance = min(distance, 1)
    return sorted(_deletes(form, distance)) if distance else []


def pick_typos(
    form: str, candidates: Iterable[tuple[str, int]], limit: int = MAX_TYPO_CANDIDATES
) -> list[str]:
    """The archive's spellings nearest to ``form``: fewest edits, then most frequent. A long
    word with nothing within its edit distance is compared without its last letters (Russian
    endings are often misspelt as heard: "-ава" for "-ого"); the lemmas of a fix then bring in
    every form of the word."""
    distance = max_typo_distance(form)
    pool = set(candidates)
    scored = []
    for term, freq in pool:
        if term == form:
            continue
        d = OSA.distance(form, term, score_cutoff=distance)
        if d <= distance:
            scored.append((d, -freq, term))
    if not scored and len(form) >= STEM_TYPO_MIN:
        # a long word misspelt also in its ending ("дипламатическава"): compare the stems
        stem = form[:-STEM_ENDING]
        cutoff = max_typo_distance(stem)
        for term, freq in pool:
            if len(term) >= len(stem):
                d = OSA.distance(stem, term[: len(stem)], score_cutoff=cutoff)
                if d <= cutoff:
                    scored.append((distance + d, -freq, term))
    scored.sort()
    if not scored:
        return []
    best = scored[0][0]  # only the closest tier: no flood of two-edit guesses
    return [term for d, _freq, term in scored if d == best][:limit]


# -- match expressions -----------------------------------------------------------------------


def any_of(keys: Iterable[str]) -> str:
    return "(" + " OR ".join(quote_term(k) for k in keys) + ")"


def coverage_stages(alternatives: Sequence[Sequence[str]], max_clauses: int = 10) -> list[str]:
    """FTS5 expressions for "all words", then "all but one", ... down to "any word".

    ``alternatives`` holds each required word's keys. A stage whose combinations would exceed
    ``max_clauses`` is folded into the final "any word" stage."""
    alive = [any_of(alts) for alts in alternatives if alts]
    if not alive:
        return []
    stages = []
    n = len(alive)
    for size in range(n, 0, -1):
        if size == 1:
            stages.append(" OR ".join(alive))
            break
        combos = list(combinations(alive, size))
        if len(combos) > max_clauses:
            stages.append(" OR ".join(alive))
            break
        stages.append(" OR ".join("(" + " AND ".join(c) + ")" for c in combos))
    return stages


# Candidates asked of FTS5 per stage (the newest matches; ranking happens on them in Python).
PHRASE_CANDIDATES = 150  # all words of a multi-word query: phrase and proximity need a choice
LATER_CANDIDATES = 80  # each later stage (all but one word, ...)
TIE_SLACK = 20  # beyond the page, so the oldest piece on it is ranked with all its matches


def candidate_stages(plan: Plan, wanted: int) -> list[tuple[str, int]]:
    """FTS5 expressions with how many of their newest matches to rank, in order; a stage runs
    only while the ones before it found fewer than ``wanted`` quotes.

    One word (the common case, a word being typed): its forms and lemmas first, then the
    completions of the typed prefix or typo fixes. Ranking puts direct matches before those
    and the newer piece first, so the newest ``wanted`` of each suffice. Several words: all,
    then all but one, ... (``coverage_stages``), each with a wider choice for proximity."""
    required = plan.required
    if len(required) == 1:
        i = required[0]
        direct = sorted(plan.strong[i])
        other = sorted(plan.weak[i] - plan.strong[i])
        return [(any_of(keys), wanted + TIE_SLACK) for keys in (direct, other) if keys]
    expressions = coverage_stages([plan.alternatives(i) for i in required])
    return [
        (expr, max(PHRASE_CANDIDATES if n == 0 else LATER_CANDIDATES, wanted + TIE_SLACK))
        for n, expr in enumerate(expressions)
    ]


# -- ranking ---------------------------------------------------------------------------------

STRONG, WEAK = 2, 1


@dataclass(frozen=True, slots=True)
class Plan:
    """A query resolved against the archive's vocabulary."""

    words: tuple[QueryWord, ...]
    strong: tuple[frozenset[str], ...]  # per word: form and lemmas
    weak: tuple[frozenset[str], ...]  # per word: completions of the typed prefix, typo fixes

    required: tuple[int, ...] = field(init=False)  # indexes of the words that must match
    optional: tuple[int, ...] = field(init=False)  # stop words: only help ranking

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "required", tuple(i for i, w in enumerate(self.words) if not w.optional)
        )
        object.__setattr__(
            self, "optional", tuple(i for i, w in enumerate(self.words) if w.optional)
        )

    def alternatives(self, index: int) -> list[str]:
        return sorted(self.strong[index] | self.weak[index])

    def lookup(self) -> dict[str, list[tuple[int, int]]]:
        """key → [(word index, strength)]"""
        table: dict[str, list[tuple[int, int]]] = {}
        for i in range(len(self.words)):
            for key in self.strong[i]:
                table.setdefault(key, []).append((i, STRONG))
            for key in self.weak[i] - self.strong[i]:
                table.setdefault(key, []).append((i, WEAK))
        return table


class Relevance(NamedTuple):
    coverage: int  # required words matched
    proximity: int  # 3 phrase, 2 near, 1 same stretch, 0 scattered or one word
    strength: int  # sum of the best strength of each matched word
    exact: int  # matched words found in the very form typed
    optional: int  # stop words of the query found too


NO_MATCH = Relevance(0, 0, 0, 0, 0)


class Matcher:
    """Scores key texts against a plan with C-level string operations: which keys occur (a
    substring test per key, or one split when the plan has many keys), then — only when two or
    more words matched — their word positions (``|`` separators counted before each hit)."""

    SPLIT_ABOVE = 12  # keys; beyond this one split and a set intersection are cheaper

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.table = plan.lookup()
        self.needles = [(key, f" {key} ") for key in self.table]
        self.keyset = frozenset(self.table)
        self.forms = [f"| {w.form} " for w in plan.words]

    def relevance(self, keys: str, speaker: str = "") -> Relevance:
        """How well a quote (its key text, and its speaker's name as a key text) matches."""
        plan, table = self.plan, self.table
        padded = f"| {keys} {SPEAKER_GAP}{speaker} |" if speaker else f"| {keys} |"
        if len(self.needles) > self.SPLIT_ABOVE:
            hits = list(self.keyset.intersection(padded.split(" ")))
        else:
            hits = [key for key, needle in self.needles if needle in padded]
        if not hits:
            return NO_MATCH
        n = len(plan.words)
        best = [0] * n
        for key in hits:
            for word, strength in table[key]:
                if strength > best[word]:
                    best[word] = strength
        matched = [i for i in plan.required if best[i]]
        proximity = 0
        if len(matched) > 1:
            positions: list[list[int]] = [[] for _ in range(n)]
            for key in hits:
                needle = f" {key} "
                found: list[int] = []
                at = padded.find(needle)
                while at >= 0 and len(found) < 8:
                    found.append(padded.count("|", 0, at + 1) - 1)
                    at = padded.find(needle, at + 1)
                for word, _strength in table[key]:
                    positions[word].extend(found)
            for word_positions in positions:
                word_positions.sort()
            proximity = _proximity(plan, matched, positions, keys.count(GROUP_SEP) + 1)
        forms = self.forms
        return Relevance(
            len(matched),
            proximity,
            sum(best[i] for i in matched),
            sum(1 for i in matched if forms[i] in padded),
            sum(1 for i in plan.optional if best[i]),
        )


def _proximity(
    plan: Plan, matched: list[int], positions: list[list[int]], speaker_from: int = 1 << 30
) -> int:
    """3 phrase, 2 near, 1 same stretch, 0 scattered. Positions from ``speaker_from`` on are
    the speaker's name: words found only there say who said it, so the quote's own words are
    judged among themselves ("Петров маршрут": Petrov's sentence about a route is as good as
    the phrase, better than someone else's sentence naming Petrov near a route)."""
    words = plan.words
    if len(matched) < 2:
        return 0
    in_text = [i for i in matched if positions[i] and positions[i][0] < speaker_from]
    if 0 < len(in_text) < len(matched):
        if len(in_text) == 1:
            return 3
        text_positions = [[p for p in ps if p < speaker_from] for ps in positions]
        return _proximity(plan, in_text, text_positions)
    query_span = words[matched[-1]].position - words[matched[0]].position
    if len(matched) == 2:  # the common case, without the general window search
        first, second = positions[matched[0]], positions[matched[1]]
        span = 1 << 30
        for a in first:
            for b in second:
                if b - a == query_span:
                    return 3
                span = min(span, abs(b - a))
    else:
        head = matched[0]
        # phrase: every matched word at its query offset from the first one
        for start in positions[head]:
            base = start - words[head].position
            if all(base + words[i].position in positions[i] for i in matched[1:]):
                return 3
        span = _min_span([positions[i] for i in matched])
    if span <= query_span + 3:
        return 2
    if span <= query_span + 12:
        return 1
    return 0


def _min_span(lists: list[list[int]]) -> int:
    """The shortest window holding one position from each list."""
    events = sorted((p, i) for i, ps in enumerate(lists) for p in ps[:16])
    need = len(lists)
    counts = [0] * need
    have = 0
    best = 1 << 30
    left = 0
    for pos, i in events:
        if counts[i] == 0:
            have += 1
        counts[i] += 1
        while have == need:
            lpos, li = events[left]
            best = min(best, pos - lpos)
            counts[li] -= 1
            if counts[li] == 0:
                have -= 1
            left += 1
    return best


def rank_key(
    rel: Relevance, age: int, quality: float, quote_id: int, context: int = 0
) -> tuple[int, int, int, int, int, int, int, float, int]:
    """Sort key, ascending = best first. ``age`` ranks the piece's publication among the
    candidates' (0 = newest); ``context`` is how many query words the quote's whole answer
    matches (a reader recalls the answer, not always the one sentence)."""
    return (
        -rel.coverage,
        -context,
        -rel.proximity,
        -rel.strength,
        age,
        -rel.exact,
        -rel.optional,
        -quality,
        -quote_id,
    )


# -- quotability (empty query, ties) ---------------------------------------------------------


def quotability(key_texts: Sequence[str], texts: Sequence[str]) -> list[float]:
    """How well each sentence of a piece stands alone as a quote, in [0, 1]-ish.

    Central sentences (whose content lemmas recur across the piece) of a readable length
    (10 to 30 words) score highest; questions and fragments score low."""
    groups = [key_groups(k) for k in key_texts]
    content = [[_content_lemma(g) for g in gs] for gs in groups]
    freq: Counter[str] = Counter()
    for lemmas in content:
        freq.update({lemma for lemma in lemmas if lemma})
    scores = []
    for lemmas, text in zip(content, texts, strict=True):
        words = [lemma for lemma in lemmas if lemma]
        n = len(lemmas)
        if not words:
            scores.append(0.0)
            continue
        centrality = sum(math.log1p(freq[w] - 1) for w in set(words)) / (len(set(words)) + 3)
        if n < 10:
            shape = n / 10
        elif n > 30:
            shape = 30 / n
        else:
            shape = 1.0
        if text.rstrip().endswith("?"):
            shape *= 0.3
        scores.append(round(centrality * shape, 6))
    return scores


def _content_lemma(group: list[str]) -> str:
    form = group[0]
    if form in STOPWORDS or len(form) < 3 or not _LETTERS_ONLY.fullmatch(form):
        return ""
    return group[1] if len(group) > 1 else form
