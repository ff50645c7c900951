"""Hostile and random input through the real dispatcher and the strict emulator.

Properties, for any message, button press (including forged callback data) and inline query:
the update is answered, no handler raises (the error handler stays silent), and every request
the bot makes is one Telegram would accept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.views.callbacks import (
    AnswerView,
    ArchivePage,
    ChoosePiece,
    FollowSpeaker,
    FollowWords,
    PieceView,
    Setting,
    SettingChoice,
    Unfollow,
    View,
)
from tests.harness import Harness, running_bot

COMMANDS = [
    "/start",
    "/help",
    "/summary",
    "/questions",
    "/answer",
    "/pieces",
    "/search",
    "/subscribe",
    "/unsubscribe",
    "/follow",
    "/following",
    "/unfollow",
    "/settings",
    "/publish",
    "/stats",
    "/nonsense",
]
HOSTILE = st.sampled_from(
    [
        "",
        '"',
        "*",
        "NEAR(a b)",
        "a AND b OR c NOT d",
        "-x",
        "col:val",
        "^start",
        "<b>bold</b>",
        "<script>alert(1)</script>",
        "&amp; &lt; R&D <5%",
        "\x00",
        "\ud800",
        "Токаев" * 50,
        "9" * 40,
        "-1",
        "1_2",
        "💥" * 100,
    ]
)
TEXT = st.one_of(HOSTILE, st.text(max_size=300))
INT = st.one_of(st.integers(-(2**70), 2**70), st.integers(-3, 12))


@dataclass
class Live:
    loop: asyncio.AbstractEventLoop
    h: Harness
    errors: list[logging.LogRecord]

    def run(self, coro: object) -> object:
        return self.loop.run_until_complete(coro)  # type: ignore[arg-type]


class _Collect(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    loop = asyncio.new_event_loop()
    context = running_bot(tmp_path_factory.mktemp("fuzz"))
    harness = loop.run_until_complete(context.__aenter__())
    errors: list[logging.LogRecord] = []
    handler = _Collect(errors)
    logging.getLogger().addHandler(handler)
    try:
        yield Live(loop, harness, errors)
    finally:
        logging.getLogger().removeHandler(handler)
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


def check_clean(live: Live, since: int) -> None:
    failed = [
        (c.method, c.error)
        for c in live.h.emu.calls[since:]
        if not c.ok and c.method != "getUpdates"
    ]
    assert not failed, f"the emulator rejected: {failed}"
    assert not live.errors, [r.getMessage() for r in live.errors]


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    command=st.sampled_from(COMMANDS),
    argument=TEXT,
    language=st.sampled_from(["ru", "en", "de", None, "x-!!"]),
)
def test_any_command_with_any_argument_is_answered(
    live: Live, command: str, argument: str, language: str | None
) -> None:
    emu = live.h.emu
    user = 70_001
    since = len(emu.calls)
    before = len(emu.messages(user))
    text = f"{command} {argument}".strip() if argument else command

    async def scenario() -> None:
        await emu.send_message(user, text, language_code=language or "ru")
        await emu.wait_for_messages(user, before + 1, timeout=5)

    live.run(scenario())
    check_clean(live, since)


@FUZZ
@given(text=TEXT)
def test_any_free_text_is_answered(live: Live, text: str) -> None:
    emu = live.h.emu
    user = 70_002
    since = len(emu.calls)
    before = len(emu.messages(user))

    async def scenario() -> None:
        await emu.send_message(user, text or ".")
        await emu.wait_for_messages(user, before + 1, timeout=5)

    live.run(scenario())
    check_clean(live, since)


CALLBACK_DATA = st.one_of(
    st.text(min_size=1, max_size=64).filter(lambda s: 0 < len(s.encode()) <= 64),
    st.builds(lambda p, n: AnswerView(piece=p, n=n).pack(), INT, INT),
    st.builds(
        lambda p, v, page: PieceView(piece=p, view=v, page=page).pack(),
        INT,
        st.sampled_from(list(View)),
        INT,
    ),
    st.builds(lambda p: ArchivePage(page=p).pack(), INT),
    st.builds(lambda p: ChoosePiece(piece=p).pack(), INT),
    st.builds(lambda p, i: FollowSpeaker(piece=p, i=i).pack(), INT, INT),
    st.builds(lambda i: Unfollow(id=i).pack(), INT),
    st.builds(
        lambda w: FollowWords(w=w).pack(),
        st.text(max_size=25).filter(lambda w: ":" not in w),
    ),
    st.builds(
        lambda f, v: SettingChoice(field=f, value=v).pack(),
        st.sampled_from(list(Setting)),
        st.one_of(
            st.text(max_size=10).filter(lambda v: ":" not in v),
            st.sampled_from(
                ["all", "followed", "nothing", "never", "quiet", "always", "300", "9", "-1", "99"]
            ),
        ),
    ),
).filter(lambda s: len(s.encode()) <= 64)


@FUZZ
@given(data=CALLBACK_DATA)
def test_any_button_press_is_answered(live: Live, data: str) -> None:
    emu = live.h.emu
    user = 70_003
    since = len(emu.calls)

    async def scenario() -> None:
        if not emu.messages(user):
            await emu.send_message(user, "/questions")
            await emu.wait_for_messages(user, 1)
        message = emu.messages(user)[0]
        # the reader's client sends whatever data it has: forge a button carrying it
        message.reply_markup = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
        query_id = await emu.press(user, message.message_id, data)
        await emu.wait_until(lambda: query_id in emu.callback_answers, timeout=5)

    live.run(scenario())
    check_clean(live, since)


@FUZZ
@given(
    query=st.one_of(HOSTILE, st.text(max_size=256)),
    offset=st.one_of(st.just(""), st.text(max_size=20)),
)
def test_any_inline_query_is_answered(live: Live, query: str, offset: str) -> None:
    emu = live.h.emu
    user = 70_004
    since = len(emu.calls)

    async def scenario() -> None:
        query_id = await emu.inline_query(user, query[:256], offset=offset)
        await emu.wait_until(lambda: query_id in emu.inline_answers, timeout=5)

    live.run(scenario())
    check_clean(live, since)
