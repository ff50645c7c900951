"""Shared fixtures, and the ``e2e``/``slow`` markers. The network is off: only loopback
connections are allowed."""

from __future__ import annotations

import inspect
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from types import CodeType
from typing import Any

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


# --------------------------------------------------------------------------- markers
# Both markers are applied here by rule; `make test-fast` runs -m "not slow and not e2e".

# e2e: the test reaches the Bot API emulator, the bot running on it (tests/harness.py) or a
# ``python -m bot`` child process, in its own code, its fixtures or the tests/ helpers they call.
E2E_NAMES = frozenset(
    {"BotAPIEmulator", "running_bot", "start_bot_process", "create_subprocess_exec"}
)
# slow: a child process (a new interpreter importing aiogram: 1-13 s each), a hypothesis property
# test (40-300 examples), or one of these, measured over ~1 s with `pytest --durations=40`:
# in-process tests that wait on the clock by design (rate limits, retry_after, timeouts).
PROCESS_NAMES = frozenset({"start_bot_process", "create_subprocess_exec"})
SLOW_TESTS = {
    "test_acceptance_e2e.py": {"test_notification_attributes_the_experts_words"},
    "test_ask_e2e.py": {"test_the_model_loads_in_the_background_and_blends_in"},
    "test_inline_e2e.py": {
        "test_a_reader_typing_fast_gets_the_results_for_what_they_finally_typed"
    },
    "test_broadcast.py": {
        "test_a_429_pauses_all_sending_and_is_not_a_failed_attempt",
        "test_a_timed_out_request_is_retried",
        "test_blocked_deactivated_and_unknown_chats_become_inactive_without_retry",
        "test_one_message_per_second_per_chat",
        "test_rate_limit_is_reached_and_kept",
        "test_stop_returns_unsent_claims_and_a_restart_finishes",
    },
    "test_corrections.py": {"test_a_thousand_notifications_are_edited_once_at_the_rate"},
    "test_subscriptions.py": {
        "test_an_editor_publishes_a_file_and_readers_are_notified",
        "test_one_piece_and_one_broadcast_however_often_it_is_sent",
    },
}


def _code_names(code: CodeType) -> set[str]:
    """Global and attribute names used by ``code`` and the functions nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _code_names(const)
    return names


def _reaches(func: Any, names: frozenset[str], seen: set[CodeType]) -> bool:
    """Whether ``func``, or a function of tests/ it calls by name, uses one of ``names``."""
    func = inspect.unwrap(getattr(getattr(func, "hypothesis", None), "inner_test", func))
    code = getattr(func, "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    used = _code_names(code)
    if used & names:
        return True
    namespace = getattr(func, "__globals__", {})
    return any(
        _reaches(helper, names, seen)
        for helper in (namespace.get(name) for name in used)
        if inspect.isfunction(helper) and helper.__module__.startswith("tests.")
    )


def _item_reaches(item: pytest.Item, names: frozenset[str]) -> bool:
    """Whether the test function or one of its fixtures reaches one of ``names``."""
    funcs = [getattr(item, "obj", None)]
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    if fixtureinfo is not None:
        funcs += [d.func for defs in fixtureinfo.name2fixturedefs.values() for d in defs]
    seen: set[CodeType] = set()
    return any(_reaches(func, names, seen) for func in funcs if func is not None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "originalname", item.name)
        listed = SLOW_TESTS.get(item.path.name, set())
        stale = {name for name in listed if not hasattr(getattr(item, "module", None), name)}
        if stale:
            raise pytest.UsageError(f"tests/conftest.py SLOW_TESTS names missing tests: {stale}")
        if item.path.stem.endswith("_e2e") or _item_reaches(item, E2E_NAMES):
            item.add_marker(pytest.mark.e2e)
        if (
            function in listed
            or getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
            or _item_reaches(item, PROCESS_NAMES)
        ):
            item.add_marker(pytest.mark.slow)
