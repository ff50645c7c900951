"""Follows: parsing what a reader asks for, matching a piece once against every follow, quiet
hours and digest times (pure), and the repository's routing at publish (real SQLite files)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.follows import (
    MAX_FOLLOW_CHARS,
    MAX_FOLLOW_WORDS,
    MAX_FOLLOWS,
    FollowKind,
    FollowProblem,
    FollowSpec,
    KeyIndex,
    Mode,
    ReaderSettings,
    Silence,
    answering_speakers,
    digest_due,
    is_quiet,
    match_piece,
    parse_follow,
    piece_units,
)
from bot.domain.models import Turn
from bot.publishing import prepare, store
from storage import Repository
from tests.conftest import DATA


def spec(text: str, kind: FollowKind = FollowKind.TOPIC) -> FollowSpec:
    parsed = parse_follow(text, kind)
    assert isinstance(parsed, FollowSpec), parsed
    return parsed


# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", FollowProblem.EMPTY),
        ("   ", FollowProblem.EMPTY),
        ("тариф" * 30, FollowProblem.TOO_LONG),
        ("<b>тарифы</b>", FollowProblem.MARKUP),
        ("&lt;тарифы", FollowProblem.MARKUP),
        ('"тарифы" OR вода', FollowProblem.MARKUP),
        ("тарифы*", FollowProblem.MARKUP),
        ("NEAR(тарифы вода)", FollowProblem.MARKUP),
        ("speaker:Токаев", FollowProblem.MARKUP),
        ("💥🔥", FollowProblem.NO_WORDS),
        ("!!! ...", FollowProblem.NO_WORDS),
        ("я", FollowProblem.TOO_SHORT),
        ("и на в", FollowProblem.ONLY_COMMON),
        ("один два три четыре пять шесть семь", FollowProblem.TOO_MANY_WORDS),
    ],
)
def test_hostile_or_empty_input_is_refused(text: str, problem: FollowProblem) -> None:
    assert parse_follow(text) is problem


def test_one_meaning_is_one_follow_whatever_the_word_form() -> None:
    assert spec("тарифы на воду").norm == spec("тарифов на воде").norm == "тариф вода"
    assert spec("Токаев").norm == spec("Токаеву").norm == spec("токаевым").norm == "токаев"
    assert spec("Курамаевым").norm == spec("Курамаев").norm
    assert spec("R&D").words == (("r&d",),)
    assert spec("C5+1").phrase == "C5+1"


FOLLOW_TEXT = st.one_of(
    st.text(max_size=140),
    st.sampled_from(
        ["<i>x</i>", "a OR b", '"', "😀", "й", "тарифы на воду", "Курамаев", "\x00тарифы", "R&D"]
    ),
)


@settings(max_examples=300, deadline=None)
@given(text=FOLLOW_TEXT)
def test_any_follow_input_is_a_follow_or_a_clear_refusal(text: str) -> None:
    parsed = parse_follow(text)
    if isinstance(parsed, FollowProblem):
        return
    assert 0 < len(parsed.phrase) <= MAX_FOLLOW_CHARS
    assert not {'"', "*", "(", ")", ":"} & set(parsed.phrase)
    assert 1 <= len(parsed.words) <= MAX_FOLLOW_WORDS
    for keys in parsed.words:
        assert keys and all(key and " " not in key and '"' not in key for key in keys)
    assert parsed.norm and len(parsed.norm.split()) == len(parsed.words)
    assert parse_follow(parsed.phrase) == parsed  # what is stored parses to itself


# -- matching ----------------------------------------------------------------------------------

TURNS = (
    Turn(1, ("Почему растут тарифы?",), ("Тарифов на воду это не касается.",)),
    Turn(
        2,
        ("Кто за это отвечает?",),
        ("Вопрос к акимату, сказал Токаев.", "Я согласна."),
        ("Олег Пак", "Айгерим Нурланова"),
    ),
)


def index() -> KeyIndex:
    return KeyIndex.of(piece_units("Вода и свет", ("Лид про цены.",), "Олег Пак", TURNS))


def hits(follows: dict[int, tuple[int, FollowSpec]]) -> list[tuple[str, int, int, int, int, int]]:
    """What the key index returns for the piece: rows sharing a key with it."""
    keys = set(index().topic)
    rows = []
    for follow_id, (chat_id, s) in follows.items():
        for word, word_keys in enumerate(s.words):
            for key in word_keys:
                if key in keys:
                    rows.append(
                        (
                            key,
                            follow_id,
                            word,
                            len(s.words),
                            chat_id,
                            int(s.kind is FollowKind.SPEAKER),
                        )
                    )
    return rows


def test_a_piece_matches_topics_in_any_form_and_speakers_only_as_speakers() -> None:
    follows = {
        1: (10, spec("тарифы на воду")),  # one paragraph holds both words: answer 1
        2: (11, spec("Токаева")),  # mentioned in answer 2
        3: (12, spec("Токаев", FollowKind.SPEAKER)),  # mentioned, never answers: no
        4: (13, spec("Нурланову", FollowKind.SPEAKER)),  # answers in turn 2
        5: (14, spec("тарифы акимат")),  # never in one paragraph: no
        6: (15, spec("пенсии")),  # absent: no
        7: (10, spec("вода")),  # reader 10 again: one match for them
    }
    found = match_piece(index(), hits(follows))  # type: ignore[arg-type]
    assert sorted(found) == [10, 11, 13]
    assert (found[10].follow_id, found[10].turn) == (1, 1)
    assert found[11].turn == 2 and found[13].turn == 2


def test_answering_speakers_in_order_of_first_answer() -> None:
    assert answering_speakers("Олег Пак", TURNS) == ["Олег Пак", "Айгерим Нурланова"]
    assert answering_speakers(None, (Turn(1, ("?",), ("Да.",)),)) == []


# -- quiet hours and digests -------------------------------------------------------------------


def at(hour: int, minute: int = 0) -> float:
    return datetime(2026, 3, 10, hour, minute, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("silence", "utc_hour", "quiet"),
    [
        (Silence.QUIET, 17, True),  # 22:00 at UTC+5
        (Silence.QUIET, 16, False),  # 21:00
        (Silence.QUIET, 2, True),  # 07:00
        (Silence.QUIET, 3, False),  # 08:00
        (Silence.NEVER, 20, False),
        (Silence.ALWAYS, 9, True),
    ],
)
def test_quiet_hours_are_the_readers_own(silence: Silence, utc_hour: int, quiet: bool) -> None:
    assert is_quiet(ReaderSettings(silence=silence, utc_offset=300), at(utc_hour)) is quiet


def test_quiet_hours_within_one_day_and_empty() -> None:
    daytime = ReaderSettings(quiet_from=13 * 60, quiet_to=14 * 60, utc_offset=0)
    assert is_quiet(daytime, at(13, 30)) and not is_quiet(daytime, at(14))
    assert not is_quiet(ReaderSettings(quiet_from=60, quiet_to=60), at(1))


def test_the_digest_moment_is_the_latest_hour_passed_in_the_readers_zone() -> None:
    # 09:00 at UTC+3 is 06:00 UTC
    assert digest_due(at(7), 180, 9) == (date(2026, 3, 10), at(6))
    assert digest_due(at(5), 180, 9) == (date(2026, 3, 9), at(6) - 86400)


# -- the repository ----------------------------------------------------------------------------

TWO_EXPERTS = (DATA / "ingest" / "two-experts.txt").read_bytes()
FLOOD = (DATA / "interviews" / "spring-flood-short.txt").read_bytes()


async def _deliveries(repo: Repository, piece_id: int) -> dict[int, tuple[str | None, int | None]]:
    rows = await repo._fetchall(
        "SELECT chat_id, follow, turn FROM deliveries WHERE piece_id = ?",
        (piece_id,),
    )
    return {int(r[0]): (r[1], r[2]) for r in rows}


async def test_publishing_routes_a_piece_to_its_followers_once(repo: Repository) -> None:
    await repo.subscribe(1, "ru")  # everything
    await repo.add_follow(1, "ru", spec("НДС"))  # everything, and says why
    await repo.add_follow(2, "ru", spec("налогового кодекса"))  # follower only
    await repo.add_follow(2, "ru", spec("маслихаты"))  # a second match: still one delivery
    await repo.add_follow(3, "en", spec("эвакуация"))  # not in this piece
    await repo.add_follow(4, "ru", spec("Олега Пака", FollowKind.SPEAKER))
    await repo.add_follow(5, "ru", spec("Модератор", FollowKind.SPEAKER))  # asks, never answers
    await repo.add_follow(6, "ru", spec("НДС"))
    await repo.save_reader_settings(6, "ru", ReaderSettings(mode=Mode.NOTHING))
    piece_id = await store(repo, prepare(TWO_EXPERTS))
    found = await _deliveries(repo, piece_id)
    assert sorted(found) == [1, 2, 4]
    assert found[1][0] == "НДС"
    assert found[2][0] in ("налогового кодекса", "маслихаты")
    assert found[4][0] == "Олега Пака" and found[4][1] is not None
    broadcast = await repo.get_broadcast(piece_id)
    assert broadcast is not None and broadcast.total == 3


async def test_claims_carry_the_reason_and_silence(repo: Repository) -> None:
    await repo.add_follow(2, "ru", spec("НДС"))
    await repo.save_reader_settings(2, "ru", ReaderSettings(silence=Silence.ALWAYS))
    await repo.subscribe(3, "ru")
    await repo.save_reader_settings(3, "ru", ReaderSettings(silence=Silence.NEVER))
    await store(repo, prepare(TWO_EXPERTS))
    claims = {c.chat_id: c for c in await repo.claim_deliveries(10, lease=60)}
    assert claims[2].follow == "НДС" and claims[2].turn is not None and claims[2].silent
    assert claims[3].follow is None and not claims[3].silent


async def test_follow_limits_and_duplicates_change_nothing(repo: Repository) -> None:
    first = await repo.add_follow(1, "ru", spec("тарифы"))
    assert not isinstance(first, FollowProblem)
    assert await repo.add_follow(1, "ru", spec("тарифов")) is FollowProblem.DUPLICATE
    for i in range(MAX_FOLLOWS - 1):
        assert not isinstance(await repo.add_follow(1, "ru", spec(f"тема{i}")), FollowProblem)
    assert await repo.add_follow(1, "ru", spec("вода")) is FollowProblem.LIMIT
    assert len(await repo.follows_of(1)) == MAX_FOLLOWS
    assert await repo.remove_follow(2, first.id) is None  # someone else's
    assert await repo.remove_follow(1, first.id) == first
    assert [f.phrase for f in await repo.remove_follows_like(1, spec("Тема0").norm)] == ["тема0"]


async def test_a_follower_who_blocked_the_bot_gets_nothing_more(repo: Repository) -> None:
    await repo.add_follow(2, "ru", spec("НДС"))
    assert not await repo.mark_inactive(2, "blocked")  # not a subscriber; still recorded
    piece_id = await store(repo, prepare(TWO_EXPERTS))
    assert await _deliveries(repo, piece_id) == {}
    await repo.add_follow(2, "ru", spec("эвакуация"))  # they are back: /follow again
    piece_id = await store(repo, prepare(FLOOD))
    assert list(await _deliveries(repo, piece_id)) == [2]


async def test_unsubscribing_keeps_what_the_reader_follows(repo: Repository) -> None:
    await repo.subscribe(2, "ru")
    await repo.add_follow(2, "ru", spec("НДС"))
    await repo.unsubscribe(2)
    piece_id = await store(repo, prepare(TWO_EXPERTS))
    assert list(await _deliveries(repo, piece_id)) == [2]
    claims = await repo.claim_deliveries(10, lease=60)
    assert [c.chat_id for c in claims] == [2]  # not cancelled as "left"


async def test_digest_readers_get_items_then_one_digest_a_day(repo: Repository) -> None:
    await repo.add_follow(2, "ru", spec("НДС"))
    await repo.save_reader_settings(2, "ru", ReaderSettings(digest_hour=9, utc_offset=0))
    await repo.subscribe(3, "ru")
    await repo.save_reader_settings(3, "ru", ReaderSettings(digest_hour=9, utc_offset=0))
    first = await store(repo, prepare(TWO_EXPERTS))
    second = await store(repo, prepare(FLOOD))
    assert await _deliveries(repo, first) == {} and await _deliveries(repo, second) == {}
    items = await repo._fetchall("SELECT chat_id, piece_id FROM digest_items ORDER BY 1, 2")
    assert [tuple(r) for r in items] == [(2, first), (3, first), (3, second)]
    published = float((await repo._fetchone("SELECT max(added_at) FROM digest_items"))[0])
    day = datetime.fromtimestamp(published, UTC).date()
    nine = datetime(day.year, day.month, day.day, 9, tzinfo=UTC).timestamp()
    before = nine if published < nine else nine + 86400  # the next 09:00 after publishing
    assert await repo.schedule_digests(before - 1) == 0  # not yet
    assert await repo.schedule_digests(before + 60) == 2
    assert await repo.schedule_digests(before + 120) == 0  # once
    claims = await repo.claim_digests(10, lease=60)
    assert sorted(c.chat_id for c in claims) == [2, 3]
    entries = {c.chat_id: await repo.digest_entries(c.id) for c in claims}
    assert [e.piece_id for e in entries[3]] == [first, second]
    assert entries[2][0].follow == "НДС"


async def test_a_forged_unfollow_button_id_removes_nothing(tmp_path: Path) -> None:
    """Follow ids come back from buttons: one beyond SQLite's integers (found by the fuzz
    test) is an unknown follow, not an error."""
    from storage import Repository

    repo = await Repository.open(tmp_path / "bot.sqlite3")
    try:
        for forged in (2**70, -1, 0):
            assert await repo.remove_follow(7, forged) is None
    finally:
        await repo.close()
