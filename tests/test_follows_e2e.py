"""Follows end to end: readers follow through the real bot on the strict emulator, pieces are
published, and each reader gets exactly the pieces that match what they follow, once, silently
when they asked for silence; digest readers get one message a day, across a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bot.domain.follows import ReaderSettings, Silence, is_quiet, local_time
from bot.publishing import prepare, store
from storage import Repository
from tests.fakegram import SentMessage
from tests.harness import Harness, running_bot


def interview(title: str, lead: str, *turns: tuple[str, str]) -> bytes:
    lines = [title, "", lead, ""]
    for question, answer in turns:
        lines += [f"— {question}", f"— {answer}"]
    return "\n".join(lines).encode()


TARIFFS = interview(
    "Вода подорожает с января",
    "Председатель комитета по регулированию естественных монополий Айдар Сеитов рассказал, "
    "что изменится в коммунальных платежах.",
    (
        "Насколько вырастут платежи?",
        "Тарифов на воду это коснется в первую очередь: рост "
        "составит около 12 процентов, и это решение уже согласовано.",
    ),
    ("А электричество?", "Электроэнергия подорожает меньше, примерно на пять процентов."),
)
MENTIONS = interview(
    "Экспорт зерна: итоги сезона",
    "Председатель союза зернопереработчиков Дана Ахметова подвела итоги сезона.",
    ("Как прошел сезон?", "Сезон был непростым, но экспорт зерна вырос на треть."),
    (
        "Кто помогал с логистикой?",
        "Мы обсуждали маршруты с Курамаевым на прошлой неделе, и "
        "коридор через Каспий заработал быстрее.",
    ),
)
KURAMAEV = interview(
    "Самарканд и новые коридоры",
    "Байкадам Курамаев рассказал о встрече в Самарканде и транспортных коридорах.",
    (
        "Что решили в Самарканде?",
        "Мы договорились о едином расписании грузовых поездов, это ускорит доставку на двое суток.",
    ),
    ("Когда это заработает?", "Первые поезда пойдут весной, расписание уже готово."),
)


async def publish(h: Harness, data: bytes, speaker: str) -> int:
    piece_id = await store(h.repo, prepare(data, speaker=speaker))
    h.dp["broadcaster"].wake()
    return piece_id


async def settle(h: Harness, seconds: float = 1.5) -> None:
    """Let the broadcaster finish what is queued and make sure nothing more comes."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        counts = await h.repo._fetchone(
            "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
        )
        if counts is not None and counts[0] == 0:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(seconds)


def notifications(h: Harness, chat: int) -> list[SentMessage]:
    return [m for m in h.emu.messages(chat) if "🆕" in m.text]


def titles(h: Harness, chat: int) -> list[str]:
    found = []
    for message in notifications(h, chat):
        line = next(line for line in message.text.split("\n") if line.startswith("🆕"))
        found.append(line.removeprefix("🆕 "))
    return found


def send_params(h: Harness, chat: int) -> list[dict[str, Any]]:
    return [
        c.params
        for c in h.emu.calls
        if c.method == "sendMessage"
        and c.ok
        and int(c.params.get("chat_id", 0)) == chat
        and "🆕" in str(c.params.get("text", ""))
    ]


