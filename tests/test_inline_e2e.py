"""Quote search through the Bot API: the real dispatcher polling the emulator.

A reader types ``@bot Токаев`` in some chat and gets attributed quotes with a deep link to the
full answer; pages follow ``next_offset``; /search lists quotes with buttons to their answers.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.domain.models import QuoteHit
from bot.i18n import build_i18n
from bot.publishing import prepare, publish
from bot.views.quotes import INLINE_PAGE_BYTES, inline_results
from storage import Repository
from tests.fakegram import parse_html
from tests.harness import Harness, running_bot

READER = 601
DEEP_LINK = re.compile(r"^https://t\.me/(?P<bot>\w+)\?start=(?P<payload>\d+_\d+)$")


async def ask_inline(h: Harness, query: str, offset: str = "", **kwargs: Any) -> dict[str, Any]:
    query_id = await h.emu.inline_query(READER, query, offset=offset, **kwargs)
    await h.emu.wait_until(lambda: query_id in h.emu.inline_answers)
    return h.emu.inline_answers[query_id]


async def test_inline_quotes_are_attributed_and_link_to_the_answer(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        answer = await ask_inline(h, "Токаев")
        results = answer["results"]
        assert 1 <= len(results) <= 50
        assert answer["is_personal"] is False and answer["cache_time"] > 0
        top = results[0]
        assert top["type"] == "article" and "Токаев" in top["title"]
        assert "Байкадам Курамаев" in top["description"]
        visible, _ = parse_html(top["input_message_content"]["message_text"])
        assert visible.startswith("«") and "» — Байкадам Курамаев, " in visible
        [[button]] = top["reply_markup"]["inline_keyboard"]
        link = DEEP_LINK.match(button["url"])
        assert link and link["bot"] == h.emu.username

        # the deep link opens the full answer in the bot
        [opened] = await h.say(READER, f"/start {link['payload']}")
        quote = visible[1 : visible.index("» — ")]
        assert quote in opened.text


async def test_inline_typing_morphology_typos_and_hostile_input(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        for typed in ("Ток", "Токае", "Токаева", "Такаев", "сирийский проц", "exx", "С5+1"):
            assert (await ask_inline(h, typed))["results"], typed
        for hostile in ('"NEAR(a b)" AND *', "<b>&amp;</b>", "\x00", "я" * 256, ":-^"):
            answer = await ask_inline(h, hostile)
            assert answer["results"] == [] or all(r["id"] for r in answer["results"])


async def test_empty_query_offers_the_newest_piece_and_pages(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        first = await ask_inline(h, "")
        assert first["results"], "an empty query shows quotable sentences of the newest piece"
        assert all(len(r["title"]) <= 100 for r in first["results"])

        page = await ask_inline(h, "в")
        ids = [r["id"] for r in page["results"]]
        if page.get("next_offset"):
            more = await ask_inline(h, "в", offset=page["next_offset"])
            assert not set(ids) & {r["id"] for r in more["results"]}


async def test_search_command_lists_quotes_with_buttons_to_answers(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        [listing] = await h.say(READER, "/search Токаев")
        assert "Токаев" in listing.text
        assert re.search(r"Байкадам Курамаев, (ответ|answer) 7", listing.text)
        assert listing.button_texts()[0].startswith("1 · ")
        before = len(h.emu.messages(READER))
        await h.tap(READER, listing, listing.button_texts()[0])
        shown = h.emu.messages(READER)[before:] or [h.emu.last_message(READER)]
        assert any("поляризации" in m.text or "опытный дипломат" in m.text for m in shown)

        [usage] = await h.say(READER, "/search")
        assert "/search" in usage.text
        [nothing] = await h.say(READER, "/search <b>zzzxq</b>")
        assert "<b>zzzxq</b>" in nothing.text  # shown escaped, as typed


async def test_a_reader_typing_fast_gets_the_results_for_what_they_finally_typed(
    tmp_path: Path,
) -> None:
    """Issue 13: 30 characters at 8 keystrokes a second, one inline query per keystroke, the
    per-user throttle on as in production: the final text's query is always answered, with the
    results a fresh query for it gets."""
    async with running_bot(tmp_path, throttle_rate=3.0, throttle_burst=12.0) as h:
        for text in ("Токаев сирийский процесс Астан", "Курамаев Вашингтон саммит C5+1"):
            assert len(text) == 30
            typed = []
            for end in range(1, len(text) + 1):
                typed.append(await h.emu.inline_query(READER, text[:end]))
                await asyncio.sleep(1 / 8)
            final = typed[-1]
            await h.emu.wait_until(lambda final=final: final in h.emu.inline_answers, timeout=10)
            expected = await ask_inline(h, text)
            got = h.emu.inline_answers[final]
            assert got["results"], text
            assert [r["id"] for r in got["results"]] == [r["id"] for r in expected["results"]]
            assert not any(m.text.startswith("Вы отправляете") for m in h.emu.messages(READER))


async def test_english_interview_is_found_by_other_word_forms(tmp_path: Path) -> None:
    """An English piece published through the CLI's path: inline search finds its quotes by
    forms the text does not have ("investments", "household"), sent in English quotation
    marks."""
    repo = await Repository.open(tmp_path / "bot.sqlite3")
    try:
        english = (Path(__file__).parent / "data" / "ingest" / "english-qa.txt").read_bytes()
        assert (await publish(repo, prepare(english, name="english-qa.txt"))).new
    finally:
        await repo.close()
    async with running_bot(tmp_path, seed=False) as h:
        for typed, quote in [
            ("total investments", "Total investment is about 165 billion tenge"),
            ("household paying", "Households pay very little"),
            ("localization of blades", "We would like to localize more"),
        ]:
            results = (await ask_inline(h, typed))["results"]
            assert results and quote in results[0]["title"], typed
            visible, _ = parse_html(results[0]["input_message_content"]["message_text"])
            assert visible.startswith(f"“{quote}") and "” — " in visible, visible


async def test_a_full_inline_page_is_small_and_the_next_pages_follow(tmp_path: Path) -> None:
    """Issue 16: a page of inline results is at most 40 KB as sent (it was 136 KB for 50), and
    scrolling on with ``next_offset`` reaches every quote once, each still attributed."""
    async with running_bot(tmp_path) as h:
        offset, seen, pages = "", [], 0
        while True:
            query_id = await h.emu.inline_query(READER, "", offset=offset)
            await h.emu.wait_until(lambda q=query_id: q in h.emu.inline_answers)
            [call] = [
                c
                for c in h.emu.calls
                if c.method.lower() == "answerinlinequery"
                and str(c.params.get("inline_query_id")) == query_id
            ]
            sent = json.dumps(call.params, ensure_ascii=False, separators=(",", ":"))
            assert len(sent.encode()) <= 40 * 1024
            answer = h.emu.inline_answers[query_id]
            results = answer["results"]
            assert results, f"page {pages + 1} is empty"
            for result in results:
                visible, _ = parse_html(result["input_message_content"]["message_text"])
                assert "» — Байкадам Курамаев, " in visible
                assert "Байкадам Курамаев" in result["description"]
                assert len(result["description"]) <= 80
            seen += [r["id"] for r in results]
            pages += 1
            offset = answer.get("next_offset") or ""
            if not offset:
                break
        assert pages >= 2, "the newest piece's quotes take more than one page"
        assert len(seen) == len(set(seen)), "no quote is shown twice while paging"
        assert len(seen) == len(await h.repo.top_quotes(1, 200))


def test_long_quotes_fill_a_page_by_size_not_by_count() -> None:
    """However long the quotes, one answer's results stay within the byte budget, and a page is
    never empty (a quote longer than the budget is sent alone)."""
    hit = QuoteHit(
        quote_id=1,
        piece_id=1,
        turn_number=1,
        text="Очень длинная цитата " * 160,
        speaker="Байкадам Курамаев",
        piece_title="Саммит C5+1",
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    hits = [replace(hit, quote_id=i) for i in range(1, 21)]
    with build_i18n().context():
        results = inline_results(hits, "interview_test_bot")
        alone = inline_results(hits, "interview_test_bot", budget=100)
    assert 1 <= len(results) < len(hits)
    size = sum(
        len(json.dumps(r.model_dump(exclude_none=True), ensure_ascii=False, default=str).encode())
        for r in results
    )
    assert size <= INLINE_PAGE_BYTES
    assert len(alone) == 1
