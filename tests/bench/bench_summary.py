"""Summary benchmark: ROUGE on lemmas against editors' references, baselines, timing.

Run: ``.venv/bin/python -m tests.bench.bench_summary`` (``--ablation`` adds a table of the
method's parts switched off one at a time).

Two sets: the tuning set ``tests/data/interviews/*.txt`` with references in
``tests/data/summaries/<same name>`` (the method was tuned on these), and the held-out set
``tests/data/heldout/*.txt`` with ``<name>.summary.txt`` references and ``<name>.gists.json``
expectations, written before the summarizer ever ran on them (issue 13). Besides ROUGE: "facts
kept" (the share of the reference's figures and names found in the summary), "mid-thought" (summary
sentences that open on a connective or a pronoun pointing at a sentence not shown before them) and
"gists answering" (the gist holds what its question asks for, per ``*.gists.json``).
ROUGE-1/2/L F1 are computed on pymorphy3 lemmas of every word (so "партнера"/"партнер" match);
ROUGE-L on the longest common subsequence of the whole summary against the whole reference.

Baselines: Lead-3 (the first three sentences of the piece as a reader sees it, questions
included) and plain TextRank (Mihalcea & Tarau: overlap of content lemmas normalised by log
lengths, PageRank d=0.85, every sentence of the piece a node, no priors), given as many
sentences as our summary has.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.domain.language import lemma, lemma_candidates, morph, words
from bot.domain.models import Interview, Turn
from bot.domain.parsing import parse_interview
from bot.domain.readable import connective, depends
from bot.domain.summarizer import (
    Method,
    content_lemma,
    content_terms,
    is_question,
    sentences_of,
    substance,
    summarize,
)

DATA = Path(__file__).resolve().parent.parent / "data"
SYNTHETIC_WORDS = 20_000


# -- ROUGE -----------------------------------------------------------------------------------------


def lemmas(text: str) -> list[str]:
    return [lemma(word) for word in words(text)]


def ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def f1(overlap: float, produced: int, reference: int) -> float:
    if not overlap or not produced or not reference:
        return 0.0
    precision, recall = overlap / produced, overlap / reference
    return 2 * precision * recall / (precision + recall)


def rouge_n(candidate: Sequence[str], reference: Sequence[str], n: int) -> float:
    cand, ref = ngrams(candidate, n), ngrams(reference, n)
    overlap = sum((cand & ref).values())
    return f1(overlap, sum(cand.values()), sum(ref.values()))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(candidate: Sequence[str], reference: Sequence[str]) -> float:
    return f1(lcs_length(candidate, reference), len(candidate), len(reference))


@dataclass(frozen=True, slots=True)
class Scores:
    r1: float
    r2: float
    rl: float

    @staticmethod
    def of(summary: Sequence[str], reference: Sequence[str]) -> Scores:
        cand, ref = lemmas(" ".join(summary)), lemmas(" ".join(reference))
        return Scores(rouge_n(cand, ref, 1), rouge_n(cand, ref, 2), rouge_l(cand, ref))

    @staticmethod
    def mean(scores: Sequence[Scores]) -> Scores:
        n = len(scores) or 1
        return Scores(
            sum(s.r1 for s in scores) / n,
            sum(s.r2 for s in scores) / n,
            sum(s.rl for s in scores) / n,
        )


# -- baselines -------------------------------------------------------------------------------------


def body_sentences(interview: Interview) -> list[str]:
    return [s.text for s in sentences_of(interview)]


def lead3(interview: Interview, _k: int) -> list[str]:
    return body_sentences(interview)[:3]


def textrank(interview: Interview, k: int) -> list[str]:
    """Plain TextRank over every sentence, content lemmas, dense similarity, no priors."""
    sentences = sentences_of(interview)
    bags = [set(s.terms) for s in sentences]
    n = len(sentences)
    weights = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            common = len(bags[i] & bags[j])
            if common and len(bags[i]) > 1 and len(bags[j]) > 1:
                w = common / (math.log(len(bags[i])) + math.log(len(bags[j])))
                weights[i][j] = weights[j][i] = w
    out = [sum(row) for row in weights]
    rank = [1.0 / n] * n
    for _ in range(100):
        rank = [
            0.15 / n + 0.85 * sum(rank[i] * weights[i][j] / out[i] for i in range(n) if out[i])
            for j in range(n)
        ]
    top = sorted(range(n), key=lambda i: -rank[i])[:k]
    return [sentences[i].text for i in sorted(top)]


# -- data ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    interview: Interview
    reference: list[str]


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cases() -> list[Case]:
    """The tuning set."""
    result = []
    for path in sorted((DATA / "interviews").glob("*.txt")):
        reference = _lines(DATA / "summaries" / path.name)
        result.append(Case(path.stem, parse_interview(path.read_text(encoding="utf-8")), reference))
    return result


def heldout_cases() -> list[Case]:
    """Pieces nobody tuned for, references written before the summarizer ran on them."""
    result = []
    for path in sorted((DATA / "heldout").glob("*.txt")):
        if path.name.endswith(".summary.txt"):
            continue
        reference = _lines(path.with_name(path.stem + ".summary.txt"))
        result.append(Case(path.stem, parse_interview(path.read_text(encoding="utf-8")), reference))
    return result


# -- facts and readability -------------------------------------------------------------------------

_FIGURE = re.compile(r"\d+(?:[.,]\d+)?")
_NAME = re.compile(r"(?<=[\s(«“\"])[A-ZА-ЯЁ][\w-]+")


def key_facts(text: str) -> set[str]:
    """Figures and capitalised names (lemmatised) of a text: what a reader checks first."""
    found = {m.group().replace(",", ".") for m in _FIGURE.finditer(text)}
    found |= {lemma(m.group()) for m in _NAME.finditer(text)}
    return found


def facts_kept(summary: Sequence[str], reference: Sequence[str]) -> float:
    wanted = key_facts(" ".join(reference))
    if not wanted:
        return 1.0
    return len(wanted & key_facts(" ".join(summary))) / len(wanted)


def mid_thought(summary: Sequence[str], interview: Interview) -> int:
    """Summary sentences that open on a connective or lean on a sentence not shown before them."""
    order = [s.text for s in sentences_of(interview)]
    count = 0
    for i, sentence in enumerate(summary):
        previous_shown = i > 0 and sentence in order and order.index(sentence) > 0
        follows = previous_shown and order[order.index(sentence) - 1] == summary[i - 1]
        if not follows and (connective(sentence) or depends(sentence)):
            count += 1
    return count


def gists_answering(interview: Interview, path: Path) -> tuple[int, int, list[str]]:
    """Gists holding what their question asks for, per the ``.gists.json`` expectations."""
    return score_gists(summarize(interview).gists, path)


def score_gists(gists: Sequence[str], path: Path) -> tuple[int, int, list[str]]:
    """(gists that answer, gists expected, the misses) against ``path``'s expectations."""
    expected = json.loads(path.read_text(encoding="utf-8"))["turns"]
    good, misses = 0, []
    for number, (gist, want) in enumerate(zip(gists, expected, strict=True), start=1):
        low = gist.lower()
        ok = any(a.lower() in low for a in want["any"]) and not any(
            n.lower() in low for n in want["not"]
        )
        good += ok
        if not ok:
            misses.append(f"{number}: {gist}")
    return good, len(expected), misses


