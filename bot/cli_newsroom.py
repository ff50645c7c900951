"""``python -m bot withdraw|restore|purge|correct|cancel|release`` and ``publish --at``: the
editors' commands after publishing, and scheduling.

Each prints one line on success (stderr) and exits 0; bad input (an unknown piece, a piece in
the wrong state, a file that is not an interview, nothing to correct) gets one ``error:`` line,
exit code 2 (3 for a duplicate text), and changes nothing. The running bot carries out the
edits and deletions of sent notifications (its broadcaster), at the broadcast rate.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from bot.config import Settings
from bot.domain.lifecycle import EditRefused, Refusal
from bot.domain.parsing import ParseError

T = TypeVar("T")

REFUSALS = {
    Refusal.UNKNOWN_PIECE: "there is no piece {id}",
    Refusal.WITHDRAWN: "piece {id} is withdrawn (restore it first)",
    Refusal.PURGED: "piece {id} was purged: its text is gone",
    Refusal.NOT_WITHDRAWN: "piece {id} is not withdrawn",
    Refusal.SCHEDULED: "piece {id} is scheduled, not published yet (cancel it instead)",
    Refusal.NOT_SCHEDULED: "piece {id} is not scheduled",
    Refusal.NOTHING_TO_CORRECT: "nothing to correct: the text of piece {id} is the same",
    Refusal.DUPLICATE: "this text is already published as piece {id}",
    Refusal.STALE: "piece {id} changed meanwhile; run the command again",
    Refusal.TIME_IN_PAST: "the time is in the past",
    Refusal.BAD_TIME: "the time is not understood",
    Refusal.NOT_AN_EDITOR: "not an editor",
}


def refusal_line(error: EditRefused) -> str:
    return REFUSALS[error.refusal].format(id=error.piece_id)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    withdraw = sub.add_parser("withdraw", help="take a piece down (reversible until purged)")
    withdraw.add_argument("piece", type=int)
    withdraw.add_argument("--reason", help="shown to readers who follow its links")
    restore = sub.add_parser("restore", help="publish a withdrawn piece again")
    restore.add_argument("piece", type=int)
    purge = sub.add_parser("purge", help="remove a withdrawn piece's text for good")
    purge.add_argument("piece", type=int)
    correct = sub.add_parser("correct", help="replace a piece's text in place (same links)")
    correct.add_argument("piece", type=int)
    correct.add_argument("file", type=Path)
    correct.add_argument("--title", help="new title (default: the piece's)")
    correct.add_argument("--speaker", help="new speaker (default: the piece's)")
    correct.add_argument(
        "--notify", action="store_true", help="also send readers a short correction notice"
    )
    cancel = sub.add_parser("cancel", help="drop a scheduled piece before it is published")
    cancel.add_argument("piece", type=int)
    release = sub.add_parser("release", help="publish a scheduled piece now")
    release.add_argument("piece", type=int)


COMMANDS = frozenset({"withdraw", "restore", "purge", "correct", "cancel", "release"})


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one of ``COMMANDS``; returns the exit code."""
    try:
        return asyncio.run(_run(settings, args))
    except EditRefused as error:
        print(f"error: {refusal_line(error)}", file=sys.stderr)
        return 3 if error.refusal is Refusal.DUPLICATE else 2


async def _with_repo(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    from storage import Repository

    repo = await Repository.open(settings.database_path)
    try:
        return await work(repo)
    finally:
        await repo.close()


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot import newsroom
    from bot.newsroom import CLI_ACTOR
    from storage import Repository

    piece_id: int = args.piece
    if args.command == "withdraw":

        async def withdraw(repo: Repository) -> None:
            change = await newsroom.withdraw(repo, piece_id, args.reason, actor=CLI_ACTOR)
            print(
                f"withdrew piece {piece_id}: hidden from readers and search; "
                f"{change.cancelled} notifications not sent yet cancelled, {change.followups} "
                "sent ones to delete or edit (the running bot does it)",
                file=sys.stderr,
            )

        await _with_repo(settings, withdraw)
    elif args.command == "restore":

        async def restore(repo: Repository) -> None:
            change = await newsroom.restore(repo, piece_id, actor=CLI_ACTOR)
            print(
                f"restored piece {piece_id}: readers see it again; {change.followups} sent "
                "notifications to show again",
                file=sys.stderr,
            )

        await _with_repo(settings, restore)
    elif args.command == "purge":

        async def purge(repo: Repository) -> None:
            await newsroom.purge(repo, piece_id, actor=CLI_ACTOR)
            print(f"purged piece {piece_id}: its text is gone for good", file=sys.stderr)

        await _with_repo(settings, purge)
    elif args.command == "correct":
        return await _correct(settings, args)
    elif args.command == "cancel":

        async def cancel(repo: Repository) -> None:
            await repo.cancel_scheduled(piece_id, actor=CLI_ACTOR)
            print(
                f"cancelled scheduled piece {piece_id}: it will not be published", file=sys.stderr
            )

        await _with_repo(settings, cancel)
    elif args.command == "release":

        async def release(repo: Repository) -> None:
            await repo.release_now(piece_id, actor=CLI_ACTOR)
            print(
                f"published piece {piece_id} now; the running bot notifies its subscribers",
                file=sys.stderr,
            )

        await _with_repo(settings, release)
    return 0


def schedule(settings: Settings, args: argparse.Namespace) -> int:
    """``publish FILE --at WHEN``: stored now, published by the running bot when due."""
    try:
        return asyncio.run(_schedule(settings, args))
    except EditRefused as error:
        print(f"error: {refusal_line(error)}: {args.at!r}", file=sys.stderr)
        return 2


async def _schedule(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.domain.schedule import local, parse_when
    from bot.newsroom import CLI_ACTOR
    from bot.publishing import prepare, publish
    from storage import Repository

    when = parse_when(args.at, settings.zone, datetime.now(UTC))  # before reading anything
    path: Path = args.file
    try:
        data = await asyncio.to_thread(path.read_bytes)
        prepared = await asyncio.to_thread(
            prepare, data, name=path.name, title=args.title, speaker=args.speaker
        )
    except OSError as error:
        print(f"error: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    except ParseError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2

    async def store(repo: Repository) -> int:
        published = await publish(repo, prepared, at=when, actor=CLI_ACTOR)
        if not published.new:
            print(
                f"error: {path}: this text is already published as piece {published.piece_id}",
                file=sys.stderr,
            )
            return 3
        print(published.piece_id)
        print(
            f"scheduled piece {published.piece_id}: {prepared.interview.title!r} goes out "
            f"{local(when, settings.zone)} ({settings.timezone}); invisible until then",
            file=sys.stderr,
        )
        return 0

    return await _with_repo(settings, store)


async def _correct(settings: Settings, args: argparse.Namespace) -> int:
    from bot import newsroom
    from bot.newsroom import CLI_ACTOR
    from storage import Repository

    path: Path = args.file
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        print(f"error: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2

    async def correct(repo: Repository) -> int:
        try:
            correction = await newsroom.prepare_correction(
                repo, args.piece, data, name=path.name, title=args.title, speaker=args.speaker
            )
        except ParseError as error:
            print(f"error: {path}: {error}", file=sys.stderr)
            return 2
        change = await newsroom.apply_correction(
            repo, correction, notify=args.notify, actor=CLI_ACTOR
        )
        print(
            f"corrected piece {args.piece} (revision {change.revision}): "
            f"{newsroom.describe(correction)}; {change.followups} sent notifications to edit"
            + (" with a correction notice" if args.notify else ""),
            file=sys.stderr,
        )
        return 0

    return await _with_repo(settings, correct)
