"""What readers see: message texts (escaped HTML, split to fit) and their keyboards.

Plain functions of the content model; the handlers only send what these return. Interface
strings go through gettext (``_``) and are translated by the reader's Telegram language.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.domain.language import shorten
from bot.domain.models import Piece, PieceInfo, Turn
from bot.domain.summarizer import attributable
from bot.views.callbacks import AnswerView, ArchivePage, ChoosePiece, PieceView, View, Where
from bot.views.follow_buttons import follow_speaker_buttons
from bot.views.keyboards import button, markup
from bot.views.newsroom import corrected_mark
from bot.views.render import Block, escape, render
from bot.views.subscription import subscription_status_text, with_subscription_button
from bot.views.summary import summary_blocks

QUESTIONS_PER_PAGE = 8
PIECES_PER_PAGE = 8
BUTTON_CHARS = 60
LIST_QUESTION_CHARS = 220
SCREEN_CACHE = 512  # rendered screens kept (summary, question pages, answers)


@dataclass(frozen=True, slots=True)
class Screen:
    """One or more messages; the keyboard goes under the last one."""

    messages: list[str]
    keyboard: InlineKeyboardMarkup | None = None


def _date(piece: Piece | PieceInfo) -> str:
    return piece.published_at.strftime("%d.%m.%Y")


def start_screen(first_name: str, piece: Piece | None, subscribed: bool | None = None) -> Screen:
    name = escape(first_name or _("reader"))
    lines = [
        _("Hello, {name}!").format(name=name),
        _(
            "I bring you news interviews: a short summary, the list of questions and each "
            "answer on its own."
        ),
        "",
        _("/summary — the summary of the piece"),
        _("/questions — the questions; tap one to read the answer"),
        _("/answer N — answer number N"),
        _("/pieces — all published pieces"),
        _("/search WORDS — find quotes"),
        _("/ask QUESTION — ask in your own words, or just send a question"),
        _("/follow WORDS — get pieces about a person or a topic"),
        _("/help — how to use the bot"),
    ]
    if piece is None:
        lines += ["", no_pieces_text()]
        return _with_subscription(Screen(["\n".join(lines)]), subscribed)
    lines += ["", _("Newest: <b>{title}</b>").format(title=escape(piece.title))]
    return _with_subscription(Screen(["\n".join(lines)], piece_menu(piece)), subscribed)


def _with_subscription(screen: Screen, subscribed: bool | None) -> Screen:
    """The start screen with the reader's subscription state and its button (if known)."""
    if subscribed is None:
        return screen
    text = screen.messages[0] + "\n\n" + subscription_status_text(subscribed)
    keyboard = with_subscription_button(screen.keyboard, subscribed, Where.START)
    return Screen([text], keyboard)


def help_screen(bot_username: str) -> Screen:
    text = "\n".join(
        [
            _("<b>How to read</b>"),
            _("/summary — the summary; /summary short or /summary long for other lengths"),
            _("/questions — the questions as buttons; a tap opens the answer"),
            _("/answer N — answer number N, e.g. /answer 3"),
            _("/pieces — the archive, newest first; choose a piece to read it"),
            _("/search WORDS — quotes that contain the words (any word form)"),
            _(
                "/ask QUESTION — the answer to a question in your own words, across all pieces "
                "(or just send the question)"
            ),
            "",
            _("<b>What comes to you</b>"),
            _("/subscribe — every new piece; /unsubscribe to stop"),
            _(
                "/follow WORDS — only pieces about a person or a topic, e.g. /follow Tokayev; "
                "the ➕ Follow buttons under answers do the same for a speaker"
            ),
            _("/following — what you follow, with buttons to stop; /unfollow WORDS"),
            _("/settings — all pieces, only what you follow or nothing; silence; a daily digest"),
            "",
            _("In any chat, type @{username} and a few words to find and share a quote.").format(
                username=escape(bot_username)
            ),
        ]
    )
    return Screen([text])


def piece_menu(piece: Piece) -> InlineKeyboardMarkup:
    return markup(
        [
            button(_("Summary"), PieceView(piece=piece.id, view=View.SUMMARY)),
            button(
                _("Questions ({count})").format(count=len(piece.turns)),
                PieceView(piece=piece.id, view=View.QUESTIONS),
            ),
        ]
    )