def synthetic(case_list: Sequence[Case], target_words: int = SYNTHETIC_WORDS) -> Interview:
    """A long interview made of the corpus' sentences, shuffled, words re-inflected.

    Nine Russian words in ten are swapped for another form of its lexeme ("партнер" →
    "партнерами"), so the piece has the many distinct word forms of a real long text (the
    lemmatiser's cost grows with them), not a few hundred repeated ones. Deterministic.
    """
    rng = random.Random(20_000)
    questions = [
        s.text for c in case_list for s in sentences_of(c.interview) if s.section == "question"
    ]
    answers = [
        s.text for c in case_list for s in sentences_of(c.interview) if s.section == "answer"
    ]
    forms: dict[str, list[str]] = {}

    def reinflect(sentence: str) -> str:
        out = []
        for token in sentence.split(" "):
            if token.isalpha() and token.islower() and rng.random() < 0.9:
                if token not in forms:
                    forms[token] = [f.word for f in morph().parse(token)[0].lexeme]
                token = rng.choice(forms[token] or [token])
            out.append(token)
        return " ".join(out)

    lead = tuple(case_list[0].interview.lead)
    turns: list[Turn] = []
    count = sum(len(words(p)) for p in lead)
    while count < target_words:
        question = rng.choice(questions)
        paragraphs = tuple(
            " ".join(reinflect(rng.choice(answers)) for _ in range(rng.randint(2, 5)))
            for _ in range(rng.randint(1, 3))
        )
        turns.append(Turn(len(turns) + 1, (question,), paragraphs))
        count += len(words(question)) + sum(len(words(p)) for p in paragraphs)
    return Interview(title="synthetic", lead=lead, turns=tuple(turns))


