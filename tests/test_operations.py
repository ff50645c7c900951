"""Running the bot as an operator does: the real process, signals, logs, settings, webhook."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from bot.api_check import Patience
from bot.app import build_bot, build_dispatcher
from bot.config import Settings, SettingsError
from bot.publishing import ensure_seed
from bot.webhook import webhook_serving
from storage import Repository
from tests.fakegram import BotAPIEmulator
from tests.harness import emulator_settings, running_bot, start_bot_process

READER = 777


async def test_run_serves_readers_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emu:
        env = {
            "BOT_TOKEN": emu.token,
            "BOT_API_URL": emu.base_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
            "LOG_LEVEL": "DEBUG",
        }
        process = await start_bot_process(env, "run")
        try:
            await emu.wait_for_call("getUpdates", timeout=30)
            await emu.send_message(READER, "/answer 7")
            [answer] = await emu.wait_for_messages(READER, 1, timeout=10)
            assert "вопрос 7 из 7" in answer.text
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 20)
        logs = err.decode()
        assert process.returncode == 0, logs
        secret = emu.token.split(":", 1)[1]
        assert secret not in logs
        assert "update=" in logs and "ms=" in logs  # one line per update with its timing


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN"),
        ({"BOT_API_URL": "ftp://x"}, "BOT_API_URL"),
        ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
        ({"BROADCAST_RATE": "fast"}, "BROADCAST_RATE"),
        ({"BROADCAST_RATE": "100"}, "BROADCAST_RATE"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.load(env)


async def test_missing_token_is_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    process = await start_bot_process(
        {"BOT_TOKEN": "", "DATABASE_PATH": str(tmp_path / "db.sqlite3")}, "run"
    )
    _out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert err.decode().startswith("error: BOT_TOKEN is not set")
    assert "Traceback" not in err.decode()


def test_settings_repr_hides_secrets() -> None:
    settings = Settings.load(
        {"BOT_TOKEN": "123456:AAHsecretsecretsecretsecret", "ADMIN_IDS": "1, 2"}
    )
    assert "secret" not in repr(settings)
    assert settings.admin_ids == frozenset({1, 2})


async def test_console_preview_works_without_token(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "BOT_TOKEN": "", "DATABASE_PATH": str(tmp_path / "db.sqlite3")},
    )
    out, err = await asyncio.wait_for(process.communicate(b"/questions\n3\n/answer 9\n"), 60)
    text = out.decode()
    assert process.returncode == 0, err.decode()
    assert "console preview" in text
    assert "Вопросы (7)" in text  # the /start buttons
    assert "вопрос 3 из 7" in text  # button 3 of the question list pressed
    assert "Ответа 9 нет" in text


async def test_console_preview_answers_every_piped_command(tmp_path: Path) -> None:
    """An editor pipes a script of checks into the preview: every command is answered, none is
    taken for a flood (throttling guards the bot against Telegram users, not the console)."""
    commands = [f"/answer {n % 7 + 1}" for n in range(40)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            **os.environ,
            "BOT_TOKEN": "",
            "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
            "THROTTLE_RATE": "3",
            "THROTTLE_BURST": "12",
        },
    )
    script = "".join(f"{command}\n" for command in commands).encode()
    out, err = await asyncio.wait_for(process.communicate(script), 120)
    text = out.decode()
    assert process.returncode == 0, err.decode()
    answers = re.findall(r"вопрос (\d) из 7", text)
    assert answers == [command.split()[1] for command in commands]
    assert "слишком" not in text and "too many" not in text


async def test_flood_from_one_user_does_not_slow_others(tmp_path: Path) -> None:
    async with running_bot(tmp_path, throttle_rate=2.0, throttle_burst=5.0) as h:
        flooder, reader = 9001, 9002
        for _ in range(40):
            await h.emu.send_message(flooder, "/answer 1")
        await h.emu.wait_until(lambda: len(h.emu.messages(flooder)) >= 6, timeout=10)
        await asyncio.sleep(0.3)
        flood_replies = [m.text for m in h.emu.messages(flooder)]
        notices = [t for t in flood_replies if "слишком" in t]
        assert len(notices) == 1  # one polite notice, not one per message
        assert len(flood_replies) == 6  # the burst was served, the rest dropped
        [answer] = await h.say(reader, "/answer 2")
        assert "вопрос 2 из 7" in answer.text


async def test_unexpected_error_gets_apology_and_a_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as h:

        async def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("database exploded")

        monkeypatch.setattr(h.repo, "list_pieces", broken)
        [reply] = await h.say(READER, "/pieces", language_code="en")
        assert reply.text.startswith("Sorry, something went wrong")
        assert any("database exploded" in r.getMessage() for r in caplog.records)
        # the bot keeps serving
        [answer] = await h.say(READER, "/answer 1")
        assert "вопрос 1 из 7" in answer.text


async def test_webhook_enforces_secret_and_serves_updates(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emu:
        settings = emulator_settings(
            emu,
            tmp_path,
            webhook_url="https://bot.example.org/tg/hook",
            webhook_secret="s3cr3t-value",
            throttle_rate=0.0,
        )
        repo = await Repository.open(settings.database_path)
        await ensure_seed(repo)
        bot = build_bot(settings)
        dp = build_dispatcher(repo, settings)
        try:
            async with webhook_serving(dp, bot, repo, settings, Patience(5), port=0) as port:
                await serve_one_update(emu, settings, port)
            assert not dp["broadcaster"].running  # stopped with the server
        finally:
            await bot.session.close()
            await repo.close()
        assert emu.webhook is None or not emu.webhook.get("url")  # removed on shutdown


async def serve_one_update(emu: BotAPIEmulator, settings: Settings, port: int) -> None:
    assert emu.webhook is not None and emu.webhook["url"] == settings.webhook_url
    assert emu.webhook.get("secret_token") == "s3cr3t-value"
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": READER, "type": "private"},
            "from": {
                "id": READER,
                "is_bot": False,
                "first_name": "R",
                "language_code": "ru",
            },
            "text": "/answer 2",
            "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        },
    }
    emu.add_chat(READER)
    url = f"http://127.0.0.1:{port}/tg/hook"
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 401
        assert emu.messages(READER) == []
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cr3t-value"}
        async with http.post(url, json=update, headers=headers) as response:
            assert response.status == 200
        [answer] = await emu.wait_for_messages(READER, 1)
        assert "вопрос 2 из 7" in answer.text
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            health = json.loads(await response.text())
            assert response.status == 200, health
            assert health == {"status": "ok", "database": "ok", "broadcaster": "running"}


def test_webhook_requires_a_secret() -> None:
    from bot.webhook import webhook_path

    settings = replace(Settings(), webhook_url="https://x.example/hook", webhook_secret="")
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        webhook_path(settings)
    with pytest.raises(SettingsError, match="WEBHOOK_URL"):
        webhook_path(replace(settings, webhook_url="", webhook_secret="abc"))


def test_log_filter_redacts_token_in_messages_arguments_and_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    from bot.logs import setup_logging

    token = "123456:AAH-secret-for-the-filter"
    setup_logging("DEBUG", [token])
    try:
        log = logging.getLogger("tests.redaction")
        log.info("POST https://api.telegram.org/bot%s/getMe", token)
        try:
            raise RuntimeError(f"request to /bot{token}/sendMessage failed")
        except RuntimeError:
            log.exception("send failed")
    finally:
        setup_logging("WARNING", [])
    err = capsys.readouterr().err
    assert "AAH-secret-for-the-filter" not in err
    assert err.count("<redacted>") == 2  # the message argument and the traceback text


async def test_throttling_never_drops_block_events() -> None:
    from aiogram.types import Update, User

    from bot.i18n import build_i18n
    from bot.middlewares import ThrottlingMiddleware

    now = [0.0]
    throttle = ThrottlingMiddleware(build_i18n(), rate=1.0, burst=1.0, clock=lambda: now[0])
    user = User(id=5, is_bot=False, first_name="R")
    handled: list[str] = []

    async def handler(event: object, data: dict[str, object]) -> str:
        handled.append(event.event_type)  # type: ignore[attr-defined]
        return "ok"

    member = Update.model_validate(
        {
            "update_id": 1,
            "my_chat_member": {
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "R"},
                "date": 0,
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": 1, "is_bot": True, "first_name": "B"},
                },
                "new_chat_member": {
                    "status": "kicked",
                    "until_date": 0,
                    "user": {"id": 1, "is_bot": True, "first_name": "B"},
                },
            },
        }
    )
    assert throttle.allow(5) == (True, False)  # the one token of the burst is spent
    assert throttle.allow(5) == (False, True)  # a typed update now would be dropped…
    for _ in range(3):
        assert await throttle(handler, member, {"event_from_user": user}) == "ok"  # …a block never
    assert handled == ["my_chat_member"] * 3
    now[0] += 1.0
    assert throttle.allow(5) == (True, False)  # refilled after a second


def test_inline_queries_have_a_bucket_no_typist_empties() -> None:
    """Issue 13: a reader typing 10 characters a second for 6 s sends 60 inline queries; none
    is dropped, while their messages still meet the ordinary limit."""
    from bot.i18n import build_i18n
    from bot.middlewares import ThrottlingMiddleware

    now = [0.0]
    throttle = ThrottlingMiddleware(build_i18n(), rate=3.0, burst=12.0, clock=lambda: now[0])
    for _ in range(60):
        assert throttle.allow(7, inline=True)[0]
        now[0] += 0.1
    assert sum(throttle.allow(7)[0] for _ in range(20)) < 20  # messages: the usual bucket
