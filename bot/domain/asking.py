"""Asking in your own words: the text side of finding the answer to a reader's question.

The archive's unit here is an answer (a turn), not a quote: a reader who asks "Сколько стоила
станция?" wants the expert's answer about the cost, wherever its words differ from theirs.
Retrieval is hybrid (``storage/answer_index.py`` runs it):

* lexical — BM25 over the content lemmas (Russian) and stems (English) of each turn's question
  and answer, the question's words weighing more (``keys``, ``query_keys``);
* semantic — the dot product of the reader's question's embedding with the turn's vector
  (``QUESTION_SHARE`` of its question's embedding plus the rest of its question-and-answer
  embedding), when the model is available (``bot/embedding.py``);
* blended (``blend``): the model's score plus ``LEXICAL_WEIGHT`` times the BM25 score relative
  to the best lexical hit — a tie-breaker between answers the model finds equally close, the
  ranking of turns not embedded yet (a piece published moments ago), and the whole ranking when
  the model is missing — and the best lexical hit is kept among the first three shown. On the paraphrase bench the model alone and this blend find the same
  answers in the top 3 (70 of 78); every heavier lexical weight, and reciprocal-rank fusion,
  the usual hybrid, lost answers: BM25 over lemmas ranks paraphrases poorly (``make
  bench-ask``, README).

Then ``passage`` picks the sentence or two of the answer that answer the question, with the same
scoring as the gists (lemmas shared with the question, what it asks for, facts).

Pure Python: no SQL, no aiogram, no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.language import split_sentences, words
from bot.domain.readable import (
    Kind,
    answers_kind,
    depends,
    information,
    question_kinds,
    repair,
)
from bot.domain.summarizer import content_terms

LEXICAL_WEIGHT = 0.002  # BM25 relative to the best lexical hit, added to the model's score
LEXICAL_SLOT = 3  # the best lexical hit is shown at this place at the latest
PASSAGE_MAX_CHARS = 600
QUESTION_WEIGHT = 2.0  # a word of the turn's question counts this much more than one of its answer
TITLE_WEIGHT = 2.0  # a word of the piece's title, as much as one of the turn's question
EMBED_MAX_CHARS = 1500  # about the 512 tokens the embedding model reads; the rest is cut
# A turn's vector is this share of its question's embedding plus the rest of the embedding of
# question and answer together: readers' questions resemble the interviewer's, and the answer
# carries what the question leaves implicit (measured: top-3 66 → 70 of 78, README).
QUESTION_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class AnswerHit:
    """An answer found for a reader's question."""

    piece_id: int
    piece_title: str
    speaker: str | None
    published_at: datetime
    turn_number: int
    turn_count: int
    question: str
    passage: tuple[str, ...]  # the sentences of the answer that answer the question
    score: float


# -- is it a question? ---------------------------------------------------------------------------

_INTERROGATIVE = re.compile(
    r"^(?:сколько|почему|зачем|отчего|кто|кого|кому|что|чем|чего|когда|где|куда|откуда|как|"
    r"какой|какая|какое|какие|каким|каких|каков\w*|чей|чья|чьё|чьи|насколько|во сколько|"
    r"на сколько|из-за чего|для чего|правда ли|будет ли|будут ли|есть ли|можно ли|нужно ли|"
    r"стоит ли|будет|есть|how|why|what|who|whom|whose|when|where|which|is|are|will|can|could|"
    r"does|do|did|should|has|have)\b",
    re.IGNORECASE,
)
_LI = re.compile(r"\s(?:ли|разве)\s", re.IGNORECASE)
MIN_QUESTION_WORDS = 3


def looks_like_question(text: str) -> bool:
    """Plain text that reads as a question to be answered, not a quote lookup: it ends with a
    question mark, or opens with a question word and has a few words ("почему так дорого
    ипотека"); a name or a couple of words ("Токаев", "углеродный налог") is a quote search."""
    text = " ".join(text.split())
    count = len(words(text))
    if count == 0:
        return False
    if text.endswith("?"):
        return count >= 2
    return count >= MIN_QUESTION_WORDS and (
        _INTERROGATIVE.match(text) is not None or _LI.search(f" {text} ") is not None
    )


# -- keys ----------------------------------------------------------------------------------------

# Words that say what kind of question it is, not what it is about.
# fmt: off
_ASKING = frozenset({
    "сколько", "почему", "зачем", "отчего", "кто", "что", "чем", "какой", "каков", "чей", "ли",
    "насколько", "вопрос", "правда", "рассказать", "сказать", "скажите", "вы", "ваш",
    "how", "what", "whi", "who", "when", "where", "which", "much", "mani", "will", "would",
})
# fmt: on