def _header(piece: Piece) -> list[Block]:
    blocks = [Block(piece.title, "b")]
    byline = " · ".join(part for part in (piece.speaker, _date(piece)) if part)
    blocks.append(Block(byline, "i", gap=False))
    return blocks


class _Same:
    """A piece compared by identity. Storage hands out the same ``Piece`` object until the
    piece changes (a correction, a withdrawal: then a new object), so a screen rendered for
    this object is the screen for the piece as it is; and hashing it reads none of its text."""

    __slots__ = ("piece",)

    def __init__(self, piece: Piece) -> None:
        self.piece = piece

    def __hash__(self) -> int:
        return id(self.piece)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.piece is self.piece


@lru_cache(maxsize=SCREEN_CACHE)
def _screen(kind: str, same: _Same, argument: View | int, locale: str) -> Screen | None:
    """Screens of a piece are pure functions of the piece, what is asked and the reader's
    language, and readers ask for the same few during a news spike: each is rendered once (a
    screen is never changed after it is made)."""
    if kind == "summary":
        return _summary_screen(same.piece, View(str(argument)))
    if kind == "questions":
        return _questions_screen(same.piece, int(argument))
    return _answer_screen(same.piece, int(argument))


def _locale() -> str:
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else ""


def summary_screen(piece: Piece, view: View = View.SUMMARY) -> Screen:
    screen = _screen("summary", _Same(piece), view, _locale())
    assert screen is not None
    return screen


def questions_screen(piece: Piece, page: int = 0) -> Screen:
    pages = page_count(len(piece.turns), QUESTIONS_PER_PAGE)
    screen = _screen("questions", _Same(piece), min(max(page, 0), pages - 1), _locale())
    assert screen is not None
    return screen


def answer_screen(piece: Piece, number: int) -> Screen | None:
    if piece.turn(number) is None:
        return None
    return _screen("answer", _Same(piece), number, _locale())


def _summary_screen(piece: Piece, view: View) -> Screen:
    summary = piece.summary
    sentences = {
        View.SUMMARY_SHORT: summary.short,
        View.SUMMARY_LONG: summary.long,
    }.get(view, summary.text) or summary.text
    if not sentences:
        sentences = piece.lead
    # summary sentences may be repaired ("Поэтому…" dropped): look them up in that form too
    turns = attributable(piece.turns)
    blocks = [*_header(piece), *summary_blocks(sentences, turns, piece.speaker)]
    variants = [
        button(label, PieceView(piece=piece.id, view=target))
        for label, target, available in (
            (_("Shorter"), View.SUMMARY_SHORT, summary.short),
            (_("Longer"), View.SUMMARY_LONG, summary.long),
        )
        if available and view != target
    ]
    keyboard = markup(
        [
            button(
                _("Questions ({count})").format(count=len(piece.turns)),
                PieceView(piece=piece.id, view=View.QUESTIONS),
            )
        ],
        variants,
    )
    return Screen(render(blocks), keyboard)


def page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def _questions_screen(piece: Piece, page: int) -> Screen:
    pages = page_count(len(piece.turns), QUESTIONS_PER_PAGE)
    page = min(max(page, 0), pages - 1)
    first = page * QUESTIONS_PER_PAGE
    turns = piece.turns[first : first + QUESTIONS_PER_PAGE]
    blocks = [Block(piece.title, "b")]
    if pages > 1:
        blocks.append(
            Block(_("Questions, page {page} of {pages}").format(page=page + 1, pages=pages), "i")
        )
    gists = piece.summary.gists
    for turn in turns:
        blocks.append(Block(f"{turn.number}. {shorten(turn.question_text, LIST_QUESTION_CHARS)}"))
        gist = gists[turn.number - 1] if turn.number <= len(gists) else ""
        if gist:
            by = turn.speaker_of(gist) if turn.speakers else None  # several experts: whose?
            blocks.append(Block(f"→ {by}: {gist}" if by else f"→ {gist}", "i", gap=False))
    nav = []
    if page > 0:
        nav.append(button("◀", PieceView(piece=piece.id, view=View.QUESTIONS, page=page - 1)))
    if page < pages - 1:
        nav.append(button("▶", PieceView(piece=piece.id, view=View.QUESTIONS, page=page + 1)))
    keyboard = markup(
        *(
            [
                button(
                    shorten(f"{turn.number}. {turn.question_text}", BUTTON_CHARS),
                    AnswerView(piece=piece.id, n=piece.link(turn.number)),
                )
            ]
            for turn in turns
        ),
        nav,
        [button(_("Summary"), PieceView(piece=piece.id, view=View.SUMMARY))],
    )
    # the list must be one message (it is edited in place when paging)
    return Screen(render(blocks)[:1], keyboard)


