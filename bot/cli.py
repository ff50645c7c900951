"""``python -m bot``: run, console preview, publish and other operator commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot import cli_newsroom
from bot.config import Settings
from bot.domain.parsing import ParseError
from bot.failures import report
from bot.flock import instance_lock
from bot.guard import Guard
from bot.logs import setup_logging
from bot.redaction import Redactor, secrets_of
from storage.checks import check_database_path

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="News-interview Telegram bot. Without a command: run the bot if BOT_TOKEN "
        "is set, else open the local console preview.",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="poll the Bot API for updates (needs BOT_TOKEN)")
    sub.add_parser("webhook", help="serve updates over a webhook (needs WEBHOOK_URL/SECRET)")
    console = sub.add_parser("console", help="local preview in the terminal, no token needed")
    console.add_argument("--lang", default="ru", help="reader's language: ru or en (default ru)")
    publish = sub.add_parser(
        "publish", help="store a piece from a file: .txt, .docx (Word), .html (web page) or .md"
    )
    publish.add_argument("file", type=Path)
    publish.add_argument("--title", help="title (default: taken from the text)")
    publish.add_argument("--speaker", help="the interviewee (default: taken from the text)")
    publish.add_argument(
        "--dry-run",
        action="store_true",
        help="print the parse as the bot understood it (turns, speakers, dropped lines, "
        "warnings) and store nothing",
    )
    publish.add_argument(
        "--force", action="store_true", help="publish even when the parse has warnings"
    )
    publish.add_argument(
        "--at", help='schedule: "2026-12-03 09:00" in TIMEZONE (or with an offset, +05:00)'
    )
    sub.add_parser("pieces", help="list published and scheduled pieces")
    sub.add_parser("reindex", help="bring the quote search index up to date now (after an upgrade)")
    sub.add_parser("stats", help="subscribers and the latest broadcasts")
    export = sub.add_parser("export-subscribers", help="subscribers as CSV on standard output")
    export.add_argument("--all", action="store_true", help="include unsubscribed and blocked")
    cli_newsroom.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Every command starts here: settings, then the command, with every route out of the
    process redacted (``bot/guard.py``) and every failure ending in one line on stderr and an
    exit status (``bot/failures.py``, README: Exit statuses)."""
    args = build_parser().parse_args(argv)
    redactor = Redactor()
    with Guard(redactor) as guard:
        database = ""
        try:
            settings = Settings.load()
            redactor.add(secrets_of(settings.bot_token, settings.webhook_secret))
            guard.debug = settings.log_level == "DEBUG"
            database = str(settings.database_path)
            return _run(args, settings, guard)
        except (Exception, KeyboardInterrupt) as error:
            return report(error, redactor, debug=guard.debug, database=database)


def _run(args: argparse.Namespace, settings: Settings, guard: Guard) -> int:
    command = args.command or ("run" if settings.bot_token else "console")
    serving = command in ("run", "webhook")
    setup_logging(settings.log_level if serving else "WARNING", guard.redactor)
    if serving:
        # what needs neither network nor aiogram first (aiogram takes seconds to import)
        settings.require_token()
        if command == "webhook":
            settings.require_webhook()
        check_database_path(settings.database_path)
        with instance_lock(settings.database_path):
            from bot.serving import Mode, serve

            guard.run(serve(settings, Mode(command)))
    elif command == "console":
        from bot.console import run_console

        if not settings.bot_token and args.command is None:
            print("BOT_TOKEN is not set: showing the local console preview.", flush=True)
        guard.run(run_console(settings, language=getattr(args, "lang", "ru")))
    elif command == "publish" and args.at and not args.dry_run:
        return cli_newsroom.schedule(settings, args)
    elif command == "publish":
        return _publish(
            settings,
            args.file,
            args.title,
            args.speaker,
            dry_run=args.dry_run,
            force=args.force,
        )
    elif command == "pieces":
        guard.run(_pieces(settings))
    elif command == "reindex":
        guard.run(_reindex(settings))
    elif command == "stats":
        guard.run(_stats(settings))
    elif command == "export-subscribers":
        guard.run(_export_subscribers(settings, args.all))
    elif command in cli_newsroom.COMMANDS:
        return cli_newsroom.run(settings, args)
    return 0


EXIT_WARNINGS = 4  # parsed, but with warnings and no --force: nothing stored


