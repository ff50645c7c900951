"""Quote search: the text side (bot/domain/matching.py) and the engine on a real SQLite file
(storage/quote_index.py through Repository): morphology, folding, prefixes, typos, symbols,
ranking, paging, hostile input (with hypothesis), and the inline handler's answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import AnswerInlineQuery, TelegramMethod
from aiogram.types import InlineQuery, User
from aiogram.utils.i18n import I18n
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bot.cli
from bot.domain.matching import (
    KEY_SYMBOLS,
    coverage_stages,
    fold,
    key_groups,
    key_text,
    parse_query,
    pick_typos,
    quote_term,
    tokens,
    typo_probe_keys,
)
from bot.domain.models import Interview, QuoteHit, Summary, Turn
from bot.domain.parsing import extract_quotes
from bot.i18n import build_i18n
from bot.publishing import prepare, seed_bytes, store
from handlers.search import inline_search, parse_offset
from storage import Repository
from storage import quote_index as search_sql
from tests.conftest import DATA
from tests.fakegram import parse_html

START = datetime(2025, 1, 1, tzinfo=UTC)

FARM = Interview(
    title="Овцеводы и климат",
    lead=("Фермер рассказал о стаде.",),
    turns=(
        Turn(
            1,
            ("Сколько у вас овец?",),
            ("У нас триста овец и двадцать коз. Зимой овцы стоят в кошаре.",),
        ),
        Turn(
            2,
            ("А выбросы?",),
            (
                "Выбросы CO2 на ферме мы считаем каждый год. Про R&D у нас пока не думают.",
                "Американо-казахстанского рынка шерсти не существует, — смеется фермер.",
            ),
        ),
        Turn(
            3,
            ("Кто вам помогает?",),
            (
                "Токаеву писали письмо, ответа не было. О Токаеве пишут газеты. "
                "Поддержку Ёлкина мы ценим.",
            ),
        ),
    ),
    speaker="Иван Овечкин",
)


async def publish(
    repo: Repository, interview: Interview, *, hours: int, tag: str | None = None
) -> int:
    return await repo.add_piece(
        interview,
        Summary(text=()),
        extract_quotes(interview),
        source_hash=tag or f"{interview.title}-{hours}",
        published_at=START + timedelta(hours=hours),
    )


def one_answer(title: str, *sentences: str) -> Interview:
    return Interview(title, (), (Turn(1, ("Вопрос?",), (" ".join(sentences),)),), speaker="Эксперт")


@pytest.fixture
async def archive(tmp_path: Path) -> Iterator[Repository]:
    """The bundled interview, the technopark interview and a farm interview (newest)."""
    repo = await Repository.open(tmp_path / "db.sqlite3")
    await store(repo, prepare(seed_bytes()))
    await store(repo, prepare((DATA / "interviews" / "technopark-rnd-interview.txt").read_bytes()))
    await publish(repo, FARM, hours=10**5)
    try:
        yield repo
    finally:
        await repo.close()


async def texts(repo: Repository, query: str, limit: int = 5) -> list[str]:
    return [h.text for h in await repo.search_quotes(query, limit=limit)]


async def first(repo: Repository, query: str) -> str:
    found = await texts(repo, query, 1)
    assert found, f"nothing found for {query!r}"
    return found[0]


# -- text side -------------------------------------------------------------------------------


def test_fold_case_yo_and_diacritics() -> None:
    assert fold("ЁЛКА Café Йод") == "елка cafe йод"


def test_lookalike_letters_fold_inside_codes() -> None:
    latin, cyrillic = tokens("C5+1")[0].form, tokens("С5+1")[0].form
    assert latin == cyrillic == "c5+1"
    assert tokens("СО2")[0].form == tokens("CO₂")[0].form == "co2"
    assert tokens("Тoкаев")[0].form == "токаев"  # a Latin "o" typed inside a Russian word


def test_symbols_survive_as_tokens() -> None:
    forms = [t.form for t in tokens("R&D, <5% выручки, 0,13% ВВП, C5+1, CO2 и 80 миллионов")]
    assert forms == ["r&d", "<5%", "выручки", "0.13%", "ввп", "c5+1", "co2", "и", "80", "миллионов"]
    assert key_text("<5%").split() == ["<5%", "5%", "5"]


def test_hyphenated_compounds_split_into_words() -> None:
    assert [t.form for t in tokens("американо-казахстанского")] == ["американо", "казахстанского"]


def test_all_lemma_candidates_are_keys() -> None:
    # pymorphy3's first parse of "Токаев" is "токай", of "Токаева" is "токаева": both sides
    # carry every candidate, so they meet on "токаев"
    assert set(key_text("Токаев").split()) & set(key_text("Токаева").split()) == {"токаев"}


def test_last_word_is_a_prefix_while_typed() -> None:
    assert parse_query("сирийский проц")[-1].prefix
    assert not parse_query("сирийский процесс ")[-1].prefix
    assert not parse_query("сирийский процесс.")[-1].prefix
    assert [w.optional for w in parse_query("мост между востоком и западом")] == [
        False,
        False,
        False,
        True,
        False,
    ]
    assert not parse_query("и")[0].optional  # a query of stop words only still searches


def test_match_expressions_hold_only_quoted_keys() -> None:
    hostile = 'NEAR("a" b) AND c* OR -d: ^e "'
    for word in parse_query(hostile):
        for key in word.keys:
            assert '"' not in key and "*" not in key and "(" not in key
    assert quote_term('a"b') == '"a""b"'
    assert coverage_stages([["a"], ["b"]]) == ['(("a") AND ("b"))', '("a") OR ("b")']


def test_typo_candidates_prefer_fewest_edits_then_frequency() -> None:
    assert "такаев" in typo_probe_keys("такаев")
    assert pick_typos("такаев", [("токаев", 3), ("токаева", 9), ("такт", 99)]) == ["токаев"]
    assert typo_probe_keys("тока") == []  # short words are never "corrected"
    # a long word misspelt in its ending too: the stem decides, any iterable of candidates
    stems = iter([("дипломатического", 5), ("дипломат", 9), ("диплодок", 1)])
    assert pick_typos("дипламатическава", stems) == ["дипломатического"]
    assert pick_typos("дипламатическава", [("дипломатического", 5)], limit=0) == []


def test_english_word_forms_meet_on_their_stems() -> None:
    for text, query in [("rate", "rates"), ("run", "running"), ("investment", "investments")]:
        query_keys = set(parse_query(query + " ")[0].keys)
        assert query_keys & set(key_text(text).split()), (text, query)
    assert key_text("Households") == "households household"
    # Russian words keep pymorphy3's lemmas; Latin stop words and codes get no stem
    assert set(key_text("Токаева").split()) == {"токаева", "токаев"}
    assert key_text("the CO2") == "the | co2"


# -- engine ----------------------------------------------------------------------------------


async def test_morphology(archive: Repository) -> None:
    for query in ("Токаев", "Токаева", "Токаеву", "Токаевым"):
        assert "Токаев" in await first(archive, query)
    # "овцы" and "овец" are forms of one word: each finds both sentences
    for query in ("овцы", "овец", "овца"):
        found = await texts(archive, query)
        assert any("овец" in t for t in found) and any("овцы" in t for t in found), query
    assert "Сирийского процесса" in await first(archive, "сирийский процесс")


async def test_folding(archive: Repository) -> None:
    assert "партнёрства" in await first(archive, "ПАРТНЕРСТВО")
    assert "Ёлкина" in await first(archive, "елкин")
    assert "Американо-казахстанского" in await first(archive, "казахстанский")
    assert "С5+1" in await first(archive, "C5+1")  # Latin C finds Cyrillic С
    assert "С5+1" in await first(archive, "С5+1")


async def test_prefix_of_the_word_being_typed(archive: Repository) -> None:
    assert "ExxonMobil" in await first(archive, "exx")
    assert "поляризации" in await first(archive, "Токаев поляриз")
    # a finished word ranks its own forms above longer words that merely start with it
    assert "Токаев" in await first(archive, "Токаев")


async def test_typos_on_longer_words_only(archive: Repository) -> None:
    assert "Токаев" in await first(archive, "Такаев")
    assert "ExxonMobil" in await first(archive, "ExxonMobill")
    assert "Вашингтона" in await first(archive, "Вашингтно")
    assert await texts(archive, "Ткай ") == []  # four letters: too short to guess "токай"
    # misspelt stem and ending, as heard: two edits in the stem, three in the ending
    assert "исследовательские" in await first(archive, "исследаватильскаво ")
    # a known word is taken as typed, not "corrected" into something more frequent
    assert all("овец" in t or "овцы" in t for t in await texts(archive, "овец"))


async def test_symbols_that_matter(archive: Repository) -> None:
    assert "R&D" in await first(archive, "R&D")
    assert "<5%" in await first(archive, "<5%")
    assert "<5%" in await first(archive, "5%")
    assert "CO2" in await first(archive, "CO2")
    assert "CO2" in await first(archive, "СО2")  # Cyrillic letters
    assert "80 миллионов" in await first(archive, "80 миллионов")


async def test_search_by_who_said_it(archive: Repository) -> None:
    # the seed's expert, in any case form, alone or with a word he used
    for query in ("Курамаев", "Курамаева", "курамаеву ", "Байкадам Курамаев", "Курама"):
        hits = await archive.search_quotes(query, limit=5)
        assert hits and all(h.speaker == "Байкадам Курамаев" for h in hits), query
    hits = await archive.search_quotes("Курамаев Токаев", limit=3)
    assert hits[0].speaker == "Байкадам Курамаев" and "Токаев" in hits[0].text
    # the farmer's name finds the farm piece, whose text never names him
    hits = await archive.search_quotes("Овечкина", limit=3)
    assert hits and all(h.piece_title == FARM.title for h in hits)
    # a word of the name next to a word of the quote is no phrase
    assert "Токаев" in (await archive.search_quotes("Токаев", limit=1))[0].text


async def test_english_word_forms(tmp_path: Path) -> None:
    repo = await Repository.open(tmp_path / "db.sqlite3")
    try:
        english = (DATA / "ingest" / "english-qa.txt").read_bytes()
        await store(repo, prepare(english, name="english-qa.txt"))
        await publish(repo, one_answer("Farms", "We run three wind farms in the north."), hours=1)
        assert "at the rate we have seen" in await first(repo, "cheaper rates ")
        assert "Total investment" in await first(repo, "total investments ")
        assert "Households pay" in await first(repo, "household paying")
        assert "We run three wind farms" in await first(repo, "running farm ")
        assert "We would like to localize more" in await first(repo, "localization of blades ")
    finally:
        await repo.close()


async def test_name_and_word_put_that_speakers_sentence_first(tmp_path: Path) -> None:
    """ "Петров маршрут" asks what Petrov said about routes: his sentence comes before a newer
    one by someone else that names Petrov near a route."""
    repo = await Repository.open(tmp_path / "db.sqlite3")
    try:
        own = Interview(
            "Транспорт",
            (),
            (Turn(1, ("Что изменится?",), ("Каждый маршрут станет короче.",)),),
            speaker="Олег Петров",
        )
        other = Interview(
            "Слухи",
            (),
            (Turn(1, ("А Петров?",), ("Маршрут выбирал не Олег Петров, а мэрия.",)),),
            speaker="Анна Смирнова",
        )
        await publish(repo, own, hours=1)
        await publish(repo, other, hours=2)
        hits = await repo.search_quotes("Петров маршрут", limit=5)
        assert [h.speaker for h in hits] == ["Олег Петров", "Анна Смирнова"]
    finally:
        await repo.close()


async def test_distorted_spellings_are_not_lemmas(tmp_path: Path) -> None:
    """pymorphy3 reads "тока" also as a distorted "только": that reading must not match."""
    repo = await Repository.open(tmp_path / "db.sqlite3")
    try:
        await publish(repo, one_answer("Ток", "Сила тока выросла вдвое."), hours=1)
        await publish(repo, one_answer("Только", "Мы только начали работу."), hours=2)
        assert await texts(repo, "тока ") == ["Сила тока выросла вдвое."]
    finally:
        await repo.close()


async def test_all_words_before_some_words(tmp_path: Path) -> None:
    repo = await Repository.open(tmp_path / "db.sqlite3")
    try:
        await publish(repo, one_answer("Старый", "Газ и нефть Казахстана."), hours=1)
        await publish(repo, one_answer("Новый", "Нефть дорожает.", "Газ дешевеет."), hours=2)
        found = await texts(repo, "нефть газ")
        assert found[0] == "Газ и нефть Казахстана."  # older, but has both words
        assert set(found[1:]) == {"Нефть дорожает.", "Газ дешевеет."}
    finally:
        await repo.close()


async def test_phrase_before_scattered_and_newer_first_on_ties(tmp_path: Path) -> None:
    repo = await Repository.open(tmp_path / "db.sqlite3")
    try:
        scattered = "Процесс идет, а сирийский вопрос решают другие, и это видно."
        phrase = "Сирийский процесс продолжается."
        await publish(repo, one_answer("Фраза", phrase), hours=1)
        await publish(repo, one_answer("Разброс", scattered), hours=2)
        assert await texts(repo, "сирийский процесс") == [phrase, scattered]
        # the same sentence in two pieces: the newer piece first
        await publish(repo, one_answer("Еще раз", phrase), hours=3, tag="again")
        hits = await repo.search_quotes("сирийский процесс", limit=5)
        assert [h.piece_title for h in hits[:2]] == ["Еще раз", "Фраза"]
    finally:
        await repo.close()


async def test_hits_are_attributed(archive: Repository) -> None:
    [hit] = await archive.search_quotes("ExxonMobil", limit=1)
    assert hit.speaker == "Байкадам Курамаев"
    assert hit.turn_number == 2
    piece = await archive.get_piece(hit.piece_id)
    assert piece is not None and hit.piece_title == piece.title
    assert "ExxonMobil" in " ".join(piece.turns[hit.turn_number - 1].answer)


async def test_paging_is_consistent(archive: Repository) -> None:
    everything = await archive.search_quotes("в", limit=200)
    assert len(everything) > 20
    pages = [await archive.search_quotes("в", limit=7, offset=o) for o in range(0, 21, 7)]
    assert [h.quote_id for page in pages for h in page] == [h.quote_id for h in everything[:21]]
    assert await archive.search_quotes("в", limit=7, offset=10_000) == []


async def test_top_quotes_of_a_piece(archive: Repository) -> None:
    piece_id = await archive.latest_piece_id()
    assert piece_id is not None
    top = await archive.top_quotes(piece_id, 3)
    assert len(top) == 3 and all(h.piece_id == piece_id for h in top)
    seed_top = await archive.top_quotes(1, 5)
    assert all(len(h.text.split()) >= 6 and not h.text.endswith("?") for h in seed_top)


@pytest.mark.parametrize("version", [0, 99])
async def test_index_is_built_on_first_search_when_missing_or_stale(
    tmp_path: Path, version: int
) -> None:
    """Version 0: quotes published before migration 0002; another version: the normaliser
    changed. Either way the first search rebuilds the index, even after a newer publish."""
    db = tmp_path / "db.sqlite3"
    repo = await Repository.open(db)
    await store(repo, prepare(seed_bytes()))
    async with repo.transaction() as conn:
        await conn.execute("DELETE FROM search_docs")
        await conn.execute("DELETE FROM search_vocab")
        await conn.execute("UPDATE search_state SET version = ?", (version,))
    await repo.close()
    repo = await Repository.open(db)
    try:
        await publish(repo, FARM, hours=10**5)
        assert "Токаев" in await first(repo, "Токаева")
        assert "овец" in await first(repo, "овец")
        counts = await search_sql.stats(repo._conn)
        assert counts["search_docs"] == 26 + len(extract_quotes(FARM))
    finally:
        await repo.close()


async def test_a_big_rebuild_runs_in_the_background_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale index over more than REINDEX_NOW quotes: searches answer at once from what is
    indexed (newest pieces first), short batches, a restart resumes where it stopped."""
    db = tmp_path / "db.sqlite3"
    repo = await Repository.open(db)
    for hour in range(12):
        await publish(repo, FARM, hours=hour, tag=f"farm-{hour}")
    async with repo.transaction() as conn:
        await conn.execute("UPDATE search_state SET version = 1")
    await repo.close()
    total = 12 * len(extract_quotes(FARM))
    monkeypatch.setattr(search_sql, "REINDEX_NOW", 10)
    monkeypatch.setattr(search_sql, "REINDEX_BATCH", 8)

    # a restart in the middle: two batches done, then the process stops
    repo = await Repository.open(db)
    try:
        await repo._reset_stale_index()
        for _ in range(2):
            rows = await search_sql.next_batch(repo._conn)
            async with repo.transaction() as conn:
                assert await search_sql.store_batch(conn, rows, search_sql.prepare_docs(rows))
        newest = await repo.latest_piece_id()
        assert newest is not None
        hits = await search_sql.search(repo._conn, "овец", limit=50)  # what is indexed so far
        assert {h.piece_id for h in hits} == {newest, newest - 1}
        assert await repo.prepare_search() > 0  # the rest goes to the background
    finally:  # ... and is cancelled here
        await repo.close()

    repo = await Repository.open(db)
    try:
        assert 0 < await search_sql.pending_quotes(repo._conn) < total
        assert await repo.prepare_search() > 0  # resumes in the background
        assert repo._reindex is not None
        await publish(repo, FARM, hours=99, tag="farm-new")  # writes go on meanwhile
        await repo._reindex
        assert await search_sql.pending_quotes(repo._conn) == 0
        counts = await search_sql.stats(repo._conn)
        assert counts["search_docs"] == total + len(extract_quotes(FARM))
        hits = await repo.search_quotes("овец", limit=50)
        assert len({h.piece_id for h in hits}) == 13
    finally:
        await repo.close()


