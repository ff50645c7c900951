"""The bot's HTTP session (bot/session.py): requests as UTF-8 JSON, uploads as forms."""

from __future__ import annotations

import gc
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aiogram.methods import AnswerInlineQuery, SendMessage
from aiogram.methods.base import Response
from aiogram.types import BufferedInputFile, Message

from bot.app import build_bot
from bot.config import Settings
from bot.domain.models import QuoteHit
from bot.i18n import build_i18n
from bot.views.keyboards import markup, url_button
from bot.views.quotes import inline_results
from tests.fakegram import BotAPIEmulator

TEXT = "<b>Токаев</b> сказал: «мы открыты» & <i>готовы</i>"


async def test_requests_go_as_json_with_the_bots_defaults(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emu:
        emu.add_chat(7, "ru")
        settings = replace(Settings(), bot_token=emu.token, bot_api_url=emu.base_url)
        bot = build_bot(settings)
        try:
            keyboard = markup([url_button("Полный ответ", "https://t.me/x?start=1_2")])
            sent = await bot.send_message(7, TEXT, reply_markup=keyboard)
            assert isinstance(sent, Message) and sent.chat.id == 7
            shown = emu.last_message(7)
            assert shown.text == "Токаев сказал: «мы открыты» & готовы"
            assert [e["type"] for e in shown.entities] == ["bold", "italic"]  # HTML by default
            assert shown.button_texts() == ["Полный ответ"]
            call = emu.calls[-1]
            assert call.params["link_preview_options"] == {"is_disabled": True}

            # a file still goes as a multipart form
            await bot.send_document(7, BufferedInputFile("строка\n".encode(), "list.csv"))
            assert emu.last_message(7).document is not None
        finally:
            await bot.session.close()


def test_a_russian_text_is_two_bytes_a_letter_and_nothing_is_left_empty() -> None:
    bot = build_bot(replace(Settings(), bot_token="1:x"))
    method = SendMessage(chat_id=7, text="Казахстан" * 100, business_connection_id=None)
    body = bot.session.build_json(bot, method)  # type: ignore[attr-defined]
    assert body is not None and len(body) < 2 * 900 + 200  # a form sent 6 bytes a letter
    assert b"business_connection_id" not in body and b'"parse_mode":"HTML"' in body


def test_response_types_survive_a_garbage_collection() -> None:
    """pydantic keeps a generic model only weakly: the bot keeps the ones it uses alive, so
    none is rebuilt (~10 ms each) in the middle of an update."""
    import bot.session

    pinned = {id(t) for t in bot.session.RESPONSE_TYPES}
    gc.collect()
    assert id(Response[Message]) in pinned


def test_the_json_body_says_what_aiogram_would_send() -> None:
    """The fast path of ``plain`` gives what aiogram's ``prepare_value`` gives: defaults
    resolved (the results' parse mode, link previews), nothing set to None sent."""
    bot = build_bot(replace(Settings(), bot_token="1:x"))
    hit = QuoteHit(1, 2, "Саммит", "Байкадам Курамаев", 3, "«Цитата» & <b>", datetime.now(UTC))
    with build_i18n().context():
        results = inline_results([hit, replace(hit, quote_id=2)], "bot")
    method = AnswerInlineQuery(inline_query_id="5", results=results, cache_time=120)
    body = bot.session.build_json(bot, method)  # type: ignore[attr-defined]
    assert body is not None
    files: dict[str, object] = {}
    expected = {
        key: prepared
        for key, value in method.model_dump(warnings=False).items()
        if (prepared := bot.session.prepare_value(value, bot, files, _dumps_json=False))
        not in (None, "")
    }
    assert json.loads(body) == expected
    content = json.loads(body)["results"][0]["input_message_content"]
    assert content["parse_mode"] == "HTML"
