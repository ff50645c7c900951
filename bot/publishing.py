"""Publishing, written once for the CLI, the admin /publish flow and the bundled seed.

``prepare`` turns a file's bytes into a parsed, summarized piece (pure: a preview needs nothing
more); ``publish`` stores it with its subscribers' deliveries in one transaction and says what
happened; ``ensure_seed`` publishes the bundled interview into an empty archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files

from bot.domain.lifecycle import EditorAction
from bot.domain.models import Interview, Quote, Summary
from bot.domain.parsing import extract_quotes, parse_interview, parse_paragraphs, source_hash
from bot.domain.sources import read_source
from bot.domain.summarizer import summarize
from storage import DuplicatePieceError, Repository

SEED_FILE = "c5-summit-kuramaev-interview.txt"
SEED_TITLE = "Байкадам Курамаев: саммит C5+1 и новая роль Казахстана"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed, summarized piece ready to store (or to preview)."""

    interview: Interview
    summary: Summary
    quotes: list[Quote]
    source_hash: str


def prepare(
    data: bytes,
    *,
    name: str | None = None,
    title: str | None = None,
    speaker: str | None = None,
) -> Prepared:
    """A file's bytes (plain text, Word, a saved web page or Markdown; ``name`` helps tell them
    apart) parsed and summarized. Raises ``ParseError`` with a clear message for anything that
    is not an interview."""
    document = read_source(data, name)
    if document.text is not None:
        text = document.text
        interview = parse_interview(text, title=title, speaker=speaker)
    else:
        # the first heading is the title; later ones (questions as "### …" or <h3>) are
        # emphasised paragraphs like bold ones
        first = next((i for i, p in enumerate(document.paragraphs) if p.heading), None)
        heading = document.paragraphs[first].text if first is not None else None
        body = [p for i, p in enumerate(document.paragraphs) if i != first]
        text = "\n\n".join(p.text for p in document.paragraphs)
        interview = parse_paragraphs(
            ((p.text, p.strong or p.heading) for p in body),
            title=title or heading,
            speaker=speaker,
        )
    return Prepared(interview, summarize(interview), extract_quotes(interview), source_hash(text))


@dataclass(frozen=True, slots=True)
class Published:
    """What ``publish`` did: a new piece with its recipients, or the piece that already has
    this text (``new`` is False and nobody is notified again)."""

    piece_id: int
    new: bool
    recipients: int


async def store(repo: Repository, prepared: Prepared, *, at: datetime | None = None) -> int:
    """Store a new piece and queue its notifications; ``DuplicatePieceError`` if the same text
    is already published. With ``at`` the piece is scheduled: stored now, invisible and
    notified when due (the running bot publishes it)."""
    piece_id = await repo.add_piece(
        prepared.interview,
        prepared.summary,
        prepared.quotes,
        source_hash=prepared.source_hash,
        published_at=at,
        scheduled=at is not None,
    )
    await repo.index_answers()  # its answers for /ask (the bot embeds them in the background)
    return piece_id


async def publish(
    repo: Repository,
    prepared: Prepared,
    *,
    at: datetime | None = None,
    actor: int | None = None,
) -> Published:
    """Store and queue (``at``: scheduled); ``actor`` (an editor's id, 0 for the command line)
    is written to the audit log."""
    try:
        piece_id = await store(repo, prepared, at=at)
    except DuplicatePieceError as error:
        return Published(error.piece_id, new=False, recipients=0)
    if actor is not None:
        action = EditorAction.SCHEDULE if at else EditorAction.PUBLISH
        await repo.audit(actor, action, piece_id, at.isoformat() if at else "")
    if at is not None:
        return Published(piece_id, new=True, recipients=0)
    broadcast = await repo.get_broadcast(piece_id)
    return Published(piece_id, new=True, recipients=broadcast.total if broadcast else 0)


def seed_bytes() -> bytes:
    return files("bot").joinpath("data", SEED_FILE).read_bytes()


async def ensure_seed(repo: Repository) -> int | None:
    """Publish the bundled interview when the store is empty; returns its id if it did."""
    if await repo.has_pieces():
        return None
    return await store(repo, prepare(seed_bytes(), title=SEED_TITLE))