async def test_a_fresh_database_keeps_the_index_its_pieces_were_published_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pieces published into a new database are searchable after a restart at once: their
    index is not mistaken for an outdated one and thrown away (which, at a large archive,
    left searches answering from a partial index while it was rebuilt)."""
    monkeypatch.setattr(search_sql, "REINDEX_NOW", 10)
    db = tmp_path / "db.sqlite3"
    repo = await Repository.open(db)
    for hour in range(3):
        await publish(repo, FARM, hours=hour, tag=f"farm-{hour}")
    await repo.close()

    repo = await Repository.open(db)
    try:
        assert await repo.prepare_search() == 0  # nothing to rebuild
        assert repo._reindex is None
        hits = await repo.search_quotes("овец", limit=50)
        assert len({h.piece_id for h in hits}) == 3
    finally:
        await repo.close()


def test_reindex_command_brings_a_stale_index_up_to_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "db.sqlite3"

    async def publish_under_an_old_normaliser() -> int:
        repo = await Repository.open(db)
        try:
            await store(repo, prepare(seed_bytes()))
            hits = len(await repo.search_quotes("Токаев", limit=50))
            async with repo.transaction() as conn:
                await conn.execute("UPDATE search_state SET version = 1")
            return hits
        finally:
            await repo.close()

    async def state() -> tuple[search_sql.IndexState, int]:
        repo = await Repository.open(db)
        try:
            return await search_sql.index_state(repo._conn), await search_sql.pending_quotes(
                repo._conn
            )
        finally:
            await repo.close()

    async def search_after_reindex() -> list[QuoteHit]:
        repo = await Repository.open(db)
        try:
            return await search_sql.search(repo._conn, "Токаев", limit=50)
        finally:
            await repo.close()

    hits = asyncio.run(publish_under_an_old_normaliser())
    monkeypatch.setenv("DATABASE_PATH", str(db))
    monkeypatch.setenv("BOT_TOKEN", "")
    monkeypatch.setattr(bot.cli, "setup_logging", lambda *a, **k: None)
    assert bot.cli.main(["reindex"]) == 0
    assert "search index up to date: 26 quotes indexed" in capsys.readouterr().out
    index, pending = asyncio.run(state())
    assert index.current and pending == 0
    assert bot.cli.main(["reindex"]) == 0  # nothing left to do
    assert "up to date: 0 quotes indexed" in capsys.readouterr().out
    assert len(asyncio.run(search_after_reindex())) == hits > 0


def test_reindex_gives_an_older_index_the_english_stems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database indexed before English stems (normaliser 2) gets them from ``reindex``."""
    db = tmp_path / "db.sqlite3"

    async def publish_with_the_old_keys() -> None:
        repo = await Repository.open(db)
        try:
            english = (DATA / "ingest" / "english-qa.txt").read_bytes()
            await store(repo, prepare(english, name="english-qa.txt"))
            async with repo.transaction() as conn:
                for quote_id, keys in await conn.execute_fetchall(
                    "SELECT quote_id, keys FROM search_docs"
                ):
                    forms = " | ".join(group[0] for group in key_groups(keys))
                    await conn.execute(
                        "UPDATE search_docs SET keys = ? WHERE quote_id = ?", (forms, quote_id)
                    )
                await conn.execute("UPDATE search_state SET version = 2")
        finally:
            await repo.close()

    async def keys_and_first_hit() -> tuple[set[str], str]:
        repo = await Repository.open(db)
        try:
            rows = await repo._conn.execute_fetchall("SELECT keys FROM search_docs")
            keys = {k for row in rows for g in key_groups(row[0]) for k in g}
            hits = await search_sql.search(repo._conn, "total investments ", limit=1)
            return keys, hits[0].text
        finally:
            await repo.close()

    asyncio.run(publish_with_the_old_keys())
    stems = {"household", "realist", "congest"}
    assert not stems & asyncio.run(keys_and_first_hit())[0]
    monkeypatch.setenv("DATABASE_PATH", str(db))
    monkeypatch.setenv("BOT_TOKEN", "")
    monkeypatch.setattr(bot.cli, "setup_logging", lambda *a, **k: None)
    assert bot.cli.main(["reindex"]) == 0
    assert "search index up to date" in capsys.readouterr().out
    keys, top = asyncio.run(keys_and_first_hit())
    assert stems <= keys
    assert "Total investment" in top


