"""The global rate as the server sees it: no one-second window over the limit, even when
requests are held between taking their slot and reaching the server (an event-loop stall)."""

from __future__ import annotations

import asyncio
import random
import time

from bot.broadcast.pacing import Pacing


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
