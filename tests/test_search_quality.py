"""Search quality over the six real interviews: the query sets the benchmark reports on
(``tests/data/search_queries.tsv``, written with the engine, and
``search_queries_holdout.tsv``, written by someone who had not seen it), typed as in inline
mode. Every query must find an expected quote among the first five, and nearly all first."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.publishing import prepare, store
from storage import Repository
from tests.bench.bench_search import DATA, QUERY_SETS, expected_rank, quality_queries, real_pieces

INGEST = DATA / "ingest"
ENGLISH_QUERIES = DATA / "search_queries_english.tsv"


@pytest.mark.parametrize("name", list(QUERY_SETS))
async def test_query_set_finds_the_expected_quotes(tmp_path: Path, name: str) -> None:
    repo = await Repository.open(tmp_path / "db.sqlite3")
    try:
        for prepared in real_pieces():
            await store(repo, prepared)
        queries = quality_queries(QUERY_SETS[name])
        missed, not_first = [], []
        for kind, query, expected in queries:
            rank = await expected_rank(repo, query, expected)
            if rank is None:
                missed.append((kind, query))
            elif rank:
                not_first.append((kind, query))
    finally:
        await repo.close()
    assert len(queries) >= 80
    assert not missed, f"not in the first five: {missed}"
    assert len(not_first) <= len(queries) // 20, f"found but not first: {not_first}"


async def test_english_word_forms_find_their_quotes(tmp_path: Path) -> None:
    """``search_queries_english.tsv``: English queries in other word forms than the quote's
    (stemming), over the English interview published among the Russian ones."""
    repo = await Repository.open(tmp_path / "db.sqlite3")
    try:
        for prepared in real_pieces():
            await store(repo, prepared)
        english = INGEST / "english-qa.txt"
        await store(repo, prepare(english.read_bytes(), name=english.name))
        queries = quality_queries(ENGLISH_QUERIES)
        ranks = {
            query: await expected_rank(repo, query, expected) for _k, query, expected in queries
        }
    finally:
        await repo.close()
    assert len(queries) >= 25
    assert all(rank == 0 for rank in ranks.values()), ranks
