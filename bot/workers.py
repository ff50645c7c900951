"""Several webhook workers on one machine: ``python -m bot webhook`` with ``WEBHOOK_WORKERS`` > 1.

The command becomes a **supervisor** that serves no update itself. In order, each step undone
in reverse on the way out:

1. it checks that ``WEBHOOK_HOST:WEBHOOK_PORT`` can be listened on (a port in use is one line
   and status 2, as with one process); each worker then listens on it with ``SO_REUSEPORT``,
   and the kernel spreads new connections over the workers by their address hash. (A socket
   shared by inheritance was tried first: asyncio accepts up to 100 waiting connections per
   wake-up, so one worker took a whole burst and the other stayed idle.) Telegram keeps up to
   40 connections open to a webhook, so its updates spread over the workers;
2. the database (migrations run here, once), ``getMe`` against ``BOT_API_URL`` (retried as at
   any start), the bundled interview in an empty store;
3. the throttling table the workers share (``bot/shared_throttle.py``);
4. ``WEBHOOK_WORKERS`` workers (``python -m bot.worker``), each with its own database
   connection, dispatcher and broadcaster — the first alone, then the others together — and
   it waits until every one serves;
5. ``setWebhook``, once; ``deleteWebhook`` on the way out, before the workers stop.

Every worker starts a broadcaster, but only the one that takes the broadcast lock
(``bot/broadcast/lock.py``) sends; the others stand by, retrying the lock every two seconds,
so when the broadcasting worker dies the kernel releases its lock and another takes over and
resumes its interrupted claims. A worker that dies after it served is started again a second
later; one that fails before it serves has printed its one line, and the supervisor stops the
others and exits with its status. SIGTERM/SIGINT to the supervisor stop the workers (SIGTERM,
then SIGKILL after ``STOP_GRACE``) and exit 0. Workers run in their own session, so a Ctrl-C
in the terminal reaches the supervisor alone, and a worker whose supervisor is gone stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass

from aiogram.exceptions import AiogramError

from bot.api_check import Patience, Verdict, judge_aiogram, wait_for_bot_api
from bot.app import build_bot, build_dispatcher, prepare_to_serve
from bot.config import Settings
from bot.failures import ExitCode, Fatal, Reported
from bot.publishing import ensure_seed
from bot.shared_throttle import SharedBuckets
from bot.webhook import register_webhook, remove_webhook, unlistenable, webhook_serving
from storage import Repository

logger = logging.getLogger(__name__)

WORKER_ENV = "INTERVIEW_BOT_WORKER"  # "index,ready fd,buckets fd" (-1: none)
RESTART_DELAY = 1.0
STOP_GRACE = 20.0  # below systemd's TimeoutStopSec=30 (deploy/interview-bot.service)
_EXPECTED = {int(code) for code in ExitCode}


def check_port(settings: Settings) -> None:
    """Whether the workers will be able to listen on WEBHOOK_HOST:WEBHOOK_PORT: bound (not
    listened on, so it never takes a connection) with ``SO_REUSEPORT`` and closed again."""
    host, port = settings.webhook_host, settings.webhook_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            probe.bind((host, port))
    except OSError as error:
        raise unlistenable(host, port, error) from error


async def supervise(settings: Settings, token: str) -> None:
    """Run ``settings.webhook_workers`` workers until cancelled (by a signal)."""
    check_port(settings)
    async with contextlib.AsyncExitStack() as stack:
        repo = await Repository.open(settings.database_path)
        stack.push_async_callback(repo.close)
        bot = build_bot(settings, token)
        stack.push_async_callback(bot.session.close)
        patience = Patience(settings.start_timeout)
        await wait_for_bot_api(settings.bot_api_url, token, patience)
        seeded = await ensure_seed(repo)
        if seeded:
            logger.info("Empty store: published the bundled interview as piece %d", seeded)
        allowed_updates = build_dispatcher(repo, settings).resolve_used_update_types()
        buckets_fd = -1
        if settings.throttle_rate > 0:
            buckets, table = SharedBuckets.create()
            buckets.close()  # the supervisor only holds the file open for the workers
            stack.callback(table.close)
            buckets_fd = table.fileno()
        pool = WorkerPool(buckets_fd)
        stack.push_async_callback(pool.stop)
        await pool.start(settings.webhook_workers)
        try:
            await register_webhook(bot, settings, allowed_updates, patience)
        except AiogramError as error:
            judgement = judge_aiogram(error, lambda reason: f"the Bot API refused: {reason}")
            code = ExitCode.CONFIG if judgement.verdict is Verdict.REFUSED else ExitCode.NETWORK
            raise Fatal(code, judgement.detail) from error
        stack.push_async_callback(remove_webhook, bot)
        await pool.watch()


@dataclass
class Worker:
    index: int
    process: asyncio.subprocess.Process
    ready: asyncio.Task[bool]


class WorkerPool:
    """The worker processes: started, waited for, restarted, stopped."""

    def __init__(self, buckets_fd: int) -> None:
        self.buckets_fd = buckets_fd
        self.workers: dict[int, Worker] = {}
        self.restarts = 0

    async def spawn(self, index: int) -> Worker:
        read_end, write_end = os.pipe()
        fds = [write_end] + ([self.buckets_fd] if self.buckets_fd >= 0 else [])
        spec = f"{index},{write_end},{self.buckets_fd}"
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.worker",
                env={**os.environ, WORKER_ENV: spec},
                pass_fds=fds,
                start_new_session=True,
            )
        finally:
            os.close(write_end)
        worker = Worker(
            index,
            process,
            asyncio.create_task(_read_ready(read_end), name=f"worker-{index}-ready"),
        )
        self.workers[index] = worker
        logger.info("Started webhook worker %d (pid %d)", index, process.pid)
        return worker

    async def start(self, count: int) -> None:
        """Start ``count`` workers and wait until each serves; a worker that fails first ends
        the command with its status (its line is already on stderr). The first starts alone,
        so that a mistake every worker would make is one line, not ``count``."""
        await self._until_ready(await self.spawn(1))
        rest = [await self.spawn(index) for index in range(2, count + 1)]
        for worker in rest:
            await self._until_ready(worker)

    async def _until_ready(self, worker: Worker) -> None:
        if await worker.ready:
            return
        code = await worker.process.wait()
        if code in _EXPECTED and code != 0:
            raise Reported(ExitCode(code))
        raise Fatal(
            ExitCode.INTERNAL,
            f"webhook worker {worker.index} ended with status {code} before it served "
            "(a bug: LOG_LEVEL=DEBUG shows the traceback)",
        )

    async def watch(self) -> None:
        """Forever: a worker that ends is started again after ``RESTART_DELAY``."""
        while True:
            waits = {
                asyncio.ensure_future(w.process.wait()): w for w in list(self.workers.values())
            }
            try:
                done, _pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for future in waits:
                    future.cancel()
            for future in done:
                worker = waits[future]
                logger.warning(
                    "Webhook worker %d (pid %d) ended with status %s; starting another",
                    worker.index,
                    worker.process.pid,
                    worker.process.returncode,
                )
                worker.ready.cancel()
                await asyncio.sleep(RESTART_DELAY)
                self.restarts += 1
                await self._until_ready(await self.spawn(worker.index))

    async def stop(self) -> None:
        """SIGTERM to every worker, SIGKILL to those still running after ``STOP_GRACE``."""
        workers = list(self.workers.values())
        running = [w for w in workers if w.process.returncode is None]
        for worker in workers:
            worker.ready.cancel()
        for worker in running:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                await asyncio.wait_for(worker.process.wait(), STOP_GRACE)
            except TimeoutError:
                logger.warning("Webhook worker %d did not stop; killing it", worker.index)
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
                await worker.process.wait()
        self.workers.clear()
        if running:  # (nothing after a failed worker's line when there was nothing to stop)
            logger.info("Webhook workers stopped")


async def _read_ready(fd: int) -> bool:
    """True when the worker writes its ready byte; False if it closes the pipe (ends) first."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _protocol = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    try:
        return bool(await reader.read(1))
    finally:
        transport.close()


