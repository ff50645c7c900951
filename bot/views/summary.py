"""Summary sentences laid out for readers, with the expert's words attributed."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.language import quote_marks
from bot.domain.models import Turn
from bot.views.render import Block


def who_said(sentence: str, turns: Sequence[Turn], speaker: str | None) -> str | None:
    """The speaker of a sentence of the answers ("" when the piece names nobody); ``None`` for
    the newsroom's own text (lead, questions, closing)."""
    for turn in turns:
        if sentence in turn.answer_text:
            return turn.speaker_of(sentence) or speaker or ""
    return None


def summary_blocks(
    sentences: Sequence[str], turns: Sequence[Turn], speaker: str | None
) -> list[Block]:
    """Summary sentences as paragraphs: the newsroom's own text as is, runs of an expert's
    words introduced by that expert's name (so "нас" and "мы" read as theirs; with several
    experts each run names its own)."""
    blocks: list[Block] = []
    run: list[str] = []
    run_by: str | None = None
    for sentence in sentences:
        by = who_said(sentence, turns, speaker)
        if run and by != run_by:
            blocks.append(_summary_block(run_by, run))
            run = []
        run.append(sentence)
        run_by = by
    if run:
        blocks.append(_summary_block(run_by, run))
    return blocks


def _summary_block(by: str | None, sentences: list[str]) -> Block:
    text = " ".join(sentences)
    if by:
        text = f"{by}: {_quoted(text)}"
    elif by is not None:
        text = f"— {text}"
    return Block(text)


def _quoted(text: str) -> str:
    """The expert's words in quotation marks: «…» with „…“ inside and the full stop after the
    closing mark (Russian), or “…” with ‘…’ inside and the stop within (English)."""
    if quote_marks(text)[0] == "«":
        text = text.replace("«", "„").replace("»", "“")
        return f"«{text[:-1]}»." if text.endswith(".") else f"«{text}»"
    return "“" + text.replace("“", "‘").replace("”", "’") + "”"