def clear_caches() -> None:
    for cached in (lemma, lemma_candidates, content_lemma):
        cached.cache_clear()


# -- report ----------------------------------------------------------------------------------------

System = Callable[[Interview, int], list[str]]


def ours(settings: Method) -> System:
    return lambda interview, _k: list(summarize(interview, settings).text)


def table(case_list: Sequence[Case], systems: dict[str, System], per_piece: bool) -> str:
    names = list(systems)
    header = "| piece | " + " | ".join(f"{n} R1 / R2 / RL" for n in names) + " | ours ms |"
    lines = [header, "|" + "---|" * (len(names) + 2)]
    totals: dict[str, list[Scores]] = {n: [] for n in names}
    times: list[float] = []
    for case in case_list:
        started = time.perf_counter()
        summary = summarize(case.interview)
        times.append((time.perf_counter() - started) * 1000)
        k = len(summary.text)
        cells = []
        for name, system in systems.items():
            scores = Scores.of(system(case.interview, k), case.reference)
            totals[name].append(scores)
            cells.append(f"{scores.r1:.3f} / {scores.r2:.3f} / {scores.rl:.3f}")
        if per_piece:
            lines.append(f"| {case.name} | " + " | ".join(cells) + f" | {times[-1]:.0f} |")
    means = [Scores.mean(totals[n]) for n in names]
    cells = [f"**{m.r1:.3f} / {m.r2:.3f} / {m.rl:.3f}**" for m in means]
    lines.append("| **average** | " + " | ".join(cells) + f" | {sum(times) / len(times):.0f} |")
    return "\n".join(lines)


def reading_table(case_list: Sequence[Case], systems: dict[str, System]) -> str:
    """Facts kept and sentences starting mid-thought, per system (totals over the pieces)."""
    lines = [
        "| system | facts kept | mid-thought sentences | beats Lead-3 R1 |",
        "|---|---|---|---|",
    ]
    for name, system in systems.items():
        kept: list[float] = []
        mid = wins = 0
        for case in case_list:
            k = len(summarize(case.interview).text)
            produced = system(case.interview, k)
            kept.append(facts_kept(produced, case.reference))
            mid += mid_thought(produced, case.interview)
            ours_r1 = Scores.of(produced, case.reference).r1
            wins += ours_r1 > Scores.of(lead3(case.interview, k), case.reference).r1
        lines.append(
            f"| {name} | {sum(kept) / len(kept):.0%} | {mid} | {wins} of {len(case_list)} |"
        )
    return "\n".join(lines)


def structure(case_list: Sequence[Case], systems: dict[str, System]) -> str:
    """What the summaries are made of: questions, answers, thin or leaning sentences."""
    lines = [
        "| system | sentences | chars | questions | from answers | thin or anaphoric |",
        "|---|---|---|---|---|---|",
    ]
    for name, system in systems.items():
        count = chars = questions = answers = weak = 0
        for case in case_list:
            k = len(summarize(case.interview).text)
            chosen = set(system(case.interview, k))
            for sentence in sentences_of(case.interview):
                if sentence.text not in chosen:
                    continue
                count += 1
                chars += len(sentence.text) + 1
                questions += is_question(sentence.text) or sentence.section == "question"
                answers += sentence.section == "answer"
                weak += substance(sentence, Method()) < 0.5
        n = len(case_list)
        lines.append(
            f"| {name} | {count / n:.1f} | {chars / n:.0f} | {questions} | "
            f"{answers / max(count, 1):.0%} | {weak} |"
        )
    return "\n".join(lines)


