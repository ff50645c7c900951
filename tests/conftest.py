"""Shared fixtures. The network is off: only loopback connections are allowed."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.publishing import SEED_TITLE, prepare, seed_bytes, store
from storage import Repository

DATA = Path(__file__).parent / "data"

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else address
    if (
        isinstance(host, str)
        and host not in ("127.0.0.1", "::1", "localhost")
        and self.family
        in (
            socket.AF_INET,
            socket.AF_INET6,
        )
    ):
        raise RuntimeError(f"tests must not reach the network (tried {address!r})")
    return _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    repository = await Repository.open(tmp_path / "bot.sqlite3")
    try:
        yield repository
    finally:
        await repository.close()


@pytest.fixture
async def seeded_repo(repo: Repository) -> Repository:
    await store(repo, prepare(seed_bytes(), title=SEED_TITLE))
    return repo
