"""What a reader sees after asking in their own words (/ask or a plain-text question).

The best answer first — its question, who answered where, the sentence or two that answer the
reader — with buttons to the whole answer and its neighbours; then up to two more answers that
may fit, each a button. Plain functions of ``AnswerHit`` lists; the archive's text and the
reader's are escaped.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.domain.asking import AnswerHit
from bot.domain.language import shorten
from bot.views.callbacks import AnswerView
from bot.views.keyboards import button, markup
from bot.views.reader import Screen
from bot.views.render import Block, escape, render

QUESTION_CHARS = 300
PASSAGE_CHARS = 900
OTHER_CHARS = 60
TITLE_CHARS = 80


def _source(hit: AnswerHit) -> str:
    title = f"«{shorten(hit.piece_title, TITLE_CHARS)}»"
    return f"{hit.speaker}, {title}" if hit.speaker else title


def ask_screen(hits: list[AnswerHit]) -> Screen:
    """The best answer's passage with its question, source and navigation; other candidates."""
    best, others = hits[0], hits[1:]
    blocks = [
        Block(shorten(best.question, QUESTION_CHARS), "b"),
        Block(
            _("{source}, answer {n}").format(source=_source(best), n=best.turn_number),
            "i",
            gap=False,
        ),
        Block(shorten(" ".join(best.passage), PASSAGE_CHARS)),
    ]
    if others:
        blocks.append(Block(_("Also close to your question:"), "i"))
        for hit in others:
            where = "" if hit.piece_id == best.piece_id else f" ({_source(hit)})"
            question = shorten(hit.question, QUESTION_CHARS // 2)
            blocks.append(Block(f"• {hit.turn_number}. {question}{where}", gap=False))
    full = _("Whole answer {n}").format(n=best.turn_number)
    neighbours = []
    if best.turn_number > 1:
        previous = AnswerView(piece=best.piece_id, n=best.turn_number - 1)
        neighbours.append(button(f"◀ {best.turn_number - 1}", previous))
    if best.turn_number < best.turn_count:
        following = AnswerView(piece=best.piece_id, n=best.turn_number + 1)
        neighbours.append(button(f"{best.turn_number + 1} ▶", following))
    rows = [[button(full, AnswerView(piece=best.piece_id, n=best.turn_number))], neighbours]
    rows += [
        [
            button(
                shorten(f"{hit.turn_number}. {hit.question}", OTHER_CHARS),
                AnswerView(piece=hit.piece_id, n=hit.turn_number),
            )
        ]
        for hit in others
    ]
    return Screen(render(blocks), markup(*rows))


def ask_usage_text() -> str:
    return escape(_("Ask in your own words, e.g. /ask How much did the plant cost?"))


def no_answer_text() -> str:
    return escape(
        _(
            "I found no answer to that in the interviews. Try other words, /search for quotes "
            "or /questions for the list."
        )
    )