def _terms(text: str) -> list[str]:
    return [t for t in content_terms(text) if t not in _ASKING and _key_safe(t)]


def _key_safe(term: str) -> bool:
    return bool(term) and all(ch.isalnum() or ch in "-." for ch in term)


def keys(text: str) -> str:
    """The content lemmas/stems of a text, space-separated (what the FTS5 index stores)."""
    return " ".join(_terms(text))


def query_keys(text: str) -> list[str]:
    """The distinct content lemmas/stems of a reader's question, question words left out."""
    return list(dict.fromkeys(_terms(text)))


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of the terms, each quoted (FTS5 MATCH is a query language:
    never built from raw text)."""
    return " OR ".join('"' + term.replace('"', "") + '"' for term in terms)


def embedding_text(question: str, answer: Sequence[str]) -> str:
    """What the embedding model reads of a turn: its question, then its answer, cut to what the
    model takes in."""
    text = " ".join([question, *answer])
    return " ".join(text.split())[:EMBED_MAX_CHARS]


# -- blending ------------------------------------------------------------------------------------


def blend(
    semantic: dict[int, float],
    lexical: dict[int, float],
    weight: float = LEXICAL_WEIGHT,
) -> list[tuple[int, float]]:
    """Doc ids, best first, by cosine plus ``weight`` × BM25 relative to the best BM25.

    ``semantic`` maps every embedded doc to its cosine with the question (empty without the
    model: lexical order alone); ``lexical`` maps the BM25 hits to their scores (higher is
    better). A lexical hit not embedded yet (a piece published moments ago) stands at the
    90th percentile of the cosines, so it can still be found."""
    best = max(lexical.values(), default=0.0)
    relative = {doc: score / best for doc, score in lexical.items()} if best > 0 else {}
    if not semantic:
        return sorted(relative.items(), key=lambda item: (-item[1], item[0]))
    ordered = sorted(semantic.values())
    stand_in = ordered[int(0.9 * (len(ordered) - 1))]
    scores = dict(semantic)
    for doc, value in relative.items():
        scores[doc] = scores.get(doc, stand_in) + weight * value
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    # both retrievers get a say in what a reader sees: the best lexical hit is among the first
    # ``LEXICAL_SLOT`` ("Сколько стоила станция?" shares "стоить" with "Сколько стоил проект…")
    if relative:
        lexical_best = min(relative, key=lambda doc: (-relative[doc], doc))
        position = next(i for i, (doc, _) in enumerate(ranked) if doc == lexical_best)
        if position >= LEXICAL_SLOT:
            ranked.insert(LEXICAL_SLOT - 1, ranked.pop(position))
    return ranked


# -- the passage ---------------------------------------------------------------------------------


def passage(question: str, answer: Iterable[str], max_sentences: int = 2) -> tuple[str, ...]:
    """The sentence (and the one after it, when it continues the thought and fits) of an
    answer that best answers ``question``: its lemmas, what kind of answer it asks for, facts."""
    sentences = [s.strip() for paragraph in answer for s in split_sentences(paragraph)]
    sentences = [s for s in sentences if s]
    if not sentences:
        return ()
    asked = set(query_keys(question))
    kinds = question_kinds(question)

    def value(index: int) -> float:
        text = sentences[index]
        terms = set(content_terms(text))
        overlap = len(asked & terms) / len(asked) if asked else 0.0
        kind = max(answers_kind(k, text) for k in kinds) if kinds != (Kind.OTHER,) else 0.0
        facts = min(1.0, information(text) / 4)
        thin = min(1.0, len(terms) / 5)
        return (0.5 * overlap + 0.3 * kind + 0.2 * facts) * thin - 0.01 * index

    best = max(range(len(sentences)), key=value)
    if best > 0 and depends(sentences[best]):  # "Это придаёт вес Астане…": what is "это"?
        return (repair(sentences[best - 1]), sentences[best])[-max_sentences:]
    chosen = [repair(sentences[best])]
    following = best + 1
    if (
        max_sentences > 1
        and following < len(sentences)
        and len(chosen[0]) + len(sentences[following]) < PASSAGE_MAX_CHARS
        and (value(following) > 0.3 * value(best) or len(chosen[0]) < 120)
    ):
        chosen.append(sentences[following])
    return tuple(chosen)