HOSTILE = [
    "",
    " ",
    '"',
    '""',
    "*",
    "NEAR(a b)",
    "NEAR",
    "a AND",
    "OR",
    "NOT x",
    "-x",
    "col:val",
    "keys:токаев",
    "^start",
    "(",
    ")",
    "{keys}",
    "\x00",
    "Токаев\x00",
    "\ud800",
    "a\udfffb",
    "<b>Токаев</b>",
    "&amp;",
    "я" * 256,
    "Токаев " * 40,
    "в" * 300,
    " ".join(["в"] * 128),
    "💥",
    "ё",
    "\u0301",
    "%",
    "+",
    "<",
]


async def test_hostile_input_is_answered(archive: Repository) -> None:
    for query in HOSTILE:
        hits = await archive.search_quotes(query, limit=50)
        assert len(hits) <= 50
    assert "Токаев" in await first(archive, '"Токаев" AND NOT')


# -- property-based: the engine and the inline handler never fail ----------------------------


class _Loop:
    """A repository on its own event loop, shared by the examples hypothesis generates."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.repo = self.run(Repository.open(path))
        self.run(store(self.repo, prepare(seed_bytes())))

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.repo.close())
        self.loop.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Loop]:
    rig = _Loop(tmp_path_factory.mktemp("search") / "db.sqlite3")
    token = I18n.set_current(build_i18n())  # the dispatcher's middleware does this per update
    try:
        yield rig
    finally:
        I18n.reset_current(token)
        rig.close()


QUERY_TEXT = st.one_of(
    st.text(max_size=256),
    st.text(alphabet=st.sampled_from('"*()^:-+<>%&|{} ANDORNEARТокаевкз5\x00\ud800'), max_size=64),
    st.lists(st.sampled_from(["Токаев", "NEAR", "AND", '"', "*", "в", "C5+1", "овцы", "exx"])).map(
        " ".join
    ),
)


@settings(max_examples=300, deadline=None)
@given(text=QUERY_TEXT)
def test_keys_never_carry_fts_syntax(text: str) -> None:
    """Whatever the text, its keys are words FTS5's tokenizer keeps whole: letters, digits and
    KEY_SYMBOLS, nothing that could open a string, a group, a column filter or a prefix."""
    for group in key_groups(key_text(text)):
        for key in group:
            assert key and all(c.isalnum() or c in KEY_SYMBOLS for c in key), key
            assert not any(0xD800 <= ord(c) <= 0xDFFF for c in key)
    for word in parse_query(text):
        assert all(k and all(c.isalnum() or c in KEY_SYMBOLS for c in k) for k in word.keys)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=QUERY_TEXT, limit=st.integers(-5, 80), offset=st.integers(-5, 400))
def test_search_never_fails(shared: _Loop, query: str, limit: int, offset: int) -> None:
    hits = shared.run(shared.repo.search_quotes(query, limit=limit, offset=offset))
    assert len(hits) <= max(0, limit)
    assert len({h.quote_id for h in hits}) == len(hits)


class FakeBot:
    """Enough of a Bot for the inline handler: who it is, and the method it is asked to call."""

    def __init__(self) -> None:
        self.calls: list[TelegramMethod[Any]] = []

    async def me(self) -> User:
        return User(id=1, is_bot=True, first_name="Bot", username="interview_test_bot")

    async def __call__(
        self, method: TelegramMethod[Any], request_timeout: int | None = None
    ) -> bool:
        self.calls.append(method)
        return True


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=QUERY_TEXT, offset=st.one_of(st.text(max_size=8), st.sampled_from(["0", "50", "150"])))
def test_inline_handler_always_answers_validly(shared: _Loop, query: str, offset: str) -> None:
    bot = FakeBot()
    inline_query = InlineQuery(
        id="q1",
        from_user=User(id=7, is_bot=False, first_name="R"),
        query=query,
        offset=offset,
    ).as_(bot)  # type: ignore[arg-type]
    shared.run(inline_search(inline_query, bot, shared.repo))  # type: ignore[arg-type]
    [call] = bot.calls
    assert isinstance(call, AnswerInlineQuery)
    assert len(call.results) <= 50
    assert len({r.id for r in call.results}) == len(call.results)
    assert call.is_personal is False and isinstance(call.cache_time, int)
    payload = call.model_dump(mode="json", exclude_unset=True)  # unset = the bot defaults
    json.dumps(payload, ensure_ascii=False).encode("utf-8")  # sendable: no lone surrogates
    for result in call.results:
        text = result.input_message_content.message_text  # type: ignore[union-attr]
        visible, _entities = parse_html(text)  # Telegram's HTML rules, as the emulator applies
        assert visible.startswith("«") and len(visible) <= 4096
        [[button]] = result.reply_markup.inline_keyboard  # type: ignore[union-attr]
        assert button.url and button.url.startswith("https://t.me/interview_test_bot?start=")
    if call.next_offset:  # the next page starts after the results sent (fewer when long)
        assert parse_offset(call.next_offset) == parse_offset(offset) + len(call.results)
