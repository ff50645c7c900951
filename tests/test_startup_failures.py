"""Operator mistakes, run as an operator would: ``python -m bot …`` in a child process.

Each ends in one line on stderr that names the setting or file, a documented exit status, no
traceback, nothing after the line, and the token's secret part (unique to these tests) in no
byte the process wrote: stdout, stderr, or any file under the test's folder. The five
reproductions of issue 15 are the first five tests.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.failures import ExitCode
from tests.fakegram import BotAPIEmulator
from tests.harness import start_bot_process

SECRET = "AAF-fail-well-7c41e09b3d"  # the token's secret part: found nowhere unless leaked
TOKEN = f"424242:{SECRET}"
HOOK_SECRET = "hook-secret-5e8a2f61c9"
READER = 4242


@dataclass
class Ended:
    code: int | None
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.err.rstrip("\n").splitlines()


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "BOT_TOKEN": TOKEN,
        "BOT_API_URL": "http://127.0.0.1:9",
        "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
        "LOG_LEVEL": "INFO",
        "WEBHOOK_URL": "",
        "WEBHOOK_SECRET": HOOK_SECRET,
        "START_TIMEOUT": "20",
        "THROTTLE_RATE": "0",
        **extra,
    }


async def run_to_end(env: dict[str, str], *args: str) -> Ended:
    process = await start_bot_process(env, *args)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return Ended(process.returncode, out.decode(), err.decode())


def assert_no_secret(text: str, tmp_path: Path) -> None:
    assert SECRET not in text and HOOK_SECRET not in text
    for file in tmp_path.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert SECRET.encode() not in data and HOOK_SECRET.encode() not in data, file


def assert_failed_well(ended: Ended, code: ExitCode, *needles: str, tmp_path: Path) -> str:
    """The one line (returned), last on stderr; the status; no traceback; no secret."""
    output = ended.out + ended.err
    assert ended.code == code, output
    line = ended.lines[-1]
    assert line.startswith("error: "), output
    for needle in needles:
        assert needle in line, line
    assert "Traceback" not in output
    assert "Event loop is closed" not in output and "Unclosed" not in output
    assert_no_secret(output, tmp_path)
    return line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this user cannot create files in (root ignores modes: /sys refuses anyway)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    for candidate in (folder, Path("/sys/kernel")):
        try:
            fd, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(fd)
        os.unlink(name)
    pytest.skip("no folder that this user cannot write to")


# -- the five reproductions of issue 15 --------------------------------------------------------


async def test_html_instead_of_the_bot_api_is_one_line_naming_the_url(tmp_path: Path) -> None:
    """1. A reverse proxy's HTML 404 page that echoes the request path, token included."""

    async def not_found(request: web.Request) -> web.Response:
        page = f"<!DOCTYPE html><html><body><pre>Cannot POST {request.path}</pre></body></html>"
        return web.Response(status=404, text=page, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", not_found)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        env = environment(tmp_path, BOT_API_URL=url, LOG_LEVEL="DEBUG")
        ended = await run_to_end(env, "run")
    finally:
        await runner.cleanup()
    line = assert_failed_well(ended, ExitCode.CONFIG, f"BOT_API_URL={url}", tmp_path=tmp_path)
    assert "HTTP 404, an HTML page" in line


async def test_database_under_a_regular_file(tmp_path: Path) -> None:
    """2. DATABASE_PATH whose parent is a file."""
    (tmp_path / "data").write_text("a file, not a folder")
    ended = await run_to_end(environment(tmp_path), "run")
    assert_failed_well(ended, ExitCode.STORAGE, "DATABASE_PATH=", "is a file", tmp_path=tmp_path)


async def test_database_in_a_folder_the_bot_cannot_write(tmp_path: Path) -> None:
    """3. DATABASE_PATH in a folder the process cannot write (and no 'Event loop is closed')."""
    folder = unwritable_folder(tmp_path)
    env = environment(tmp_path, DATABASE_PATH=str(folder / "bot.sqlite3"))
    ended = await run_to_end(env, "run")
    line = assert_failed_well(
        ended, ExitCode.STORAGE, f"cannot create files in {folder}", tmp_path=tmp_path
    )
    assert "write access" in line


@pytest.mark.parametrize("command", ["run", "pieces"])
async def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_was(
    tmp_path: Path, command: str
) -> None:
    """4. A file at DATABASE_PATH that is not an SQLite database, for ``run`` and ``pieces``."""
    database = tmp_path / "notes.txt"
    content = b"Not a database: the editor's notes.\n" * 200
    database.write_bytes(content)
    before = sorted(p.name for p in tmp_path.iterdir())
    ended = await run_to_end(environment(tmp_path, DATABASE_PATH=str(database)), command)
    assert_failed_well(
        ended,
        ExitCode.STORAGE,
        f"DATABASE_PATH={database}",
        "not an SQLite database",
        tmp_path=tmp_path,
    )
    assert database.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no -wal, -shm or lock


async def test_webhook_url_must_be_https_before_any_network_call(tmp_path: Path) -> None:
    """5. WEBHOOK_URL=http://…: refused before the Bot API is called at all."""
    async with BotAPIEmulator(TOKEN) as emu:
        env = environment(
            tmp_path, BOT_API_URL=emu.base_url, WEBHOOK_URL="http://bot.example.org/tg/hook"
        )
        ended = await run_to_end(env, "webhook")
        assert emu.calls == []
    assert ended.lines == [ended.lines[-1]]  # nothing logged before the line either
    assert_failed_well(
        ended, ExitCode.CONFIG, "WEBHOOK_URL must be an https:// URL", tmp_path=tmp_path
    )


# -- the Bot API at start ------------------------------------------------------------------------


async def test_a_token_the_bot_api_refuses(tmp_path: Path) -> None:
    async with BotAPIEmulator("424242:another-token-entirely") as emu:
        ended = await run_to_end(environment(tmp_path, BOT_API_URL=emu.base_url), "run")
        assert [c.method for c in emu.calls] == ["getMe"]  # asked once: 401 is not retried
    assert_failed_well(ended, ExitCode.CONFIG, "BOT_TOKEN was refused", "401", tmp_path=tmp_path)


async def test_an_unreachable_bot_api_is_retried_then_given_up(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = environment(tmp_path, BOT_API_URL=url, START_TIMEOUT="3", LOG_LEVEL="DEBUG")
    ended = await run_to_end(env, "run")
    line = assert_failed_well(
        ended, ExitCode.NETWORK, "did not answer for 3 s", "connection refused", tmp_path=tmp_path
    )
    assert "check BOT_API_URL and the network" in line
    retries = [x for x in ended.lines if "not ready (cannot connect: connection refused)" in x]
    assert len(retries) == 2  # after 0 s and 1 s; the wait after 3 s would pass START_TIMEOUT


async def test_transient_trouble_at_start_is_retried_and_the_bot_serves(tmp_path: Path) -> None:
    """The Bot API is down when the bot starts (connection refused), then answers 502 once,
    then works: the bot waits, logs each retry, and serves."""
    port = free_port()
    process = await start_bot_process(
        environment(tmp_path, BOT_API_URL=f"http://127.0.0.1:{port}"), "run"
    )
    seen: list[bytes] = []
    try:
        assert process.stderr is not None
        async with asyncio.timeout(60):
            while b"not ready" not in (line := await process.stderr.readline()):
                assert line, b"".join(seen).decode()
                seen.append(line)
            seen.append(line)
        async with BotAPIEmulator(TOKEN, port=port) as emu:
            emu.fail_next("getMe", status=502)
            await emu.wait_for_call("getUpdates", timeout=60)
            await emu.send_message(READER, "/answer 1")
            [answer] = await emu.wait_for_messages(READER, 1, timeout=10)
            assert "вопрос 1 из 7" in answer.text
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    logs = b"".join(seen).decode() + err.decode()
    assert process.returncode == 0, logs
    assert "not ready (cannot connect: connection refused)" in logs
    assert "not ready (HTTP 502)" in logs
    assert "Traceback" not in logs
    assert_no_secret(out.decode() + logs, tmp_path)


async def test_run_removes_a_leftover_webhook_and_serves(tmp_path: Path) -> None:
    """A webhook left set (a webhook process killed, another deployment) makes Telegram refuse
    getUpdates: ``run`` removes it, keeps the updates waiting there, and serves them."""
    async with BotAPIEmulator(TOKEN) as emu:
        emu.webhook = {"url": "https://old.example.org/hook"}
        await emu.send_message(READER, "/answer 2")  # waiting while nobody polls
        process = await start_bot_process(environment(tmp_path, BOT_API_URL=emu.base_url), "run")
        try:
            [answer] = await emu.wait_for_messages(READER, 1, timeout=60)
            assert "вопрос 2 из 7" in answer.text
            assert emu.webhook is None
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    logs = err.decode()
    assert process.returncode == 0, logs
    assert "removed it to poll" in logs and "old.example.org" not in logs
    assert "Traceback" not in logs
    assert_no_secret(out.decode() + logs, tmp_path)


# -- one serving process per database ------------------------------------------------------------


async def test_a_second_bot_on_the_same_database_is_refused(tmp_path: Path) -> None:
    async with BotAPIEmulator(TOKEN) as emu:
        env = environment(tmp_path, BOT_API_URL=emu.base_url)
        first = await start_bot_process(env, "run")
        try:
            await emu.wait_for_call("getUpdates", timeout=60)
            ended = await run_to_end(env, "run")
            line = assert_failed_well(
                ended, ExitCode.LOCKED, "in use by another bot process", tmp_path=tmp_path
            )
            assert f"pid {first.pid}" in line
            await emu.send_message(READER, "/answer 3")  # the first one still serves
            [answer] = await emu.wait_for_messages(READER, 1, timeout=10)
            assert "вопрос 3 из 7" in answer.text
        finally:
            first.send_signal(signal.SIGTERM)
            await asyncio.wait_for(first.communicate(), 30)
    assert first.returncode == 0


# -- webhook: a failed start closes what it opened, a good one serves and cleans up -----------


async def test_a_refused_webhook_closes_everything_before_the_line(tmp_path: Path) -> None:
    async with BotAPIEmulator(TOKEN) as emu:
        emu.fail_next(
            "setWebhook", status=400, description="Bad Request: bad webhook: Failed to resolve host"
        )
        env = environment(
            tmp_path,
            BOT_API_URL=emu.base_url,
            WEBHOOK_URL="https://bot.example.org/tg/hook",
            WEBHOOK_PORT=str(free_port()),
        )
        ended = await run_to_end(env, "webhook")
        assert emu.webhook is None
    line = assert_failed_well(
        ended,
        ExitCode.CONFIG,
        "refused WEBHOOK_URL=https://bot.example.org/tg/hook",
        "Failed to resolve host",
        tmp_path=tmp_path,
    )
    assert line == ended.lines[-1]
    closing = [x for x in ended.lines if "Broadcaster stopped" in x]
    assert len(closing) == 1  # stopped once, before the line; nothing after it


async def test_webhook_process_serves_with_the_secret_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with BotAPIEmulator(TOKEN) as emu:
        env = environment(
            tmp_path,
            BOT_API_URL=emu.base_url,
            WEBHOOK_URL="https://bot.example.org/tg/hook",
            WEBHOOK_PORT=str(port),
            LOG_LEVEL="DEBUG",
        )
        process = await start_bot_process(env, "webhook")
        try:
            await emu.wait_for_call("setWebhook", timeout=60)
            assert emu.webhook is not None and emu.webhook["secret_token"] == HOOK_SECRET
            emu.add_chat(READER)
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": READER, "type": "private"},
                    "from": {"id": READER, "is_bot": False, "first_name": "R"},
                    "text": "/answer 4",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
                },
            }
            url = f"http://127.0.0.1:{port}/tg/hook"
            headers = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
            async with (
                aiohttp.ClientSession() as http,
                http.post(url, json=update, headers=headers) as response,
            ):
                assert response.status == 200
            [answer] = await emu.wait_for_messages(READER, 1, timeout=10)
            assert "вопрос 4 из 7" in answer.text
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 30)
        assert emu.webhook is None  # removed on the way out
    logs = err.decode()
    assert process.returncode == 0, logs
    assert "Webhook removed" in logs and "Traceback" not in logs
    assert_no_secret(out.decode() + logs, tmp_path)


# -- storage for the operator commands -----------------------------------------------------------


async def test_a_damaged_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.executemany("INSERT INTO notes VALUES (?)", [("x" * 500,)] * 50)
    damaged = bytearray(database.read_bytes())
    damaged[100:] = b"\x5a" * (len(damaged) - 100)  # the header survives, the pages do not
    database.write_bytes(bytes(damaged))
    ended = await run_to_end(environment(tmp_path, DATABASE_PATH=str(database)), "stats")
    assert_failed_well(ended, ExitCode.STORAGE, "malformed", "backup", tmp_path=tmp_path)
    assert database.read_bytes() == bytes(damaged)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.sqlite3"]