async def test_readers_get_exactly_the_pieces_they_follow(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        # the bundled piece (Курамаев answers) is out before anyone follows anything
        [reply] = await h.say(601, "/follow тарифы")
        assert "тарифы" in reply.text
        await h.say(602, "/follow Курамаева")  # a name in another case, as a topic
        answer = (await h.say(603, "/answer 1"))[-1]
        await h.tap(603, answer, "Курамаев")  # "Follow Байкадам Курамаев": as speaker
        await h.say(604, "/subscribe")
        await h.say(604, "/follow тарифы на воду")
        await h.say(605, "/follow пенсии")  # nothing about it

        tariffs = await publish(h, TARIFFS, "Айдар Сеитов")
        await publish(h, MENTIONS, "Дана Ахметова")
        await publish(h, KURAMAEV, "Байкадам Курамаев")
        await settle(h)

        assert titles(h, 601) == ["Вода подорожает с января"]
        assert titles(h, 602) == ["Экспорт зерна: итоги сезона", "Самарканд и новые коридоры"]
        assert titles(h, 603) == ["Самарканд и новые коридоры"]  # speaker, not mentioned
        assert sorted(titles(h, 604)) == sorted(
            [
                "Вода подорожает с января",
                "Экспорт зерна: итоги сезона",
                "Самарканд и новые коридоры",
            ]
        )  # everything, once
        assert titles(h, 605) == []

        [for_601] = notifications(h, 601)
        text = for_601.text
        assert text.index("«тарифы»") < text.index("Вода подорожает")  # why, first
        assert "Тарифов на воду" in text  # the matching answer, before the summary
        assert "Ответ 1" in for_601.button_texts()
        [mentions] = [m for m in notifications(h, 602) if "зерна" in m.text]
        assert "Курамаевым" in mentions.text  # the matching answer is shown
        [tariffs_604] = [m for m in notifications(h, 604) if "Вода" in m.text]
        assert "«тарифы на воду»" in tariffs_604.text
        others_604 = [m for m in notifications(h, 604) if "Вода" not in m.text]
        assert all("следите" not in m.text for m in others_604)
        rows = await h.repo._fetchall(
            "SELECT chat_id, count(*) FROM deliveries WHERE piece_id = ? GROUP BY chat_id",
            (tariffs,),
        )
        assert {int(r[0]): int(r[1]) for r in rows} == {601: 1, 604: 1}


async def test_following_lists_and_removes_and_hostile_input_changes_nothing(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as h:
        reader = 611
        for hostile in ("<b>x</b>", '"вода" OR газ', "💥💥💥", "я", "и на", "тариф" * 30):
            [reply] = await h.say(reader, f"/follow {hostile}")
            assert "<b>x</b>" not in reply.html
        assert await h.repo.follows_of(reader) == []
        await h.say(reader, "/follow тарифы")
        [again] = await h.say(reader, "/follow тарифов")
        assert "уже" in again.text  # the same follow in another form
        await h.say(reader, "/follow Токаев")
        [listing] = await h.say(reader, "/following")
        assert "тарифы" in listing.text and "Токаев" in listing.text
        await h.tap(reader, listing, "тарифы")
        assert [f.phrase for f in await h.repo.follows_of(reader)] == ["Токаев"]
        [gone] = await h.say(reader, "/unfollow Токаева")
        assert "Токаев" in gone.text
        assert await h.repo.follows_of(reader) == []


async def test_search_results_offer_to_follow_their_words(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        reader = 621
        [results] = await h.say(reader, "/search Токаев")
        await h.tap(reader, results, "Следить за этими словами")
        assert [f.phrase for f in await h.repo.follows_of(reader)] == ["Токаев"]


async def test_silent_always_and_during_quiet_hours(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await h.say(631, "/follow тарифы")  # defaults: quiet 22:00–08:00 at UTC+5
        await h.say(632, "/follow тарифы")
        [screen] = await h.say(632, "/settings")
        await h.tap(632, screen, "Всегда без звука")
        await h.say(633, "/follow тарифы")
        [screen] = await h.say(633, "/settings")
        await h.tap(633, screen, "Ночью без звука")
        # 633's quiet hours are around now, in their zone
        local = local_time(time.time(), 300)
        minute = local.hour * 60 + local.minute
        chosen = ReaderSettings(
            silence=Silence.QUIET, quiet_from=(minute - 60) % 1440, quiet_to=(minute + 60) % 1440
        )
        await h.repo.save_reader_settings(633, "ru", chosen)
        await publish(h, TARIFFS, "Айдар Сеитов")
        await settle(h, 0.5)
        [default] = send_params(h, 631)
        assert bool(default.get("disable_notification")) is is_quiet(ReaderSettings(), time.time())
        [always] = send_params(h, 632)
        assert always.get("disable_notification") is True
        [quiet] = send_params(h, 633)
        assert quiet.get("disable_notification") is True


async def test_a_daily_digest_comes_once_at_the_readers_hour_across_a_restart(
    tmp_path: Path,
) -> None:
    reader = 641
    async with running_bot(tmp_path) as h:
        await h.say(reader, "/follow тарифы")
        await h.say(reader, "/subscribe")
        [screen] = await h.say(reader, "/settings")
        await h.tap(reader, screen, "Дайджест 9:00")
        assert (await h.repo.reader_settings(reader)).digest_hour == 9
        await publish(h, TARIFFS, "Айдар Сеитов")
        await publish(h, MENTIONS, "Дана Ахметова")
        await settle(h, 1.0)
        assert notifications(h, reader) == []  # nothing one by one
        assert not [m for m in h.emu.messages(reader) if "🗞" in m.text]
    # the bot is down while the reader's hour passes: the pieces were published before it
    repo = await Repository.open(tmp_path / "bot.sqlite3")
    try:
        async with repo.transaction() as conn:
            await conn.execute("UPDATE digest_items SET added_at = added_at - 86400")
    finally:
        await repo.close()
    async with running_bot(tmp_path, seed=False, chats=(reader,)) as h:
        await h.emu.wait_for_messages(reader, 1, timeout=10)
        await asyncio.sleep(1.0)
        [digest] = h.emu.messages(reader)
        assert "🗞" in digest.text
        assert "Вода подорожает с января" in digest.text
        assert "Экспорт зерна" in digest.text
        assert "«тарифы»" in digest.text  # why the matching one is there
        assert await h.repo.digest_states(reader) == [(await _day(h, reader), "sent")]
    async with running_bot(tmp_path, seed=False, chats=(reader,)) as h:  # and once only
        await asyncio.sleep(1.5)
        assert h.emu.messages(reader) == []


async def _day(h: Harness, reader: int) -> str:
    row = await h.repo._fetchone("SELECT day FROM digests WHERE chat_id = ?", (reader,))
    assert row is not None
    return str(row[0])