def near_duplicates(sentences: Sequence[str]) -> int:
    """Pairs of chosen sentences whose content lemmas have cosine ≥ 0.9 (one repeats the other)."""
    bags = [Counter(content_terms(s)) for s in sentences]
    count = 0
    for i, a in enumerate(bags):
        for b in bags[i + 1 :]:
            norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
            count += bool(norm) and sum(a[t] * b[t] for t in a) / norm >= 0.9
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ablation", action="store_true", help="also switch parts off")
    args = parser.parse_args()

    started = time.perf_counter()
    morph()
    load_ms = (time.perf_counter() - started) * 1000
    case_list = cases()
    for case in case_list:  # warm the lemma cache so per-piece times measure the method
        summarize(case.interview)

    systems: dict[str, System] = {"ours": ours(Method()), "Lead-3": lead3, "TextRank": textrank}
    held = heldout_cases()
    for case in held:
        summarize(case.interview)
    print(
        f"== HELD-OUT SET: {len(held)} pieces in tests/data/heldout/, references written before "
        "the summarizer ran on them; the method was not tuned on them (the numbers to quote) ==\n"
        "ROUGE F1 on lemmas\n"
    )
    print(table(held, systems, per_piece=True))
    print()
    print(reading_table(held, systems))
    print("\nGists answering their question (held-out expectations)\n")
    total_good = total = 0
    for case in held:
        good, count, misses = gists_answering(
            case.interview, DATA / "heldout" / f"{case.name}.gists.json"
        )
        total_good += good
        total += count
        print(f"- {case.name}: {good}/{count}" + "".join(f"\n    miss {m}" for m in misses))
    print(f"- all: {total_good}/{total}")
    print(
        f"\n== TUNING SET: {len(case_list)} interviews in tests/data/interviews/ with references "
        "in tests/data/summaries/; the method was tuned on these, so they flatter it ==\n"
        f"ROUGE F1 on lemmas (pymorphy3 load {load_ms:.0f} ms)\n"
    )
    print(table(case_list, systems, per_piece=True))
    print()
    print(reading_table(case_list, systems))
    print("\nWhat the summaries are made of (totals over the pieces, per piece where averaged)\n")
    print(structure(case_list, systems))

    if args.ablation:
        variants: dict[str, System] = {
            "ours": ours(Method()),
            "no priors": ours(Method(priors=False)),
            "no MMR": ours(Method(mmr=False)),
            "centroid": ours(Method(centrality="centroid")),
            "no priors, no MMR": ours(Method(priors=False, mmr=False)),
        }
        print("\nAblation (averages)\n")
        print(table(case_list, variants, per_piece=False))
        print()
        print(structure(case_list, variants))

    long_piece = synthetic(case_list)
    paragraphs = [*long_piece.lead, *(p for t in long_piece.turns for p in t.question + t.answer)]
    word_count = sum(len(words(p)) for p in paragraphs)
    sentence_count = len(sentences_of(long_piece))
    distinct = len({w.lower() for p in paragraphs for w in words(p)})
    clear_caches()
    started = time.perf_counter()
    summarize(long_piece)
    cold = time.perf_counter() - started
    warm = math.inf
    for _ in range(3):
        started = time.perf_counter()
        summary = summarize(long_piece)
        warm = min(warm, time.perf_counter() - started)
    if args.ablation:
        print("\nNear-duplicate pairs on the synthetic piece (default / long summary)\n")
        for name, settings in {
            "ours": Method(),
            "no MMR": Method(mmr=False),
            "no priors": Method(priors=False),
            "no priors, no MMR": Method(priors=False, mmr=False),
        }.items():
            variant = summarize(long_piece, settings)
            pairs = f"{near_duplicates(variant.text)} / {near_duplicates(variant.long)}"
            print(f"- {name}: {pairs}")
    print(
        f"\nSynthetic interview: {word_count:,} words, {len(long_piece.turns)} turns, "
        f"{sentence_count:,} sentences, {distinct:,} distinct word forms: {cold:.2f} s with cold "
        f"lemma caches, {warm:.2f} s warm (best of 3) "
        f"({len(summary.text)} sentences, {len(' '.join(summary.text))} chars)"
    )


if __name__ == "__main__":
    main()
