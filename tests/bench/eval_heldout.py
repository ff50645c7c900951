"""Per-piece summary quality on one held-out set (by date, ``tests/data/heldout/sets.json``).

Run: ``.venv/bin/python -m tests.bench.eval_heldout [SET ...] [-v] [--from FILE]`` (default:
every set and the tuning set). For each piece: ROUGE-1/2/L of ours, Lead-3 and TextRank, facts
kept, sentences starting mid-thought and gists answering (``*.gists.json``: one of ``any``, none
of ``not``); then the means. The measures are ``tests.bench.bench_summary``'s, so the numbers are
comparable with ``make bench-summary``. ``--from FILE`` scores summaries stored as JSON
(``{piece: {"text": [...], "gists": [...]}}``, e.g. made by another revision) with today's
measures, for before/after tables.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from bot.domain.parsing import parse_interview
from bot.domain.summarizer import summarize
from tests.bench.bench_summary import (
    DATA,
    Case,
    Scores,
    cases,
    facts_kept,
    lead3,
    mid_thought,
    score_gists,
    textrank,
)

HELDOUT = DATA / "heldout"
Stored = dict[str, dict[str, list[str]]]


def heldout_set(name: str) -> list[Case]:
    names = json.loads((HELDOUT / "sets.json").read_text(encoding="utf-8"))[name]
    result = []
    for piece in names:
        text = (HELDOUT / f"{piece}.txt").read_text(encoding="utf-8")
        reference = (HELDOUT / f"{piece}.summary.txt").read_text(encoding="utf-8").split("\n")
        result.append(Case(piece, parse_interview(text), [r for r in reference if r.strip()]))
    return result


def report(
    title: str, case_list: Sequence[Case], gists: bool, verbose: bool, stored: Stored | None
) -> None:
    print(f"\n## {title}\n")
    print("| piece | ours R1 / R2 / RL | Lead-3 R1 | TextRank R1 | facts | mid | gists |")
    print("|---|---|---|---|---|---|---|")
    ours_all, lead_all, tr_all, kept_all = [], [], [], []
    wins = mid_total = good_total = gist_total = 0
    for case in case_list:
        if stored is not None:
            summary, piece_gists = stored[case.name]["text"], stored[case.name]["gists"]
        else:
            made = summarize(case.interview)
            summary, piece_gists = list(made.text), list(made.gists)
        k = len(summary)
        ours = Scores.of(summary, case.reference)
        lead = Scores.of(lead3(case.interview, k), case.reference)
        tr = Scores.of(textrank(case.interview, k), case.reference)
        kept = facts_kept(summary, case.reference)
        mid = mid_thought(summary, case.interview)
        ours_all.append(ours)
        lead_all.append(lead)
        tr_all.append(tr)
        kept_all.append(kept)
        wins += ours.r1 > lead.r1
        mid_total += mid
        gist_cell = "–"
        misses: list[str] = []
        if gists:
            good, count, misses = score_gists(piece_gists, HELDOUT / f"{case.name}.gists.json")
            good_total += good
            gist_total += count
            gist_cell = f"{good}/{count}"
        mark = "" if ours.r1 > lead.r1 else " **(loses)**"
        print(
            f"| {case.name} | {ours.r1:.3f} / {ours.r2:.3f} / {ours.rl:.3f}{mark} | "
            f"{lead.r1:.3f} | {tr.r1:.3f} | {kept:.0%} | {mid} | {gist_cell} |"
        )
        if verbose:
            for sentence in summary:
                print(f"|   | {sentence} |")
            for miss in misses:
                print(f"|   | gist miss {miss} |")
    o, ld, t = Scores.mean(ours_all), Scores.mean(lead_all), Scores.mean(tr_all)
    gist_cell = f"{good_total}/{gist_total}" if gists else "–"
    print(
        f"| **mean** | **{o.r1:.3f} / {o.r2:.3f} / {o.rl:.3f}** | {ld.r1:.3f} / {ld.r2:.3f} / "
        f"{ld.rl:.3f} | {t.r1:.3f} / {t.r2:.3f} / {t.rl:.3f} | "
        f"{sum(kept_all) / len(kept_all):.0%} | {mid_total} | {gist_cell} |"
    )
    lead_kept = sum(facts_kept(lead3(c.interview, 3), c.reference) for c in case_list)
    print(
        f"\nbeats Lead-3 R1 on {wins} of {len(case_list)}; "
        f"Lead-3 facts kept {lead_kept / len(case_list):.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", help="held-out sets by date (default: all + tuning)")
    parser.add_argument("-v", action="store_true", help="print the summaries and gist misses")
    parser.add_argument("--from", dest="stored", type=Path, help="score stored summaries")
    args = parser.parse_args()
    stored = json.loads(args.stored.read_text(encoding="utf-8")) if args.stored else None
    sets = json.loads((HELDOUT / "sets.json").read_text(encoding="utf-8"))
    for name in args.sets or [k for k in sets if not k.startswith("_")]:
        report(f"held-out {name}", heldout_set(name), True, args.v, stored)
    if not args.sets:
        report("tuning set", cases(), False, args.v, stored)


if __name__ == "__main__":
    main()
