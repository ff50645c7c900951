"""Failing well, piece by piece and in-process: every route out of the process is redacted,
every exit status is documented, each classifier is table-tested, the database checks refuse
without touching, and a failed start closes what it opened."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetMe

from bot.api_check import (
    MAX_DELAY,
    Judgement,
    Patience,
    Verdict,
    judge,
    judge_aiogram,
    judge_failure,
    wait_for_bot_api,
)
from bot.app import build_bot, build_dispatcher
from bot.config import Settings, SettingsError
from bot.domain.parsing import ParseError, ParseProblem
from bot.failures import ADVICE, ExitCode, Fatal, diagnose, report
from bot.flock import instance_lock
from bot.guard import Guard
from bot.logs import setup_logging
from bot.redaction import REDACTED, Redactor, secrets_of
from bot.serving import Mode, serve
from bot.webhook import webhook_serving
from storage import Repository, StorageError
from storage.checks import check_database_path
from tests.fakegram import BotAPIEmulator
from tests.harness import emulator_settings

TOKEN = "424242:AAF-routes-0d3e9b7a51"
SECRET = TOKEN.split(":", 1)[1]
HOOK = "hook-routes-62b0c4"
URL = "http://127.0.0.1:8081"
README = Path(__file__).resolve().parent.parent / "README.md"


# -- every route out -----------------------------------------------------------------------------


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


class Leaky:
    def __del__(self) -> None:
        raise RuntimeError(f"in __del__ {TOKEN}")


def fail_in_thread() -> None:
    raise RuntimeError(f"in a thread {TOKEN}")


async def asyncio_route() -> None:
    loop = asyncio.get_running_loop()
    loop.call_exception_handler(
        {"message": f"asyncio {TOKEN}", "exception": RuntimeError(f"task {HOOK}")}
    )


def test_every_route_out_of_the_process_is_redacted(
    capfd: pytest.CaptureFixture[str], root_logging: None
) -> None:
    redactor = Redactor(secrets_of(TOKEN, HOOK))
    with Guard(redactor) as guard:
        guard.debug = True
        setup_logging("DEBUG", redactor)
        log = logging.getLogger("tests.routes")
        log.info("GET /bot%s/getMe", TOKEN)  # a record's arguments
        try:
            raise RuntimeError(f"POST /bot{TOKEN}/sendMessage failed")
        except RuntimeError:
            log.exception("request failed")  # a traceback in a record
        try:
            raise RuntimeError(f"uncaught {TOKEN}")
        except RuntimeError as error:
            sys.excepthook(type(error), error, error.__traceback__)  # the main thread's hook
        thread = threading.Thread(target=fail_in_thread, name="worker")
        thread.start()
        thread.join()  # another thread's hook (aiosqlite runs one per connection)
        Leaky()  # "Exception ignored in …": the unraisable hook
        warnings.warn(f"deprecated {TOKEN}", UserWarning, stacklevel=1)
        guard.run(asyncio_route())  # the event loop's exception handler
        print(f"print to stdout {TOKEN}")
        print(f"print to stderr {HOOK}", file=sys.stderr)
        print(repr(Settings.load({"BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": HOOK})))
        report(RuntimeError(f"a bug {TOKEN}"), redactor, debug=True)  # traceback at DEBUG
        report(Fatal(ExitCode.CONFIG, f"refused {TOKEN}"), redactor, debug=False)
        sys.stdout.write(f"no newline yet {SECRET}")  # a partial line, flushed on exit
    out, err = capfd.readouterr()
    everything = out + err
    assert SECRET not in everything and HOOK not in everything
    for shown in (
        f"GET /bot{REDACTED}/getMe",
        f"POST /bot{REDACTED}/sendMessage failed",
        f"uncaught {REDACTED}",
        f"in a thread {REDACTED}",
        f"in __del__ {REDACTED}",
        f"deprecated {REDACTED}",
        f"asyncio {REDACTED}",
        f"print to stdout {REDACTED}",
        f"print to stderr {REDACTED}",
        f"a bug {REDACTED}",
        f"error: refused {REDACTED}",
        f"no newline yet {REDACTED}",
        "Traceback",  # at DEBUG, redacted
    ):
        assert shown in everything, shown
    assert "Settings(" in out and "bot_token" not in out


def test_without_debug_hooks_log_one_line_and_no_traceback(
    capfd: pytest.CaptureFixture[str], root_logging: None
) -> None:
    redactor = Redactor(secrets_of(TOKEN))
    with Guard(redactor):
        setup_logging("INFO", redactor)
        thread = threading.Thread(target=fail_in_thread, name="worker")
        thread.start()
        thread.join()
        code = report(RuntimeError(f"a bug {TOKEN}"), redactor, debug=False)
    err = capfd.readouterr().err
    assert code == ExitCode.INTERNAL
    assert "Traceback" not in err
    assert f"Uncaught exception in thread worker: RuntimeError: in a thread {REDACTED}" in err
    assert err.endswith(
        f"error: unexpected RuntimeError: a bug {REDACTED} "
        "(a bug: LOG_LEVEL=DEBUG shows the traceback)\n"
    )


def test_redactor_hides_the_secret_part_alone_and_longest_first() -> None:
    redactor = Redactor(secrets_of(TOKEN, HOOK))
    assert redactor.clean(f"/bot{TOKEN}/getMe") == f"/bot{REDACTED}/getMe"
    assert redactor.clean(f"/bot424242%3A{SECRET}/x") == f"/bot424242%3A{REDACTED}/x"
    assert redactor.clean(f"secret={HOOK}") == f"secret={REDACTED}"
    assert not Redactor() and Redactor().clean(TOKEN) == TOKEN


# -- exit statuses -------------------------------------------------------------------------------


def test_every_exit_status_is_documented_and_has_advice() -> None:
    readme = README.read_text("utf-8")
    assert len({int(code) for code in ExitCode}) == len(ExitCode)
    for code in ExitCode:
        assert f"| `{code.value}` |" in readme, code
        assert ADVICE[code], code


@pytest.mark.parametrize(
    ("error", "code", "shown"),
    [
        (SettingsError("BOT_TOKEN is malformed"), ExitCode.CONFIG, "BOT_TOKEN is malformed"),
        (ParseError(ParseProblem.EMPTY, "the file is empty"), ExitCode.CONFIG, "the file is empty"),
        (StorageError("DATABASE_PATH=x is a folder"), ExitCode.STORAGE, "DATABASE_PATH=x"),
        (
            sqlite3.OperationalError("database is locked"),
            ExitCode.STORAGE,
            "DATABASE_PATH=db.sqlite3: database is locked; another process",
        ),
        (Fatal(ExitCode.LOCKED, "in use"), ExitCode.LOCKED, "in use"),
        (Fatal(ExitCode.NETWORK, "no answer"), ExitCode.NETWORK, "no answer"),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "interrupted"),
        (RuntimeError("boom"), ExitCode.INTERNAL, "unexpected RuntimeError: boom"),
    ],
)
def test_diagnose(error: BaseException, code: ExitCode, shown: str) -> None:
    fatal = diagnose(error, "db.sqlite3")
    assert fatal.code is code
    assert shown in str(fatal)


# -- the Bot API at start ------------------------------------------------------------------------

BOT = b'{"ok":true,"result":{"id":424242,"is_bot":true,"first_name":"B","username":"news_bot"}}'
HTML = b"<!DOCTYPE html><html><body><pre>Cannot POST /bot424242:x/getMe</pre></body></html>"


@pytest.mark.parametrize(
    ("status", "body", "verdict", "shown"),
    [
        (200, BOT, Verdict.READY, "@news_bot"),
        (401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}', Verdict.REFUSED,
         "BOT_TOKEN was refused by the Bot API at http://127.0.0.1:8081 (401 Unauthorized)"),
        (404, b'{"ok":false,"error_code":404,"description":"Not Found"}', Verdict.REFUSED,
         "404 Not Found: BOT_TOKEN is not a bot token there"),
        (404, HTML, Verdict.REFUSED,
         f"BOT_API_URL={URL} does not answer like a Bot API server (getMe got HTTP 404, an HTML page)"),
        (200, b"<html><body>Welcome to nginx!</body></html>", Verdict.REFUSED, "HTTP 200, an HTML page"),
        (200, b'{"status":"ok"}', Verdict.REFUSED, "JSON, but not the Bot API's"),
        (200, b"", Verdict.REFUSED, "HTTP 200, empty"),
        (404, b"404 page not found", Verdict.REFUSED, "something that is not JSON"),
        (200, b'{"ok":true,"result":{"id":1}}', Verdict.REFUSED, "without a bot in it"),
        (400, b'{"ok":false,"error_code":400,"description":"Bad Request"}', Verdict.REFUSED,
         "refused getMe (400 Bad Request)"),
        (502, b"<html>502 Bad Gateway</html>", Verdict.TRANSIENT, "HTTP 502"),
        (503, b'{"ok":false,"error_code":503,"description":"Unavailable"}', Verdict.TRANSIENT, "HTTP 503"),
        (429, b'{"ok":false,"error_code":429,"description":"Too Many Requests"}', Verdict.TRANSIENT, "HTTP 429"),
        (200, b'{"ok":false,"error_code":500,"description":"Internal"}', Verdict.TRANSIENT, "500 Internal"),
    ],
)  # fmt: skip
def test_judge_get_me_answers(status: int, body: bytes, verdict: Verdict, shown: str) -> None:
    judgement = judge(URL, status, body)
    assert judgement.verdict is verdict
    assert shown in judgement.detail
    assert "424242:x" not in judgement.detail  # the page's echo of the request is never quoted


@pytest.mark.parametrize(
    ("error", "verdict", "shown"),
    [
        (TimeoutError(), Verdict.TRANSIENT, "no answer in time"),
        (aiohttp.ServerDisconnectedError(), Verdict.TRANSIENT, "ServerDisconnectedError"),
        (aiohttp.InvalidURL(f"{URL}/bot{TOKEN}/getMe"), Verdict.REFUSED, "not a usable URL"),
    ],
)
def test_judge_requests_without_an_answer(
    error: BaseException, verdict: Verdict, shown: str
) -> None:
    judgement = judge_failure(URL, error)
    assert judgement.verdict is verdict and shown in judgement.detail
    assert SECRET not in judgement.detail


@pytest.mark.parametrize(
    ("error", "verdict", "shown"),
    [
        (TelegramServerError(GetMe(), "Bad Gateway"), Verdict.TRANSIENT, "Bad Gateway"),
        (TelegramNetworkError(GetMe(), "Request timeout error"), Verdict.TRANSIENT, "timeout"),
        (TelegramRetryAfter(GetMe(), "Flood", 3), Verdict.TRANSIENT, "Flood"),
        (TelegramUnauthorizedError(GetMe(), "Unauthorized"), Verdict.REFUSED, "BOT_TOKEN"),
        (ClientDecodeError("Failed", ValueError(), "<html>"), Verdict.REFUSED, "BOT_API_URL"),
        (TelegramBadRequest(GetMe(), "bad webhook"), Verdict.REFUSED, "refused: bad webhook"),
    ],
)
def test_judge_aiogram_errors(error: Exception, verdict: Verdict, shown: str) -> None:
    judgement = judge_aiogram(error, lambda reason: f"refused: {reason}")  # type: ignore[arg-type]
    assert judgement.verdict is verdict and shown in judgement.detail


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_patience_doubles_up_to_a_cap_and_waits_out_the_last_seconds() -> None:
    time = FakeTime()
    patience = Patience(100, clock=time.clock, sleep=time.sleep)
    while (delay := patience.next_wait()) is not None:
        await patience.sleep(delay)
    assert time.slept == [1, 2, 4, 8, 16, 30, 30, 9]
    assert time.now == 100
    forever = Patience(0, clock=time.clock, sleep=time.sleep)
    for _ in range(20):
        delay = forever.next_wait()
        assert delay is not None
        await forever.sleep(delay)
    assert forever.next_wait() == MAX_DELAY


async def test_wait_for_bot_api_retries_transient_trouble(caplog: pytest.LogCaptureFixture) -> None:
    time = FakeTime()
    answers = [
        Judgement(Verdict.TRANSIENT, "cannot connect: connection refused"),
        Judgement(Verdict.TRANSIENT, "HTTP 502"),
        Judgement(Verdict.READY, "@news_bot"),
    ]

    async def ask(url: str, token: str) -> Judgement:
        return answers.pop(0)

    patience = Patience(60, clock=time.clock, sleep=time.sleep)
    assert await wait_for_bot_api(URL, TOKEN, patience, ask) == "@news_bot"
    assert time.slept == [1, 2]
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2 and "HTTP 502" in retries[1]


async def test_wait_for_bot_api_stops_on_a_refusal_or_when_time_is_up() -> None:
    time = FakeTime()

    async def refused(url: str, token: str) -> Judgement:
        return Judgement(Verdict.REFUSED, "BOT_TOKEN was refused")

    async def down(url: str, token: str) -> Judgement:
        return Judgement(Verdict.TRANSIENT, "HTTP 503")

    with pytest.raises(Fatal) as refusal:
        await wait_for_bot_api(
            URL, TOKEN, Patience(60, clock=time.clock, sleep=time.sleep), refused
        )
    assert refusal.value.code is ExitCode.CONFIG and time.slept == []
    with pytest.raises(Fatal) as outage:
        await wait_for_bot_api(URL, TOKEN, Patience(10, clock=time.clock, sleep=time.sleep), down)
    assert outage.value.code is ExitCode.NETWORK
    assert f"the Bot API at {URL} did not answer for 10 s (HTTP 503)" in str(outage.value)


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        ({"BOT_API_URL": f"https://api.telegram.org/bot{TOKEN}"}, "without /bot<token>"),
        ({"BOT_TOKEN": TOKEN, "BOT_API_URL": f"https://x.example/{TOKEN}"}, "without /bot<token>"),
        ({"START_TIMEOUT": "-1"}, "START_TIMEOUT"),
        ({"START_TIMEOUT": "soon"}, "START_TIMEOUT"),
    ],
)
def test_settings_refused_without_echoing_a_token(env: dict[str, str], shown: str) -> None:
    with pytest.raises(SettingsError, match=shown) as refusal:
        Settings.load(env)
    assert SECRET not in str(refusal.value)


def test_webhook_url_must_be_https() -> None:
    settings = replace(Settings(), webhook_url="http://bot.example.org/hook", webhook_secret="s")
    with pytest.raises(SettingsError, match="WEBHOOK_URL must be an https:// URL"):
        settings.require_webhook()
    assert replace(settings, webhook_url="https://bot.example.org/hook").require_webhook() == (
        "/hook"
    )


# -- the database file ---------------------------------------------------------------------------


def test_a_missing_folder_is_created_and_the_write_probe_leaves_nothing(tmp_path: Path) -> None:
    database = tmp_path / "a" / "b" / "bot.sqlite3"
    check_database_path(database)
    assert database.parent.is_dir() and list(database.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("make", "shown"),
    [
        (lambda p: p.parent.parent.write_text("x"), "is a file, not a folder"),
        (lambda p: p.mkdir(parents=True), "is a folder"),
        (lambda p: (p.parent.mkdir(parents=True), p.write_bytes(b"PK\x03\x04 a zip")), "not an SQLite"),
        (lambda p: (p.parent.mkdir(parents=True), p.write_bytes(b"SQLite")), "not an SQLite"),
    ],
)  # fmt: skip
def test_unusable_database_paths_are_refused_by_name(
    tmp_path: Path, make: object, shown: str
) -> None:
    database = tmp_path / "data" / "db" / "bot.sqlite3"
    make(database)  # type: ignore[operator]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(StorageError, match=shown) as refusal:
        check_database_path(database)
    assert "DATABASE_PATH=" in str(refusal.value)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


async def test_an_empty_file_is_an_empty_database(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    database.touch()
    repo = await Repository.open(database)
    try:
        assert await repo.ping()
    finally:
        await repo.close()


async def test_a_damaged_database_is_refused_before_anything_writes(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    repo = await Repository.open(database)
    await repo.close()
    data = bytearray(database.read_bytes())
    data[100:] = b"\x00\xff" * ((len(data) - 100) // 2) + b"\x00" * ((len(data) - 100) % 2)
    database.write_bytes(bytes(data))
    with pytest.raises(StorageError, match=r"malformed|not a database"):
        await Repository.open(database)
    assert database.read_bytes() == bytes(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.sqlite3"]


# -- one serving process per database ------------------------------------------------------------


def test_the_instance_lock_names_its_holder(tmp_path: Path) -> None:
    import os

    database = tmp_path / "bot.sqlite3"
    with instance_lock(database):
        with pytest.raises(Fatal) as refusal, instance_lock(database):
            pass
        assert refusal.value.code is ExitCode.LOCKED
        assert f"in use by another bot process (pid {os.getpid()})" in str(refusal.value)
    with instance_lock(database):  # released: taken again
        pass


# -- a failed webhook start closes what it opened -------------------------------------------------


async def test_a_refused_webhook_stops_the_broadcaster_and_the_server(tmp_path: Path) -> None:
    async with BotAPIEmulator() as emu:
        emu.fail_next("setWebhook", status=400, description="Bad Request: bad webhook: HTTPS")
        settings = emulator_settings(
            emu, tmp_path, webhook_url="https://bot.example.org/hook", webhook_secret="s3cr3t"
        )
        repo = await Repository.open(settings.database_path)
        bot = build_bot(settings)
        dp = build_dispatcher(repo, settings)
        bound: list[int] = []
        try:
            with pytest.raises(Fatal) as refusal:
                async with webhook_serving(dp, bot, repo, settings, Patience(5), port=0) as port:
                    bound.append(port)
            assert refusal.value.code is ExitCode.CONFIG
            assert "refused WEBHOOK_URL=https://bot.example.org/hook" in str(refusal.value)
            assert not dp["broadcaster"].running
            assert emu.webhook is None and bound == []
            assert await repo.ping()  # the database is the caller's to close, still usable
        finally:
            await bot.session.close()
            await repo.close()


async def test_a_port_in_use_is_named_and_the_broadcaster_stopped(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with BotAPIEmulator() as emu:
            settings = emulator_settings(
                emu, tmp_path, webhook_url="https://bot.example.org/hook", webhook_secret="s3cr3t"
            )
            repo = await Repository.open(settings.database_path)
            bot = build_bot(settings)
            dp = build_dispatcher(repo, settings)
            try:
                with pytest.raises(Fatal) as refusal:
                    async with webhook_serving(dp, bot, repo, settings, Patience(5), port=port):
                        pass
                assert refusal.value.code is ExitCode.CONFIG
                assert f"WEBHOOK_HOST:WEBHOOK_PORT=127.0.0.1:{port} cannot be listened on" in str(
                    refusal.value
                )
                assert not dp["broadcaster"].running
                assert [c.method for c in emu.calls if c.method == "setWebhook"] == []
            finally:
                await bot.session.close()
                await repo.close()


# -- a failed start leaves nothing running -------------------------------------------------------


async def nothing_left_running(
    tasks: set[asyncio.Task[object]], threads: set[threading.Thread]
) -> None:
    """Wait up to a second for every task and thread started since ``tasks``/``threads`` to
    end (the loop's default executor is the loop's: ``asyncio.run`` joins it)."""
    for _ in range(50):
        current = asyncio.current_task()
        stray_tasks = {t for t in asyncio.all_tasks() if t not in tasks and t is not current}
        stray_threads = {
            t
            for t in threading.enumerate()
            if t not in threads and not t.name.startswith("asyncio_")  # the loop's own executor
        }
        if not stray_tasks and not stray_threads:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"left running: {stray_tasks} {stray_threads}")


@pytest.mark.parametrize(
    ("mode", "method", "status"),
    [(Mode.POLLING, "getMe", 401), (Mode.WEBHOOK, "setWebhook", 400)],
)
async def test_a_failed_start_leaves_no_task_or_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: Mode, method: str, status: int
) -> None:
    import gc

    monkeypatch.setattr(gc, "freeze", lambda: None)  # prepare_to_serve's, not for pytest
    threads = set(threading.enumerate())
    async with BotAPIEmulator() as emu:
        emu.fail_next(method, status=status, description="Bad Request: bad webhook: HTTPS")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        settings = emulator_settings(
            emu,
            tmp_path,
            webhook_url="https://bot.example.org/hook",
            webhook_secret="s3cr3t",
            webhook_port=port,
        )
        tasks = asyncio.all_tasks()
        with pytest.raises(Fatal) as failure:
            await serve(settings, mode)
        assert failure.value.code is ExitCode.CONFIG
        await nothing_left_running(tasks, threads)
        if mode is Mode.WEBHOOK:  # the broadcaster had started, the server had listened
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