# -- the worker side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    ready_fd: int
    buckets_fd: int

    @classmethod
    def from_env(cls) -> WorkerSpec:
        raw = os.environ.get(WORKER_ENV, "")
        try:
            index, ready_fd, buckets_fd = (int(part) for part in raw.split(","))
        except ValueError:
            raise Fatal(
                ExitCode.CONFIG,
                "python -m bot.worker is started by `python -m bot webhook` with "
                "WEBHOOK_WORKERS > 1, not by hand",
            ) from None
        return cls(index, ready_fd, buckets_fd)


async def serve_worker(settings: Settings, spec: WorkerSpec) -> None:
    """One worker: serve updates on WEBHOOK_PORT beside the others until SIGTERM (or the supervisor is
    gone); ``Fatal`` for an expected failure."""
    from bot.serving import stop_on_signal

    token = settings.require_token()
    with stop_on_signal() as received:
        orphaned = asyncio.create_task(_stop_when_orphaned(os.getppid()))
        try:
            await _serve_worker(settings, spec, token)
        except asyncio.CancelledError:
            if not received:
                raise
            logger.info("Stopped by signal %d", received[0])
        finally:
            orphaned.cancel()


async def _stop_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:  # noqa: ASYNC110 - no event tells a child its parent died
        await asyncio.sleep(1.0)
    logger.warning("The supervisor (pid %d) is gone; stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)


async def _serve_worker(settings: Settings, spec: WorkerSpec, token: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        repo = await Repository.open(settings.database_path)
        stack.push_async_callback(repo.close)
        bot = build_bot(settings, token)
        stack.push_async_callback(bot.session.close)
        buckets = None
        if spec.buckets_fd >= 0:
            buckets = SharedBuckets(spec.buckets_fd)
            stack.callback(buckets.close)
        await prepare_to_serve(repo)
        dp = build_dispatcher(repo, settings, shared_buckets=buckets)
        patience = Patience(settings.start_timeout)
        try:
            async with webhook_serving(
                dp, bot, repo, settings, patience, reuse_port=True, register=False
            ):
                os.write(spec.ready_fd, b"r")
                os.close(spec.ready_fd)
                await asyncio.Event().wait()  # until a signal cancels it
        except AiogramError as error:
            judgement = judge_aiogram(error, lambda reason: f"the Bot API refused: {reason}")
            code = ExitCode.CONFIG if judgement.verdict is Verdict.REFUSED else ExitCode.NETWORK
            raise Fatal(code, judgement.detail) from error
