"""Offline, Russian-aware extractive summaries of interviews.

Method (the evidence is in docs/summaries.md):

1. Sentences come from razdel (``split_sentences``), each tagged with its place in the piece:
   lead, question, answer or closing. Credits never enter.
2. Each sentence becomes a tf-idf vector of content lemmas (pymorphy3; prepositions, pronouns,
   particles and the like dropped; idf over the piece's own sentences).
3. Centrality is continuous LexRank: PageRank over cosine similarities. The similarity matrix is
   never built: with unit rows ``X``, ``S = X·Xᵀ``, so one power step costs two sparse passes,
   ``O(non-zeros)`` — linear in the length of the piece.
4. Priors that readers of interviews expect: the lead's first sentence opens the summary (the
   news) and the answers get most of the rest (what the expert said); questions, headings and
   credits are never chosen; sentences carrying little (``Это очень важное событие.``), leaning
   on the previous one (``Поэтому…``) or announcing the talk (``X рассказал, почему…``) are
   held back.
   Relevance is centrality, how much the headline and the lead point to the sentence (on the
   scale of the most pointed one) and its facts (``readable.information``), 0.35/0.30/0.35;
   the opening is the lead's most informative statement, the lead's other factual statements
   after it are seeded, a "То есть…" restatement weighs less.
5. Selection is MMR (relevance minus redundancy with what is already chosen), at most one
   sentence per answer while there are turns to spare, within a sentence and character budget,
   then put back in document order. Sentences are returned whole, exactly as written.

A gist is the most central sentence of an answer that is also close to its question, shortened
at a clause or word boundary with "…" when it is long.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from bot.domain.furniture import is_credit
from bot.domain.language import (
    ENGLISH_STOPWORDS,
    english_stem,
    morph,
    shorten,
    split_sentences,
    words,
)
from bot.domain.models import Interview, Summary, Turn
from bot.domain.readable import (
    Kind,
    answers_kind,
    depends,
    information,
    money,
    question_kinds,
    repair,
)

Section = Literal["lead", "question", "answer", "closing"]

SUMMARY_MAX_CHARS = 800
SUMMARY_MAX_SENTENCES = 5
SUMMARY_MIN_SENTENCES = 3
SHORT_MAX_CHARS = 400
LONG_MAX_SENTENCES = 8
LONG_MAX_CHARS = 1800
GIST_MAX_CHARS = 160
MAX_SENTENCE_CHARS = 400  # longer ones do not fit a summary of a few sentences
MIN_TERMS = 3  # fewer content words than this is not a statement worth quoting
MAX_POOL = 200  # candidates MMR looks at (the most relevant; bounds work on long pieces)
NEAR_DUPLICATE = 0.9  # cosine above which a sentence repeats one already chosen
FULL_TERMS = 7  # from this many content words a sentence is not penalised for being thin
INFO_FULL = 4.0  # information (readable.information) from which a sentence counts as full of facts


@dataclass(frozen=True, slots=True)
class Method:
    """Knobs of the method; the defaults are the shipped ones (other values for experiments)."""

    priors: bool = True  # lead first, thin/anaphoric sentences held back
    mmr: bool = True  # redundancy removal and one sentence per answer
    centrality: Literal["lexrank", "centroid"] = "lexrank"
    damping: float = 0.85
    mmr_lambda: float = 0.7
    anaphora_penalty: float = 0.6
    announcement_penalty: float = 0.5
    facts: bool = True  # figures, amounts, dates and names weigh in; the lead's topic too
    centrality_weight: float = 0.35
    topic_weight: float = 0.30  # similarity to the title and the lead (what the piece is about)
    facts_weight: float = 0.35
    answer_weight: float = 0.0  # an answer sentence that answers its own question
    factless_penalty: float = 0.0  # a sentence with no figure, date or name at all
    repair: bool = True  # leading connectives dropped, dependent sentences kept with their own
    restatement_penalty: float = 0.6  # "То есть…" restates the sentence before it
    pointed_scaled: bool = True  # headline/lead pointing on the scale of the most pointed one
    lead_seed: int = 2  # up to this many lead statements full of facts open the summary
    lead_seed_info: float = 0.5  # how full of facts (``informative``) a seeded lead sentence is


DEFAULT_METHOD = Method()


@dataclass(frozen=True, slots=True)
class Sentence:
    index: int  # document order
    text: str
    section: Section
    turn: int  # 1-based turn number, 0 outside turns
    terms: tuple[str, ...]  # content lemmas, in order, repeats kept
    paragraph: int = 0  # document order of its paragraph
    info: float = 0.0  # figures, amounts, dates, names (bot.domain.readable.information)
    readable: str = ""  # the text as shown alone: a leading connective dropped (repair)
    dependent: bool = False  # needs the sentence before it even when repaired ("Это…", "He…")


# -- words ---------------------------------------------------------------------------------------

_STOP_POS = frozenset({"PREP", "CONJ", "PRCL", "INTJ", "NPRO", "PRED"})
# fmt: off
_STOP_LEMMAS = frozenset({
    "быть", "это", "весь", "свой", "сам", "самый", "мочь", "очень", "так", "также", "тоже", "еще",
    "уже", "только", "даже", "вот", "там", "тут", "здесь", "сейчас", "теперь", "когда", "где",
    "как", "чем", "если", "то", "который", "какой", "ли", "же", "бы", "не", "ни", "да", "нет",
    "и", "а", "но", "или", "раз", "просто", "вообще", "конечно", "пожалуй",
})
# fmt: on


@lru_cache(maxsize=200_000)
def content_lemma(word: str) -> str | None:
    """The lemma of a word that carries meaning; ``None`` for function words and pronouns.

    One pymorphy3 analysis per distinct word form (the lemma is ``bot.domain.language.lemma``'s:
    the most likely parse's normal form, lower-cased, ``ё`` folded), the dominant cost on a long
    piece, hence the single parse and the cache.
    """
    low = word.lower().replace("ё", "е")
    if not any("а" <= ch <= "я" for ch in low):
        if low.isalpha() and low.isascii():  # English: stop words out, the rest stemmed
            return None if low in ENGLISH_STOPWORDS or len(low) < 2 else english_stem(low)
        return low if len(low) > 1 or low.isdigit() else None
    parse = morph().parse(low)[0]
    if parse.tag.POS in _STOP_POS or "Apro" in parse.tag:
        return None
    base = str(parse.normal_form).replace("ё", "е")
    if base in _STOP_LEMMAS or len(base) < 2:
        return None
    return base


def content_terms(text: str) -> tuple[str, ...]:
    return tuple(term for word in words(text) if (term := content_lemma(word)) is not None)


# -- sentences -----------------------------------------------------------------------------------

# First words that make a sentence lean on the one before it ("Поэтому…", "В этом контексте…").
_ANAPHORIC = re.compile(
    r"^(?:это|этот|эта|эти|этим|этого|этому|он|она|оно|они|его|ее|её|их|ему|ей|им|"
    r"тот|та|те|тем|того|такой|такая|такие|так|поэтому|потому|тут|здесь|там|тогда|"
    r"да|нет|но|а|и|или|кроме того|однако|также|тоже|вот|причем|притом|"
    r"(?:в|во|при|на|из-за|по|для|за|после|с|со|к|от|до|о|об|из|у) "
    r"(?:этом|этого|этой|этих|этим|этому|эту|это|том|тех|таком|такой|таких|нем|ней|них)"
    r"(?! (?:году|месяце|сезоне|квартале|неделе|веке|регионе|городе|области|стране)))\b",
    re.IGNORECASE,
)
# A lead sentence that announces the conversation ("X рассказал, почему…") says what will be
# discussed, not what was said.
_SPEECH_VERB = re.compile(
    r"\b(?:рассказ|объясн|ответил|отвечает|поделил|делится|обсудил|обсуждает|рассужда|размышля|"
    r"поговорил|говорили|spoke|talked|told us|explains|discusse)",
    re.IGNORECASE,
)
_ANNOUNCES = re.compile(
    r"(?:,\s*(?:почему|зачем|как|что|чем|чего|когда|где|куда|откуда|сколько|какие|какой|какая|"
    r"каким|каких|кто|во что|стоит ли|нужно ли|можно ли)\b|,\s*[а-яё]+\s+ли\b|\bwhether\b|"
    r"\bо том\b|\bна вопросы\b|\bв интервью\b|"
    r"^О\s|"
    r"\b(?:about|how|why|what)\b|\bо\s)",
    re.IGNORECASE,
)


def sentences_of(interview: Interview) -> list[Sentence]:
    """Every sentence of the piece in reading order, credits left out."""
    blocks: list[tuple[Section, int, tuple[str, ...]]] = [("lead", 0, interview.lead)]
    for turn in interview.turns:
        blocks.append(("question", turn.number, turn.question))
        blocks.append(("answer", turn.number, turn.answer))
    blocks.append(("closing", 0, interview.closing))
    result: list[Sentence] = []
    paragraph_number = 0
    for section, turn_number, paragraphs in blocks:
        for paragraph in paragraphs:
            paragraph_number += 1
            for text in split_sentences(paragraph):
                text = text.strip()
                if text:
                    sentence = Sentence(
                        len(result),
                        text,
                        section,
                        turn_number,
                        content_terms(text),
                        paragraph=paragraph_number,
                        info=information(text),
                        readable=repair(text),
                        dependent=depends(text),
                    )
                    result.append(sentence)
    return result


def is_question(text: str) -> bool:
    return "?" in text.rstrip()[-3:]


def is_heading(text: str) -> bool:
    """A line without a sentence end, as headings and rubrics are."""
    return not re.search(r"[.!…][»\"”)]*$", text.rstrip())


def is_candidate(
    sentence: Sentence, max_chars: int = MAX_SENTENCE_CHARS, min_terms: int = MIN_TERMS
) -> bool:
    """May this sentence stand in a summary: the lead's or the expert's, a whole statement."""
    return (
        sentence.section in ("lead", "answer")
        and not (sentence.section == "lead" and is_heading(sentence.text))
        and not is_question(sentence.text)
        and not is_credit(sentence.text)
        and len(set(sentence.terms)) >= min_terms
        and len(sentence.text) <= max_chars
    )


def announces(sentence: Sentence) -> bool:
    return (
        sentence.section == "lead"
        and _SPEECH_VERB.search(sentence.text) is not None
        and _ANNOUNCES.search(sentence.text) is not None
    )


# Openers that continue a list or an argument begun before ("Вторая причина …"); connectives that
# can simply be dropped ("Кроме того,", "Например,") are repaired instead (bot.domain.readable).
_CONTINUES = re.compile(
    r"^(?:добавьте|добавим|вторая|второе|второй|третья|третье|третий|отсюда|из этого|"
    r"the second|the third|another)\b",
    re.IGNORECASE,
)
_PERSONAL = frozenset(
    {"он", "она", "оно", "они", "его", "ее", "её", "их", "ему", "ей", "им", "he", "she", "they"}
)


def leans_back(sentence: Sentence, under_question: bool = False) -> bool:
    """Does the sentence need the one before it (or the question) to be understood, even with
    its leading connective dropped?

    A pronoun or demonstrative subject ("Это…", "That has…"), a list continued ("Вторая
    причина…"), a personal pronoun among the first words ("Напрямую зерна он пока не касается" —
    who is "он"?), or an answer that starts with an infinitive, the elliptic reply to a question
    ("Исходить из того, что…"), unless ``under_question``: a gist is shown under its question.
    """
    text = (sentence.readable or sentence.text).lstrip('—–-«"“( ')
    if sentence.dependent or _CONTINUES.match(text):
        return True
    tokens = re.findall(r"[А-Яа-яЁёA-Za-z]+", text)
    if any(word.lower() in _PERSONAL for word in tokens[:4]):
        return True
    if under_question:  # "Что делать?" — "Застраховать дом…" reads right under its question
        return False
    return sentence.section == "answer" and bool(tokens) and _is_infinitive(tokens[0].lower())


@lru_cache(maxsize=50_000)
def _is_infinitive(word: str) -> bool:
    if not any("а" <= ch <= "я" for ch in word):
        return False
    return "INFN" in morph().parse(word)[0].tag


def substance(sentence: Sentence, settings: Method) -> float:
    """How much a sentence says on its own: thin, dependent or announcing ones score below 1."""
    if not settings.priors:
        return 1.0
    # a short sentence full of facts ("Общая стоимость — около 190 миллиардов тенге.") is not thin
    factor = min(1.0, (len(set(sentence.terms)) + sentence.info) / FULL_TERMS)
    if sentence.dependent:
        factor *= settings.anaphora_penalty
    if announces(sentence):
        factor *= settings.announcement_penalty
    if _RESTATES.match(sentence.text.lstrip('—–-«"“( ')):
        factor *= settings.restatement_penalty
    return factor


# "То есть…", "In other words…": the sentence restates the one before it, which says it first.
_RESTATES = re.compile(
    r"(?:то есть|иными словами|другими словами|in other words|that is,|that means)\b", re.I
)


def informative(sentence: Sentence) -> float:
    """The sentence's facts on a 0–1 scale (about four figures or names fill it)."""
    return min(1.0, sentence.info / INFO_FULL)


# -- vectors and centrality ----------------------------------------------------------------------

Vector = dict[str, float]


def tfidf_vectors(sentences: list[Sentence]) -> list[Vector]:
    """Unit-length tf-idf vectors, idf taken over the piece's own sentences."""
    total = len(sentences)
    df = Counter(term for sentence in sentences for term in set(sentence.terms))
    vectors: list[Vector] = []
    for sentence in sentences:
        counts = Counter(sentence.terms)
        vector = {t: n * (math.log((1 + total) / (1 + df[t])) + 1.0) for t, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in vector.values()))
        vectors.append({t: w / norm for t, w in vector.items()} if norm else {})
    return vectors


