"""From a source file to a stored piece: decode, parse, summarize, store — one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from bot.domain.models import Interview, Quote, Summary
from bot.domain.parsing import decode_source, extract_quotes, parse_interview, source_hash
from bot.domain.summarizer import summarize
from storage import Repository

SEED_FILE = "c5-summit-kuramaev-interview.txt"
SEED_TITLE = "Байкадам Курамаев: саммит C5+1 и новая роль Казахстана"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed, summarized piece ready to store (or to preview)."""

    interview: Interview
    summary: Summary
    quotes: list[Quote]
    source_hash: str


def prepare(data: bytes, *, title: str | None = None, speaker: str | None = None) -> Prepared:
    """Raises ``ParseError`` with a clear message for anything that is not an interview."""
    text = decode_source(data)
    interview = parse_interview(text, title=title, speaker=speaker)
    return Prepared(interview, summarize(interview), extract_quotes(interview), source_hash(text))


async def store(repo: Repository, prepared: Prepared) -> int:
    return await repo.add_piece(
        prepared.interview, prepared.summary, prepared.quotes, source_hash=prepared.source_hash
    )


def seed_bytes() -> bytes:
    return files("bot").joinpath("data", SEED_FILE).read_bytes()


async def ensure_seed(repo: Repository) -> int | None:
    """Publish the bundled interview when the store is empty; returns its id if it did."""
    if await repo.count_pieces():
        return None
    return await store(repo, prepare(seed_bytes(), title=SEED_TITLE))