def _answer_screen(piece: Piece, number: int) -> Screen | None:
    turn = piece.turn(number)
    if turn is None:
        return None
    total = len(piece.turns)
    blocks = [
        Block(
            _("{title} · question {n} of {total}").format(
                title=shorten(piece.title, 80), n=number, total=total
            ),
            "i",
        ),
        *(Block(p, "b", gap=i == 0) for i, p in enumerate(turn.question)),
        *_answer_blocks(piece.speaker, turn),
    ]
    corrected = piece.corrected(number)
    if corrected is not None:
        blocks.append(Block(corrected_mark(corrected), "i"))
    if number == len(piece.turns):  # the newsroom's closing follows the last answer, set apart
        blocks += [Block(paragraph, "i") for paragraph in piece.closing]
    nav = []
    if number > 1:
        nav.append(button(f"◀ {number - 1}", AnswerView(piece=piece.id, n=piece.link(number - 1))))
    if number < total:
        nav.append(button(f"{number + 1} ▶", AnswerView(piece=piece.id, n=piece.link(number + 1))))
    page = (number - 1) // QUESTIONS_PER_PAGE
    names = [segment.speaker or piece.speaker or "" for segment in turn.segments]
    keyboard = markup(
        nav,
        [button(_("All questions"), PieceView(piece=piece.id, view=View.QUESTIONS, page=page))],
        follow_speaker_buttons(piece, names),
    )
    return Screen(render(blocks), keyboard)


def _answer_blocks(speaker: str | None, turn: Turn) -> list[Block]:
    """The answer's paragraphs, each speaker's first one introduced by their name (or a dash
    when the piece names nobody)."""
    blocks = []
    for segment in turn.segments:
        by = segment.speaker or speaker
        opener = f"{by}: " if by else "— "
        blocks += [Block(opener + p if i == 0 else p) for i, p in enumerate(segment.paragraphs)]
    return blocks


def pieces_screen(infos: list[PieceInfo], total: int, page: int) -> Screen:
    if not infos:
        return Screen([no_pieces_text()])
    pages = page_count(total, PIECES_PER_PAGE)
    blocks = [Block(_("Published pieces, newest first:"), "b")]
    rows = []
    for info in infos:
        byline = " · ".join(p for p in (info.speaker, _date(info)) if p)
        blocks.append(Block(info.title))
        blocks.append(Block(byline, "i", gap=False))
        rows.append([button(shorten(info.title, BUTTON_CHARS), ChoosePiece(piece=info.id))])
    nav = []
    if page > 0:
        nav.append(button("◀", ArchivePage(page=page - 1)))
    if page < pages - 1:
        nav.append(button("▶", ArchivePage(page=page + 1)))
    keyboard = markup(*rows, nav)
    return Screen(render(blocks)[:1], keyboard)


def no_pieces_text() -> str:
    return _("Nothing has been published yet.")


def unknown_answer_text(raw: str, total: int) -> str:
    return _("There is no answer {n}: this piece has answers 1 to {total}.").format(
        n=escape(shorten(raw, 20)), total=total
    )


def answer_usage_text(total: int) -> str:
    return _(
        "Send the answer number, e.g. /answer 2 (this piece has answers 1 to {total})."
    ).format(total=total)


def missing_piece_text() -> str:
    return _("That piece does not exist (it may have been removed). See /pieces.")


def free_text_hint() -> str:
    return _("I did not understand that. Try /questions, /summary or /help.")


def summary_usage_text() -> str:
    return _("Use /summary, /summary short or /summary long.")


def unknown_command_text() -> str:
    return _("I do not know that command. See /help.")


def stale_button_text() -> str:
    return _("This button is out of date. Send /questions to start again.")