def dot(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def add_scaled(into: Vector, vector: Vector, scale: float) -> None:
    for term, weight in vector.items():
        into[term] = into.get(term, 0.0) + scale * weight


def lexrank(vectors: list[Vector], damping: float = 0.85, iterations: int = 100) -> list[float]:
    """Continuous LexRank without the n×n matrix.

    ``S = X·Xᵀ`` minus the diagonal, so a sentence's degree is ``xᵢ·Σx − 1`` and a power step
    ``pⱼ ← (1−d)/n + d·Σᵢ pᵢ·Sᵢⱼ/degᵢ`` is ``xⱼ·(Σᵢ (pᵢ/degᵢ)·xᵢ) − pⱼ/degⱼ``: linear in the
    number of non-zero weights. Sentences that share no word with any other (degree 0) spread
    their rank evenly, as dangling pages do in PageRank.
    """
    n = len(vectors)
    if n == 0:
        return []
    ids: dict[str, int] = {}
    rows = [[(ids.setdefault(t, len(ids)), w) for t, w in v.items()] for v in vectors]
    total = [0.0] * len(ids)
    for row in rows:
        for i, w in row:
            total[i] += w
    self_sim = [1.0 if row else 0.0 for row in rows]
    degree = [
        max(0.0, sum(w * total[i] for i, w in row) - s)
        for row, s in zip(rows, self_sim, strict=True)
    ]
    live = [deg > 1e-9 for deg in degree]
    rank = [1.0 / n] * n
    for _ in range(iterations):
        flow = [0.0] * len(ids)
        dangling = 0.0
        for row, p, deg, ok in zip(rows, rank, degree, live, strict=True):
            if ok:
                scale = p / deg
                for i, w in row:
                    flow[i] += scale * w
            else:
                dangling += p
        base = (1.0 - damping) / n + damping * dangling / n
        new = [
            base + damping * max(0.0, sum(w * flow[i] for i, w in row) - (p / deg if ok else 0.0))
            for row, p, deg, ok in zip(rows, rank, degree, live, strict=True)
        ]
        norm = sum(new)
        new = [r / norm for r in new]
        delta = sum(abs(a - b) for a, b in zip(new, rank, strict=True))
        rank = new
        if delta < 1e-4:  # ranks settle long before this matters to the order
            break
    return rank


def centroid_scores(vectors: list[Vector]) -> list[float]:
    """Cosine of each sentence with the centroid of the piece (a cheaper centrality)."""
    total: Vector = {}
    for vector in vectors:
        add_scaled(total, vector, 1.0)
    norm = math.sqrt(sum(w * w for w in total.values())) or 1.0
    return [dot(vector, total) / norm for vector in vectors]


def centrality(vectors: list[Vector], settings: Method) -> list[float]:
    scores = (
        lexrank(vectors, settings.damping)
        if settings.centrality == "lexrank"
        else centroid_scores(vectors)
    )
    top = max(scores, default=0.0) or 1.0
    return [score / top for score in scores]


# -- selection -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Budget:
    max_sentences: int
    max_chars: int
    per_turn: int  # at most this many sentences of one answer (while other answers remain)
    max_lead: int  # at most this many lead sentences (while answers remain): the expert speaks


def _order(sentence: Sentence) -> int:
    return sentence.index


def target_sentences(candidates: int) -> int:
    """3 for short pieces, up to 5 for longer ones: about three in eight candidate sentences."""
    return max(SUMMARY_MIN_SENTENCES, min(SUMMARY_MAX_SENTENCES, round(candidates / 2.75)))


def select(
    pool: list[Sentence],
    relevance: dict[int, float],
    vectors: list[Vector],
    budget: Budget,
    settings: Method,
    chosen: Sequence[Sentence] = (),
) -> list[Sentence]:
    """Greedy MMR within a budget; returns the chosen sentences in document order."""
    picked = list(chosen)
    used = sum(len(s.text) + 1 for s in picked)
    taken = {s.index for s in picked}
    remaining = [s for s in pool if s.index not in taken]
    redundancy = {
        s.index: max((dot(vectors[s.index], vectors[c.index]) for c in picked), default=0.0)
        for s in remaining
    }
    strict = True
    while remaining and len(picked) < budget.max_sentences:
        best = _best(remaining, picked, relevance, redundancy, used, budget, settings, strict)
        if best is None:
            if strict and settings.mmr:
                strict = False  # nothing else fits the structure: fill from what is left
                continue
            break
        picked.append(best)
        used += len(best.text) + 1
        remaining.remove(best)
        for sentence in remaining:
            overlap = dot(vectors[sentence.index], vectors[best.index])
            redundancy[sentence.index] = max(redundancy[sentence.index], overlap)
    return sorted(picked, key=lambda s: s.index)


def _best(
    remaining: list[Sentence],
    picked: list[Sentence],
    relevance: dict[int, float],
    redundancy: dict[int, float],
    used: int,
    budget: Budget,
    settings: Method,
    strict: bool,
) -> Sentence | None:
    per_turn = Counter(s.turn for s in picked if s.section == "answer")
    leads = sum(s.section == "lead" for s in picked)
    best: Sentence | None = None
    best_value = -math.inf
    for sentence in remaining:
        if used + len(sentence.text) > budget.max_chars:
            continue
        if strict and settings.mmr:
            if sentence.section == "lead" and leads >= budget.max_lead:
                continue
            if sentence.section == "answer" and per_turn[sentence.turn] >= budget.per_turn:
                continue
        if settings.mmr and redundancy[sentence.index] >= NEAR_DUPLICATE:
            continue
        value = relevance[sentence.index]
        if settings.mmr and picked:
            lam = settings.mmr_lambda
            value = lam * value - (1 - lam) * redundancy[sentence.index]
        if value > best_value:
            best, best_value = sentence, value
    return best


def opening(
    sentences: list[Sentence],
    settings: Method,
    topic: Vector,
    vectors: list[Vector],
    max_chars: int = MAX_SENTENCE_CHARS,
) -> list[Sentence]:
    """The lead's most informative statement that fits: what happened opens every summary.

    Not merely the first one: "Большое итоговое интервью." is a rubric, not news. A lead
    sentence is scored by its facts, its words shared with the title and the rest of the lead,
    and how much it says; announcing the talk ("X рассказал, почему…") halves it; an earlier
    sentence wins ties."""
    if not settings.priors:
        return []
    lead = [
        s
        for s in sentences
        if s.section == "lead" and is_candidate(s, max_chars) and not s.dependent
    ]
    if not lead:
        return []
    if not settings.facts:
        return lead[:1]

    def value(sentence: Sentence) -> float:
        score = 0.5 * informative(sentence) + 0.3 * dot(vectors[sentence.index], topic) + 0.2
        score *= substance(sentence, settings)
        return score * (1.0 - 0.03 * lead.index(sentence))

    return [max(lead, key=value)]


def seeded(first: list[Sentence], pool: list[Sentence], settings: Method) -> list[Sentence]:
    """The opening and the lead's statements after it that are full of facts (not announcing
    the talk), up to ``lead_seed``: on news the lead carries what happened, as Lead-3 shows, and
    the answers fill in the rest. The opening stays the first sentence."""
    if not settings.priors or not settings.facts or not first:
        return first
    extra = [
        s
        for s in pool
        if s.section == "lead"
        and s.index > first[0].index  # the opening stays first
        and informative(s) >= settings.lead_seed_info
        and not announces(s)
    ]
    return sorted(first + extra[: max(0, settings.lead_seed - len(first))], key=_order)


def topic_vector(interview: Interview, sentences: list[Sentence], vectors: list[Vector]) -> Vector:
    """What the headline and the lead are about: the sum of their sentence vectors, unit length."""
    topic: Vector = {}
    title_terms = Counter(content_terms(interview.title))
    for term, count in title_terms.items():
        topic[term] = topic.get(term, 0.0) + count
    for sentence in sentences:
        if sentence.section == "lead":
            add_scaled(topic, vectors[sentence.index], 1.0)
    norm = math.sqrt(sum(w * w for w in topic.values())) or 1.0
    return {t: w / norm for t, w in topic.items()}


def attach_dependents(
    chosen: list[Sentence], sentences: list[Sentence], max_chars: int, max_sentences: int
) -> list[Sentence]:
    """A chosen sentence brings the next one of its paragraph when that one depends on it and
    adds facts ("…50 МВт·ч. Это примерно…"), within the budget; a dependent sentence never
    stands alone (the pool holds none)."""
    result = list(chosen)
    used = sum(len(s.text) + 1 for s in result)
    taken = {s.index for s in result}
    for sentence in chosen:
        following = sentence.index + 1
        if following >= len(sentences) or following in taken:
            continue
        nxt = sentences[following]
        if (
            nxt.paragraph == sentence.paragraph
            and nxt.dependent
            and nxt.info > 0
            and not is_question(nxt.text)
            and len(result) < max_sentences
            and used + len(nxt.text) + 1 <= max_chars
        ):
            result.append(nxt)
            taken.add(following)
            used += len(nxt.text) + 1
    return sorted(result, key=_order)


def shown(chosen: list[Sentence], settings: Method) -> tuple[str, ...]:
    """The chosen sentences as readers see them: repaired, unless the one before is shown too."""
    out: list[str] = []
    previous = -2
    for sentence in chosen:
        keep = not settings.repair or sentence.index == previous + 1
        out.append(sentence.text if keep else sentence.readable or sentence.text)
        previous = sentence.index
    return tuple(out)


# -- gists ---------------------------------------------------------------------------------------


def gist(
    answer: list[Sentence],
    question: str,
    vectors: list[Vector],
    central: list[float],
    settings: Method,
) -> str:
    """The answer's sentence that answers its question, readable on its own, shortened.

    A sentence scores by the question's content lemmas it shares, by supplying what the
    question asks for (``readable.question_kinds``: an amount or number for "сколько", names
    for "кто", a time for "когда", a reason for "почему"), by its facts and its centrality; one
    that leans on the sentence before it ("Это…", "Он…") is held back unless nothing else is
    left. An answer that does not answer gets its most informative sentence."""
    if not answer:
        return ""
    statements = [s for s in answer if not is_question(s.text)] or answer
    if settings.priors:
        standing = [s for s in statements if not leans_back(s, True) and len(set(s.terms)) >= 2]
        statements = standing or statements[:1]
    asked = asked_terms(question)
    kinds = question_kinds(question)
    # "Подорожают ли билеты?" — "Нет. Аэропортовые сборы…": a bare yes or no opens the gist
    reply = answer[0].text.strip().lstrip("—–- ")
    bare_reply = (
        Kind.YES_NO in kinds
        and len(words(reply)) <= 2
        and answers_kind(Kind.YES_NO, reply) > 0
        and not is_question(reply)
    )

    def value(sentence: Sentence) -> float:
        if not settings.facts:
            relevance = 0.6 * central[sentence.index]
            return relevance * substance(sentence, settings)
        terms = set(sentence.terms)
        score = (
            0.65 * answering(sentence, asked, kinds)
            + 0.20 * informative(sentence)
            + 0.15 * central[sentence.index]
        )
        thin = min(1.0, len(terms) / 5)
        fits = 1.0 if len(sentence.text) <= GIST_MAX_CHARS * 1.5 else 0.85
        return score * thin * fits * (0.7 if sentence.dependent else 1.0)

    best = max(statements, key=value)
    if bare_reply and len(answer) > 1 and answer[1] in statements:
        best = answer[1]  # the yes or no, then the sentence that says why
    text = best.readable if settings.repair and best.readable else best.text
    if Kind.YES_NO in kinds and answers_kind(Kind.YES_NO, best.text.lstrip("—–- ")):
        text = best.text.strip().lstrip("—–- ")  # under "Будет ли…?" the "Да," is the answer
    elif bare_reply and best is answer[1]:
        text = f"{reply} {best.text.strip()}"
    elif settings.facts and len(kinds) > 1:
        text = _both_parts(text, best, answer, kinds)
    return shorten(text, GIST_MAX_CHARS, at_clause=True)


def _both_parts(text: str, best: Sentence, answer: list[Sentence], kinds: Sequence[Kind]) -> str:
    """ "Сколько стоит завод и кто его строит?" — "Стоимость проекта — 110 миллиардов тенге.
    Строит China Energy…": when the best sentence answers the second part only and the sentence
    right before it answers the first, the gist shows both (they are adjacent in the answer)."""
    first = kinds[0]
    if answers_kind(first, best.text) >= 0.5:
        return text
    position = answer.index(best)
    before = answer[position - 1] if position > 0 else None
    if (
        before is None
        or before.paragraph != best.paragraph
        or before.dependent
        or is_question(before.text)
        or answers_kind(first, before.text) < 1.0
        or len(before.text) + len(best.text) > GIST_MAX_CHARS * 1.3
    ):
        return text
    return f"{before.readable or before.text} {best.text.strip()}"


def asked_terms(question: str) -> frozenset[str]:
    """The question's content lemmas, interrogatives and the address ("Гульнара Ахметовна, …",
    "Магжан, …") left out."""
    text = question.strip().lstrip("—–- ")
    address = _ADDRESS.match(text)
    if address and all(_is_name(word) for word in address.group(1).split()):
        text = text[address.end() :]
    return frozenset(content_terms(text)) - _QUESTION_TERMS


# A question opening on the interviewee's name (and patronymic), then a comma.
_ADDRESS = re.compile(r"^((?:[A-ZА-ЯЁ][a-zа-яё]+\s+){0,2}[A-ZА-ЯЁ][a-zа-яё]+),\s+")


@lru_cache(maxsize=10_000)
def _is_name(word: str) -> bool:
    """A first name, patronymic or surname ("Гульнара", "Ахметовна"; an English capitalised
    word that is not a stop word: "Aliya")."""
    low = word.lower()
    if not any("а" <= ch <= "я" for ch in low.replace("ё", "е")):
        return low not in ENGLISH_STOPWORDS and low not in _QUESTION_TERMS
    tag = morph().parse(word)[0].tag
    return any(mark in tag for mark in ("Name", "Patr", "Surn"))


def answering(sentence: Sentence, asked: frozenset[str], kinds: Sequence[Kind]) -> float:
    """How well a sentence answers a question, 0–1: the question's content lemmas it shares
    (35 of 65) and what it supplies of the kind asked for (30 of 65)."""
    overlap = len(asked & set(sentence.terms)) / len(asked) if asked else 0.0
    kind = max(answers_kind(k, sentence.text) for k in kinds)
    return (0.35 * overlap + 0.30 * kind) / 0.65


# Words every question has and no answer needs ("сколько", "почему", "вы", "what").
_QUESTION_TERMS = frozenset(
    {
        "сколько",
        "почему",
        "зачем",
        "кто",
        "что",
        "чем",
        "какой",
        "ли",
        "насколько",
        "вопрос",
        "how",
        "what",
        "why",
        "who",
        "when",
        "where",
        "much",
        "mani",
        "whi",
    }
)


def attributable(turns: Sequence[Turn]) -> tuple[Turn, ...]:
    """The turns with each answer paragraph followed by its sentences as a summary shows them
    (repaired), so that a view looking a summary sentence up in the answers still finds it —
    and in the paragraph whose speaker said it. Cached: a broadcast renders one piece's
    notification for every subscriber."""
    return _attributable(tuple(turns))


@lru_cache(maxsize=64)
def _attributable(turns: tuple[Turn, ...]) -> tuple[Turn, ...]:
    out = []
    for turn in turns:
        paragraphs = []
        for paragraph in turn.answer:
            repaired = [
                fixed
                for sentence in split_sentences(paragraph)
                if (fixed := repair(sentence)) != sentence.strip()
            ]
            paragraphs.append("\n".join([paragraph, *repaired]))
        out.append(replace(turn, answer=tuple(paragraphs)))
    return tuple(out)


# -- the summary ---------------------------------------------------------------------------------


def summarize(interview: Interview, settings: Method = DEFAULT_METHOD) -> Summary:
    """Default (3–5 sentences, ≤ 800 characters), short, long summaries and a gist per turn."""
    sentences = sentences_of(interview)
    vectors = tfidf_vectors(sentences)
    central = centrality(vectors, settings)
    topic = topic_vector(interview, sentences, vectors)
    pool = [s for s in sentences if is_candidate(s)]
    if len(pool) < SUMMARY_MIN_SENTENCES:  # a tiny piece: thin statements are all there is
        pool = [s for s in sentences if is_candidate(s, min_terms=1)]
    if settings.priors:  # summaries are read out of context: keep sentences that stand alone
        standalone = [s for s in pool if not leans_back(s)]
        if len(standalone) >= SUMMARY_MIN_SENTENCES:
            pool = standalone
    title = {t: 1.0 for t in content_terms(interview.title)}
    title_norm = math.sqrt(len(title)) or 1.0

    def raw_pointed(sentence: Sentence) -> float:
        """How much the headline and the lead point to the sentence (a lead sentence is part of
        the lead, so only the headline counts for it)."""
        if sentence.section == "lead":
            return dot(vectors[sentence.index], title) / title_norm
        return dot(vectors[sentence.index], topic)

    raw = {s.index: raw_pointed(s) for s in pool}
    # on the scale of the most pointed sentence, as centrality is on the most central one
    top_pointed = max(raw.values(), default=0.0) or 1.0

    def pointed(sentence: Sentence) -> float:
        return raw[sentence.index] / top_pointed if settings.pointed_scaled else raw[sentence.index]

    questions = {turn.number: turn.question_text for turn in interview.turns}
    asks = {n: (asked_terms(q), question_kinds(q)) for n, q in questions.items()}

    def answers_its_question(sentence: Sentence) -> float:
        if sentence.section != "answer" or sentence.turn not in asks:
            return 0.0
        return answering(sentence, *asks[sentence.turn])

    if settings.facts:
        relevance = {
            s.index: (
                settings.centrality_weight * central[s.index]
                + settings.topic_weight * pointed(s)
                + settings.facts_weight * informative(s)
                + settings.answer_weight * answers_its_question(s)
            )
            * substance(s, settings)
            * (1.0 - settings.factless_penalty * (s.info == 0))
            for s in pool
        }
    else:
        relevance = {s.index: central[s.index] * substance(s, settings) for s in pool}
    if len(pool) > MAX_POOL:  # MMR compares candidates pairwise: keep the most relevant ones
        pool = sorted(sorted(pool, key=lambda s: -relevance[s.index])[:MAX_POOL], key=_order)

    size = target_sentences(len(pool))
    budget = Budget(size, SUMMARY_MAX_CHARS, per_turn=1, max_lead=size // 2)
    first = seeded(opening(sentences, settings, topic, vectors), pool, settings)
    text = select(pool, relevance, vectors, budget, settings, first)
    if settings.repair:
        text = attach_dependents(text, sentences, SUMMARY_MAX_CHARS, SUMMARY_MAX_SENTENCES)

    # the short one is the news to forward: the opening and the answer's weightiest fact
    short_budget = Budget(2, SHORT_MAX_CHARS, per_turn=1, max_lead=1)
    short_lead = opening(sentences, settings, topic, vectors, SHORT_MAX_CHARS - 100)
    short_relevance = (
        {
            i: r * (0.5 + informative(sentences[i])) * (1.5 if money(sentences[i].text) else 1.0)
            for i, r in relevance.items()
        }
        if settings.facts
        else relevance
    )
    short = select(pool, short_relevance, vectors, short_budget, settings, short_lead)

    long_budget = Budget(LONG_MAX_SENTENCES, LONG_MAX_CHARS, per_turn=1, max_lead=3)
    long = select(pool, relevance, vectors, long_budget, settings, text)

    by_turn: dict[int, list[Sentence]] = {}
    for sentence in sentences:
        if sentence.section == "answer":
            by_turn.setdefault(sentence.turn, []).append(sentence)
    gists = tuple(
        gist(by_turn.get(turn.number, []), turn.question_text, vectors, central, settings)
        for turn in interview.turns
    )
    return Summary(
        text=shown(text, settings),
        short=shown(short, settings),
        long=shown(long, settings),
        gists=gists,
    )
