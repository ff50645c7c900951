"""Tests of the Bot API emulator, driven through a real aiogram ``Bot``."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
)

from tests.fakegram import BotAPIEmulator, parse_html, utf16_len

USER = 1001


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emulator:
        emulator.add_chat(USER)
        yield emulator


@pytest.fixture
async def bot(emu: BotAPIEmulator) -> AsyncIterator[Bot]:
    instance = emu.make_bot()
    yield instance
    await instance.session.close()


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(buttons)])


def article(result_id: str, text: str = "Ответ") -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id,
        title="Интервью",
        input_message_content=InputTextMessageContent(message_text=text),
    )


# --------------------------------------------------------------------------- HTML


async def test_escaped_html_is_accepted_and_unescaped_rejected(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    sent = await bot.send_message(USER, "Рост &lt;5% за год")
    assert sent.text == "Рост <5% за год"
    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(USER, "Рост <5% за год")
    # "Рост " is 9 bytes in UTF-8: the offset is in bytes, like Telegram's
    assert error.value.message == (
        'Bad Request: can\'t parse entities: Unsupported start tag "5%" at byte offset 9'
    )
    assert [m.text for m in emu.messages(USER)] == ["Рост <5% за год"]
    failed = emu.calls[-1]
    assert failed.method == "sendMessage" and not failed.ok
    assert failed.error is not None and "Unsupported start tag" in failed.error


async def test_visible_text_is_decoded_with_utf16_entities(emu: BotAPIEmulator, bot: Bot) -> None:
    sent = await bot.send_message(
        USER, "<b>R&amp;D</b> 😀 <i>AT&T &copy; &#x41;&#66;</i> <a href='https://t.me'>t</a>"
    )
    assert sent.text == "R&D 😀 AT&T &copy; AB t"
    stored = emu.last_message(USER)
    assert stored.text == sent.text
    assert stored.html.startswith("<b>R&amp;D</b>")
    assert stored.parse_mode == "HTML"
    # the emoji is two UTF-16 code units, so the italic starts at 7, not 6
    assert stored.entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 7, "length": 14},
        {"type": "text_link", "offset": 22, "length": 1, "url": "https://t.me/"},
    ]


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>bold</i>", 'Unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("text</b>", "Unexpected end tag at byte offset 4"),
        ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("a <br/> b", 'Unsupported start tag "br/" at byte offset 2'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("x <", "Unclosed start tag at byte offset 2"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "<a href=x y>z</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
    ],
)
def test_html_parser_errors(html: str, error: str) -> None:
    with pytest.raises(Exception) as raised:
        parse_html(html)
    assert str(raised.value) == f"Bad Request: can't parse entities: {error}"


def test_html_parser_entities() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre>'
        "<blockquote expandable>q</blockquote><tg-spoiler>s</tg-spoiler>"
        '<span class="tg-spoiler">t</span><u>u</u><s>v</s>&amp'
    )
    assert text == "x = 1qstuv&"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("pre", 0, 5),
        ("expandable_blockquote", 5, 1),
        ("spoiler", 6, 1),
        ("spoiler", 7, 1),
        ("underline", 8, 1),
        ("strikethrough", 9, 1),
    ]
    assert entities[0]["language"] == "python"


async def test_length_is_counted_after_parsing(emu: BotAPIEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER, "&amp;" * 4096)
    assert sent.text == "&" * 4096
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "&amp;" * 4097)
    # surrogate pairs count twice: 2049 emoji are 4098 UTF-16 code units
    assert utf16_len("😀" * 2049) == 4098
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "😀" * 2049)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "<b>  </b>\n")
    assert len(emu.messages(USER)) == 1


async def test_text_is_trimmed_like_telegram(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.send_message(USER, "\n  <b>Итог</b>  \n\n")
    stored = emu.last_message(USER)
    assert stored.text == "Итог"
    assert stored.entities == [{"type": "bold", "offset": 0, "length": 4}]


async def test_plain_text_without_parse_mode(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.send_message(USER, "<5% & <b>", parse_mode=None)
    assert emu.last_message(USER).text == "<5% & <b>"
    with pytest.raises(TelegramBadRequest, match="not emulated"):
        await bot.send_message(USER, "*x*", parse_mode=ParseMode.MARKDOWN_V2)


# --------------------------------------------------------------------------- keyboards


async def test_callback_data_over_64_bytes_is_rejected(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.send_message(
        USER, "ok", reply_markup=keyboard(InlineKeyboardButton(text="a", callback_data="x" * 64))
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(
            USER,
            "no",
            reply_markup=keyboard(InlineKeyboardButton(text="a", callback_data="x" * 65)),
        )
    # 33 Cyrillic letters are 66 bytes
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(
            USER,
            "no",
            reply_markup=keyboard(InlineKeyboardButton(text="a", callback_data="ж" * 33)),
        )
    with pytest.raises(TelegramBadRequest, match="BUTTON_URL_INVALID"):
        await bot.send_message(
            USER, "no", reply_markup=keyboard(InlineKeyboardButton(text="a", url="javascript:x"))
        )
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(USER, "no", reply_markup=keyboard(InlineKeyboardButton(text="a")))
    row = [InlineKeyboardButton(text=str(i), callback_data=str(i)) for i in range(9)]
    with pytest.raises(TelegramBadRequest, match="BUTTONS_TOO_MUCH"):
        await bot.send_message(USER, "no", reply_markup=InlineKeyboardMarkup(inline_keyboard=[row]))
    assert len(emu.messages(USER)) == 1
    assert emu.last_message(USER).button_texts() == ["a"]


async def test_edits_follow_telegram_rules(emu: BotAPIEmulator, bot: Bot) -> None:
    markup = keyboard(InlineKeyboardButton(text="Дальше", callback_data="next"))
    sent = await bot.send_message(USER, "<b>Вопрос 1</b>", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        # different HTML, same visible text, entities and keyboard
        await bot.edit_message_text(
            text="<strong>Вопрос 1</strong>",
            chat_id=USER,
            message_id=sent.message_id,
            reply_markup=markup,
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=USER, message_id=999)
    edited = await bot.edit_message_text(text="Вопрос 2", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.text == "Вопрос 2"
    current = emu.last_message(USER)
    # an edit without reply_markup removes the inline keyboard, as on Telegram
    assert current.text == "Вопрос 2" and current.edited == 1 and current.buttons() == []
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    await bot.delete_message(USER, sent.message_id)
    assert emu.messages(USER) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


# --------------------------------------------------------------------------- queries


async def test_inline_query_results_are_validated(emu: BotAPIEmulator, bot: Bot) -> None:
    query_id = await emu.inline_query(USER, "цитата")
    with pytest.raises(TelegramBadRequest, match="RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(query_id, [article(str(i)) for i in range(51)])
    with pytest.raises(TelegramBadRequest, match="RESULT_ID_DUPLICATE"):
        await bot.answer_inline_query(query_id, [article("same"), article("same")])
    with pytest.raises(TelegramBadRequest, match="RESULT_ID_INVALID"):
        await bot.answer_inline_query(query_id, [article("x" * 65)])
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.answer_inline_query(query_id, [article("1", "<5%")])
    with pytest.raises(TelegramBadRequest, match="START_PARAM_INVALID"):
        await bot.answer_inline_query(
            query_id,
            [article("1")],
            button=InlineQueryResultsButton(text="Открыть", start_parameter="bad param"),
        )
    await bot.answer_inline_query(
        query_id, [article(str(i)) for i in range(50)], next_offset="50", cache_time=0
    )
    answer = emu.inline_answers[query_id]
    assert len(answer["results"]) == 50 and answer["next_offset"] == "50"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_inline_query(query_id, [])


async def test_callback_query_answers_once(emu: BotAPIEmulator, bot: Bot) -> None:
    sent = await bot.send_message(
        USER, "?", reply_markup=keyboard(InlineKeyboardButton(text="Да", callback_data="yes"))
    )
    with pytest.raises(AssertionError):
        await emu.press(USER, sent.message_id, "no")
    query_id = await emu.press_button(USER, sent.message_id, "Да")
    updates = await bot.get_updates()
    assert updates[-1].callback_query is not None
    assert updates[-1].callback_query.data == "yes"
    with pytest.raises(TelegramBadRequest, match="MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    await bot.answer_callback_query(query_id, text="Готово")
    assert emu.callback_answers[query_id]["text"] == "Готово"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)


async def test_commands_are_validated(emu: BotAPIEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start", description="Начать")])
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="x" * 33, description="d")])
    await bot.set_my_commands(
        [BotCommand(command="start", description="Начать")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="ru",
    )
    assert emu.commands[("all_private_chats", "ru")] == [
        {"command": "start", "description": "Начать"}
    ]
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    assert [c.command for c in got] == ["start"]


# --------------------------------------------------------------------------- faults


async def test_fault_injection(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.fail_next("sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(USER, "a")
    assert retry.value.retry_after == 7
    assert emu.calls[-1].error == "Too Many Requests: retry after 7"
    emu.fail_next("sendMessage", status=502)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(USER, "a")
    emu.add_chat(2002)
    emu.fail_next("sendMessage", status=500, chat_id=2002)
    await bot.send_message(USER, "goes through: the fault is for another chat")
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(2002, "a")
    emu.delay("sendChatAction", 0.2)
    started = time.monotonic()
    await bot.send_chat_action(USER, "typing")
    assert time.monotonic() - started >= 0.2
    assert [m.text for m in emu.messages(USER)] == ["goes through: the fault is for another chat"]


async def test_delay_past_the_client_timeout_has_no_effect(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.get_me()  # open the connection first: the 0.2 s below is for the request alone
    emu.delay("sendMessage", 1.0)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(USER, "lost", request_timeout=0.2)  # type: ignore[arg-type]
    await emu.wait_until(lambda: emu.calls[-1].method == "sendMessage" and emu.calls[-1].answered)
    assert emu.calls[-1].error == "client disconnected"
    assert emu.messages(USER) == []
    await bot.send_message(USER, "the delay was used up")


async def test_blocked_deactivated_and_unknown_chats(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.block(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    emu.add_chat(2002)
    emu.deactivate(2002)
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await bot.send_message(2002, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(3003, "hi")
    await emu.chat_member_update(USER, "member")  # the user unblocked the bot
    await bot.send_message(USER, "welcome back")
    updates = await bot.get_updates()
    assert updates[-1].my_chat_member is not None
    assert updates[-1].my_chat_member.new_chat_member.status == "member"


async def test_flood_limits(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.flood_limits = (30, 1)
    await bot.send_message(USER, "1")
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(USER, "2")
    assert retry.value.retry_after >= 1
    emu.add_chat(2002)
    await bot.send_message(2002, "other chats are not limited by this chat's rate")


async def test_flood_limit_is_a_strict_sliding_second(emu: BotAPIEmulator, bot: Bot) -> None:
    """Exactly the limit in any one second as the server sees it: the (limit+1)-th request
    within a second gets 429 and is counted; once the oldest send is a second old, one more
    fits; a rejected request takes no place in the window; a fractional limit rounds down."""
    now = [100.0]
    emu.clock = lambda: now[0]
    emu.flood_limits = (3.9, 0)  # three messages a second, any chats; no per-chat limit
    for at in (100.0, 100.3, 100.6):
        now[0] = at
        await bot.send_message(USER, f"at {at}")
    now[0] = 100.999
    with pytest.raises(TelegramRetryAfter) as retry:
        await bot.send_message(USER, "the fourth within a second")
    assert retry.value.retry_after == 1
    assert emu.flood_rejected == 1
    now[0] = 101.0  # the send at 100.0 leaves the window
    await bot.send_message(USER, "fits once the window moved")
    now[0] = 101.05
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER, "100.3, 100.6 and 101.0 still fill it")
    now[0] = 101.3
    await bot.send_message(USER, "100.3 left")
    assert emu.flood_rejected == 2
    assert len(emu.messages(USER)) == 5
    emu.flood_exempt.add(USER)
    await bot.send_message(USER, "an exempt chat is not counted")
    emu.reset_flood()
    assert emu.flood_rejected == 0


async def test_latency_delays_every_request_but_the_long_poll(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    emu.latency = (0.05, 0.05)
    started = time.perf_counter()
    await bot.send_message(USER, "slow")
    assert time.perf_counter() - started >= 0.05
    started = time.perf_counter()
    await bot.get_updates(timeout=0)
    assert time.perf_counter() - started < 0.05


async def test_token_and_unknown_method(emu: BotAPIEmulator) -> None:
    stranger = emu.make_bot("999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()
    async with aiohttp.ClientSession() as http:
        url = f"{emu.base_url}/bot{emu.token}/sendTelepathy"
        async with http.post(url, json={"chat_id": USER}) as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.post(
            f"{emu.base_url}/bot{emu.token}/sendMessage",
            data={"chat_id": str(USER), "text": "<i>form</i>", "parse_mode": "HTML"},
        ) as response:
            body = await response.json()
            assert body["ok"] and body["result"]["text"] == "form"
    assert emu.last_message(USER).entities == [{"type": "italic", "offset": 0, "length": 4}]


async def test_uploaded_file_round_trip(emu: BotAPIEmulator, bot: Bot) -> None:
    document = emu.upload_file(b"transcript", "interview.txt")
    message = await emu.send_message(USER, document=document, caption="/import")
    assert message["caption_entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    updates = await bot.get_updates()
    got = updates[-1].message
    assert got is not None and got.document is not None
    file = await bot.get_file(got.document.file_id)
    buffer = io.BytesIO()
    await bot.download_file(file.file_path or "", buffer)
    assert buffer.getvalue() == b"transcript"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


# --------------------------------------------------------------------------- updates


async def test_long_poll_wakes_on_update_and_offset_confirms(emu: BotAPIEmulator, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.05)
    sent = await emu.send_message(USER, "/start@interview_test_bot hello")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1.0
    assert len(updates) == 1 and updates[0].message is not None
    assert updates[0].message.message_id == sent["message_id"]
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 25}]
    # not confirmed yet: delivered again; confirmed by offset: gone
    assert [u.update_id for u in await bot.get_updates()] == [updates[0].update_id]
    assert await bot.get_updates(offset=updates[0].update_id + 1) == []


async def test_allowed_updates_and_a_waiting_long_poll(emu: BotAPIEmulator, bot: Bot) -> None:
    since = len(emu.calls)
    poll = asyncio.create_task(bot.get_updates(timeout=30, allowed_updates=["message"]))
    waiting = await emu.wait_for_call("getUpdates", since=since, timeout=2)
    assert not waiting.answered and waiting.params["allowed_updates"] == ["message"]
    await emu.inline_query(USER, "dropped")  # the bot opted out of inline queries
    await emu.send_message(USER, "kept")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates if u.message] == ["kept"]
    assert len(updates) == 1
    assert emu.dropped_updates[0]["inline_query"]["query"] == "dropped"
    assert waiting.answered and waiting.ok


async def test_concurrent_get_updates_conflict(emu: BotAPIEmulator, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=30))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 2)
    await emu.send_message(USER, "hi")
    assert len(await asyncio.wait_for(second, 2)) == 1
    await bot.set_webhook("https://example.com/hook")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert emu.webhook is None


async def test_dispatcher_polling_end_to_end(emu: BotAPIEmulator) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        name = message.from_user.first_name if message.from_user else "?"
        await message.answer(
            f"Привет, <b>{name}</b>! Рост &lt;5%",
            reply_markup=keyboard(InlineKeyboardButton(text="Читать", callback_data="read")),
        )

    @router.callback_query(F.data == "read")
    async def read(query: CallbackQuery) -> None:
        await query.answer("Открываю")
        if isinstance(query.message, Message):
            await query.message.edit_text("Интервью")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = Bot(
        emu.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    try:
        await emu.send_message(USER, "/start", first_name="Анна")
        [greeting] = await emu.wait_for_messages(USER, 1)
        assert greeting.text == "Привет, Анна! Рост <5%"
        assert greeting.button_texts() == ["Читать"]
        query_id = await emu.press_button(USER, greeting.message_id, "Читать")
        await emu.wait_until(lambda: query_id in emu.callback_answers)
        assert emu.callback_answers[query_id]["text"] == "Открываю"
        await emu.wait_for_call("editMessageText")
        assert emu.last_message(USER).text == "Интервью"
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, 5)
    assert all(call.ok for call in emu.calls if call.method != "getUpdates")
