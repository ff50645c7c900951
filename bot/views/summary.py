"""Summary sentences laid out for readers, with the expert's words attributed."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.language import quote_marks
from bot.views.render import Block


def summary_blocks(
    sentences: Sequence[str], answers: Sequence[str], speaker: str | None
) -> list[Block]:
    """Summary sentences as paragraphs: the newsroom's own text as is, runs of the expert's
    words introduced by the speaker's name (so "нас" and "мы" read as the expert's)."""
    blocks: list[Block] = []
    run: list[str] = []
    run_is_answer = False
    for sentence in sentences:
        is_answer = any(sentence in answer for answer in answers)
        if run and is_answer != run_is_answer:
            blocks.append(_summary_block(speaker, run, run_is_answer))
            run = []
        run.append(sentence)
        run_is_answer = is_answer
    if run:
        blocks.append(_summary_block(speaker, run, run_is_answer))
    return blocks


def _summary_block(speaker: str | None, sentences: list[str], is_answer: bool) -> Block:
    text = " ".join(sentences)
    if is_answer and speaker:
        text = f"{speaker}: {_quoted(text)}"
    elif is_answer:
        text = f"— {text}"
    return Block(text)


def _quoted(text: str) -> str:
    """The expert's words in quotation marks: «…» with „…“ inside and the full stop after the
    closing mark (Russian), or “…” with ‘…’ inside and the stop within (English)."""
    if quote_marks(text)[0] == "«":
        text = text.replace("«", "„").replace("»", "“")
        return f"«{text[:-1]}»." if text.endswith(".") else f"«{text}»"
    return "“" + text.replace("“", "‘").replace("”", "’") + "”"