def _publish(
    settings: Settings,
    path: Path,
    title: str | None,
    speaker: str | None,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> int:
    from bot.domain.review import review
    from bot.publishing import Published, prepare, publish
    from bot.report import finding_text, parse_report
    from storage import Repository

    try:
        data = path.read_bytes()
    except OSError as error:
        print(f"error: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        prepared = prepare(data, name=path.name, title=title, speaker=speaker)
    except ParseError as error:
        print(f"error: {path}: {error}", file=sys.stderr)
        return 2
    findings = review(prepared.interview)
    if dry_run:
        print(parse_report(prepared.interview, findings))
        print("Dry run: nothing stored.")
        return 0
    if any(f.concern.blocking for f in findings) and not force:
        for finding in findings:
            print(f"warning: {path}: {finding_text(finding)}", file=sys.stderr)
        print(
            f"error: {path}: not published because of the warnings above; check the parse "
            "with --dry-run, then publish with --force if it is right",
            file=sys.stderr,
        )
        return EXIT_WARNINGS

    async def _store() -> Published:
        repo = await Repository.open(settings.database_path)
        try:
            return await publish(repo, prepared, actor=0)  # 0: the command line
        finally:
            await repo.close()

    published = asyncio.run(_store())
    if not published.new:
        print(
            f"error: {path}: this text is already published as piece {published.piece_id}",
            file=sys.stderr,
        )
        return 3
    interview = prepared.interview
    print(published.piece_id)
    print(
        f"published piece {published.piece_id}: {interview.title!r}, {len(interview.turns)} "
        f"questions, speaker {interview.speaker or 'unknown'}; {published.recipients} subscribers "
        "to notify (the running bot sends them)",
        file=sys.stderr,
    )
    return 0


async def _pieces(settings: Settings) -> None:
    from storage import Repository

    repo = await Repository.open(settings.database_path)
    try:
        for info in await repo.scheduled_pieces():
            when = info.published_at.astimezone(settings.zone)
            print(f"{info.id}\t{when:%Y-%m-%d %H:%M}\t{info.turn_count}\t{info.title}\tscheduled")
        for info in await repo.list_pieces(limit=1000):
            print(f"{info.id}\t{info.published_at:%Y-%m-%d %H:%M}\t{info.turn_count}\t{info.title}")
    finally:
        await repo.close()


async def _reindex(settings: Settings) -> None:
    import time

    from storage import Repository

    repo = await Repository.open(settings.database_path)
    started = time.monotonic()
    shown = 0

    def progress(count: int) -> None:
        nonlocal shown
        if count - shown >= 10_000:
            shown = count
            print(f"{count:,} quotes indexed ({time.monotonic() - started:.0f} s)", flush=True)

    try:
        count = await repo.build_search_index(progress)
    finally:
        await repo.close()
    print(
        f"search index up to date: {count:,} quotes indexed in {time.monotonic() - started:.1f} s"
    )


async def _stats(settings: Settings) -> None:
    from datetime import UTC, datetime

    from storage import Repository

    repo = await Repository.open(settings.database_path)
    try:
        counts = await repo.subscriber_counts()
        print(
            f"subscribers: {counts.active} active, {counts.unsubscribed} unsubscribed, "
            f"{counts.blocked} blocked the bot"
        )
        readers, follows = await repo.follow_counts()
        print(f"following something: {readers} readers, {follows} follows")
        for kind, phrase, count in await repo.most_followed(10):
            print(f"  {count}\t{kind.value}\t{phrase}")
        for item in await repo.recent_broadcasts(10):
            c = item.counts
            when = datetime.fromtimestamp(item.created_at, UTC).strftime("%Y-%m-%d %H:%M")
            status = (
                f"finished in {item.finished_at - item.created_at:.0f} s"
                if item.finished_at is not None
                else "in progress"
            )
            print(
                f"{item.piece_id}\t{when}\t{c.sent}/{c.total} sent\t{c.failed} failed\t"
                f"{c.unreachable} unreachable\t{c.cancelled} cancelled\t{c.remaining} pending\t"
                f"{status}\t{item.title}"
            )
    finally:
        await repo.close()


async def _export_subscribers(settings: Settings, include_inactive: bool) -> None:
    import csv

    from storage import Repository

    repo = await Repository.open(settings.database_path)
    try:
        subscribers = await repo.list_subscribers(active_only=not include_inactive)
        readers = await repo.export_readers()
    finally:
        await repo.close()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        [
            "chat_id",
            "state",
            "locale",
            "subscribed_at",
            "changed_at",
            "reason",
            "mode",
            "silent",
            "quiet_hours",
            "utc_offset_minutes",
            "digest_hour",
            "follows",
        ]
    )

    def extra(chat_id: int) -> list[object]:
        found = readers.pop(chat_id, None)
        if found is None:
            return ["", "", "", "", "", ""]
        settings_, follows = found
        quiet = f"{settings_.quiet_from // 60:02d}:{settings_.quiet_from % 60:02d}-" + (
            f"{settings_.quiet_to // 60:02d}:{settings_.quiet_to % 60:02d}"
        )
        return [
            settings_.mode.value,
            settings_.silence.value,
            quiet,
            settings_.utc_offset,
            "" if settings_.digest_hour is None else settings_.digest_hour,
            "; ".join(f"{f.kind.value}:{f.phrase}" for f in follows),
        ]

    for s in subscribers:
        writer.writerow(
            [
                s.chat_id,
                s.state.value,
                s.locale,
                s.subscribed_at,
                s.changed_at,
                s.reason or "",
                *extra(s.chat_id),
            ]
        )
    for chat_id in sorted(readers):  # readers who follow without a subscription
        writer.writerow([chat_id, "follows", "", "", "", "", *extra(chat_id)])
