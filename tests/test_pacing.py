"""The global rate as the server sees it: no one-second window over the limit, even when
requests are held between taking their slot and reaching the server (an event-loop stall)."""

from __future__ import annotations

import asyncio
import math
import random
import time

from bot.broadcast.config import BroadcastConfig
from bot.broadcast.pacing import Pacing, RateLimiter


def busiest_second(arrivals: list[float]) -> int:
    arrivals = sorted(arrivals)
    busiest, start = 0, 0
    for end, at in enumerate(arrivals):
        while at - arrivals[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


async def _send_all(
    pacing: Pacing, count: int, workers: int, delay: tuple[float, float]
) -> list[float]:
    arrivals: list[float] = []
    todo = iter(range(count))
    rng = random.Random(7)

    async def worker() -> None:
        for chat in todo:
            async with pacing.slot(chat):
                await asyncio.sleep(rng.uniform(*delay))  # written late: the loop was busy
                arrivals.append(time.monotonic())
                await asyncio.sleep(0.005)  # the server answers

    await asyncio.gather(*(worker() for _ in range(workers)))
    return arrivals


async def test_no_second_carries_more_than_the_rate_when_requests_arrive_late() -> None:
    rate = 50
    arrivals = await _send_all(Pacing(rate, 0.0), count=150, workers=40, delay=(0.0, 0.3))
    assert len(arrivals) == 150
    assert busiest_second(arrivals) <= rate
    took = max(arrivals) - min(arrivals)
    assert took < 150 / rate * 1.5  # and the rate is still reached, not halved


async def test_after_a_pause_the_rate_is_kept() -> None:
    rate = 40
    pacing = Pacing(rate, 0.0)
    first = await _send_all(pacing, count=40, workers=10, delay=(0.0, 0.0))
    pacing.pause(0.5)  # a 429's retry_after
    paused = time.monotonic()
    after = await _send_all(pacing, count=60, workers=30, delay=(0.0, 0.05))
    assert min(after) >= paused + 0.5
    assert busiest_second(first + after) <= rate


def test_the_senders_never_hold_the_rate_back() -> None:
    """In flight at once: at most rate × t / (1 + t), t the time from slot to answer (each
    request keeps its place until a second after its answer): the workers cover it for t up to
    a second, at every rate the settings allow."""
    for rate in (0.5, 1, 5, 25, 30, 200, 999, 1000):
        needed = math.ceil(math.floor(max(rate, 1)) * 1.0 / (1 + 1.0))
        assert BroadcastConfig(rate=rate).workers >= needed, rate


async def test_with_api_latency_the_rate_is_limit_over_one_plus_latency() -> None:
    """With the configured workers and 100–200 ms per request, the rate is what exactness
    allows — limit / (1 + t) — not less: the workers are not what limits it."""
    rate = 200
    pacing = Pacing(rate, 0.0)
    todo = iter(range(300))
    rng = random.Random(3)
    sent: list[float] = []

    async def worker() -> None:
        for chat in todo:
            async with pacing.slot(chat):
                sent.append(time.monotonic())
                await asyncio.sleep(rng.uniform(0.1, 0.2))

    await asyncio.gather(*(worker() for _ in range(BroadcastConfig(rate=rate).workers)))
    achieved = (len(sent) - 1) / (max(sent) - min(sent))
    assert busiest_second(sent) <= rate
    assert achieved >= 0.9 * rate / (1 + 0.15)


async def test_senders_waiting_for_room_get_it_in_order_and_a_cancelled_one_steps_out() -> None:
    """A full window: senders wait in line, a second after the answers they get their places in
    the order they came, and one cancelled while waiting leaves the line without holding it."""
    limiter = RateLimiter(1000)
    limiter.limit = 2
    for _ in range(2):
        await limiter.acquire()
        limiter.release()
    order: list[int] = []

    async def sender(number: int) -> None:
        await limiter.acquire()
        order.append(number)
        limiter.release()

    tasks = [asyncio.create_task(sender(n)) for n in range(5)]
    await asyncio.sleep(0.05)
    assert order == []  # both places are held for a second after their answers
    tasks[1].cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    assert order == [0, 2, 3, 4]
