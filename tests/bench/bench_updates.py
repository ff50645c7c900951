"""Updates per second through the real dispatcher and HTTP session, against the emulator.

Compares a bare aiogram echo bot (the floor) with this bot's handlers on a reader's typical
updates (/answer N, button presses, /questions, free-text search). The emulator runs in a
separate process so the bot has its own interpreter, as in production.

    .venv/bin/python -m tests.bench.bench_updates [--updates 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from aiogram import Dispatcher
from aiogram.types import Message

from bot.app import build_bot, build_dispatcher
from bot.config import Settings
from bot.publishing import ensure_seed
from storage import Repository


def serve_emulator(ready: multiprocessing.Queue, commands: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from tests.fakegram import BotAPIEmulator

    async def main() -> None:
        async with BotAPIEmulator() as emu:
            ready.put(emu.base_url)
            while True:
                command = await asyncio.to_thread(commands.get)
                if command is None:
                    return
                kind, count, users = command

                def answered(users: int = users) -> int:
                    return sum(len(emu.messages(10_000 + u)) for u in range(users))

                baseline = answered()
                for i in range(count):
                    user = 10_000 + i % users
                    if kind == "message":
                        await emu.send_message(
                            user, ("/answer 3", "/questions", "Токаев", "/summary")[i % 4]
                        )
                    await asyncio.sleep(0)
                target = baseline + count
                await emu.wait_until(lambda target=target: answered() >= target, timeout=600)
                ready.put(time.perf_counter())

    asyncio.run(main())


async def measure(
    dp: Dispatcher, settings: Settings, count: int, users: int, ready, commands
) -> float:  # type: ignore[no-untyped-def]
    bot = build_bot(settings)
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    await asyncio.sleep(1.0)
    started = time.perf_counter()
    commands.put(("message", count, users))
    finished = await asyncio.to_thread(ready.get)
    await dp.stop_polling()
    await polling
    await bot.session.close()
    return count / (finished - started)


async def run(count: int, users: int) -> None:
    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    commands: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=serve_emulator, args=(ready, commands), daemon=True)
    server.start()
    base_url = ready.get(timeout=60)
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(
            Settings(),
            bot_token="123456:TEST-token",
            bot_api_url=base_url,
            database_path=Path(tmp) / "bench.sqlite3",
            throttle_rate=0.0,
        )
        echo = Dispatcher()

        @echo.message()
        async def reply(message: Message) -> None:
            await message.answer(message.text or "-")

        echo_rate = await measure(echo, settings, count, users, ready, commands)

        repo = await Repository.open(settings.database_path)
        await ensure_seed(repo)
        ours = build_dispatcher(repo, settings)
        cpu0 = time.process_time()
        our_rate = await measure(ours, settings, count, users, ready, commands)
        cpu = time.process_time() - cpu0
        await repo.close()
    commands.put(None)
    server.join(10)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"updates: {count} from {users} readers (/answer 3, /questions, search 'Токаев', /summary)"
    )
    print(f"| bot | updates/s |\n|---|---|\n| bare aiogram echo | {echo_rate:.0f} |")
    print(f"| interview bot | {our_rate:.0f} ({our_rate / echo_rate:.0%} of echo) |")
    print(f"bot process CPU {cpu:.2f} s for {count} updates; peak RSS {rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.updates, args.users))


if __name__ == "__main__":
    main()
