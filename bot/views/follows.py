"""Follows and settings as readers see them: replies, the /following list, the /settings
screen, the "Follow …" buttons and the daily digest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.follows import (
    DIGEST_HOURS,
    MAX_FOLLOW_CHARS,
    MAX_FOLLOWS,
    UTC_OFFSETS,
    Follow,
    FollowKind,
    FollowProblem,
    Mode,
    ReaderSettings,
    Silence,
)
from bot.domain.language import shorten
from bot.views.callbacks import (
    AnswerView,
    PieceView,
    Setting,
    SettingChoice,
    Unfollow,
    View,
)
from bot.views.follow_buttons import because_text
from bot.views.keyboards import button, grid, markup
from bot.views.reader import Screen
from bot.views.render import Block, escape, render

BUTTON_NAME_CHARS = 40
ALL = "all"  # the "all pieces" choice of SettingChoice(MODE): the subscription


def follow_problem_text(problem: FollowProblem) -> str:
    match problem:
        case FollowProblem.EMPTY:
            return follow_usage_text()
        case FollowProblem.TOO_LONG:
            return _("That is too long to follow: at most {n} characters.").format(
                n=MAX_FOLLOW_CHARS
            )
        case FollowProblem.MARKUP:
            return _(
                "Send plain words to follow, without quotes, brackets, tags or search "
                "operators, e.g. /follow water tariffs"
            )
        case FollowProblem.NO_WORDS:
            return _("There are no words to follow there. Send a name or a topic in words.")
        case FollowProblem.TOO_SHORT:
            return _("A word to follow needs at least two letters.")
        case FollowProblem.ONLY_COMMON:
            return _("Those words are too common to follow. Add a name or a topic.")
        case FollowProblem.TOO_MANY_WORDS:
            return _("Follow a few words at a time (at most six).")
        case FollowProblem.LIMIT:
            return _(
                "You follow {n} things already, the most I keep. Remove some in /following."
            ).format(n=MAX_FOLLOWS)
        case FollowProblem.DUPLICATE:
            return _("You already follow that. See /following.")
        case _:
            assert_never(problem)


def follow_usage_text() -> str:
    return escape(
        _(
            "Send /follow and a name or a topic, e.g. /follow Tokayev or /follow water tariffs: "
            "I will send you the pieces about it (any word form)."
        )
    )


def kind_label(kind: FollowKind) -> str:
    match kind:
        case FollowKind.TOPIC:
            return _("anywhere in a piece")
        case FollowKind.SPEAKER:
            return _("their answers")
        case _:
            assert_never(kind)


def followed_text(
    follow: Follow, settings: ReaderSettings, subscribed: bool
) -> tuple[str, InlineKeyboardMarkup]:
    """The reply to a new follow: what it matches and what the reader will get."""
    phrase = escape(follow.phrase)
    if follow.kind is FollowKind.SPEAKER:
        lines = [_("Done: you follow {name} — the pieces where they answer.").format(name=phrase)]
    else:
        lines = [
            _("Done: you follow «{phrase}» — pieces that mention it, in any word form.").format(
                phrase=phrase
            )
        ]
    if subscribed:
        lines.append(_("You get every piece anyway; the ones that match will say so."))
    elif settings.mode is Mode.NOTHING:
        lines.append(_("Your /settings say to send nothing: choose “Only what I follow” there."))
    if settings.digest_hour is not None:
        lines.append(
            _("They come in your daily digest at {hour}:00.").format(hour=settings.digest_hour)
        )
    keyboard = markup(
        [
            button(_("What I follow"), SettingChoice(field=Setting.MENU, value="f")),
            button(_("Settings"), SettingChoice(field=Setting.MENU)),
        ]
    )
    return "\n".join(lines), keyboard


def following_screen(follows: Sequence[Follow]) -> Screen:
    if not follows:
        return Screen([follow_usage_text()])
    blocks = [
        Block(_("You follow ({n} of {limit}):").format(n=len(follows), limit=MAX_FOLLOWS), "b")
    ]
    for i, follow in enumerate(follows, start=1):
        blocks.append(Block(f"{i}. {follow.phrase} — {kind_label(follow.kind)}", gap=False))
    blocks.append(Block(_("Tap one to stop following it.")))
    buttons = [
        button(f"✖ {shorten(follow.phrase, BUTTON_NAME_CHARS)}", Unfollow(id=follow.id))
        for follow in follows
    ]
    rows = grid(buttons, 2).inline_keyboard
    keyboard = markup(*rows, [button(_("Settings"), SettingChoice(field=Setting.MENU))])
    return Screen(render(blocks)[:1], keyboard)


def unfollowed_text(follows: Sequence[Follow]) -> str:
    if not follows:
        return _("You did not follow that. See /following.")
    names = ", ".join(f"«{escape(f.phrase)}»" for f in follows)
    return _("Done: you no longer follow {names}.").format(names=names)


def unfollow_usage_text() -> str:
    return escape(_("Send /unfollow and what you follow, or tap it in /following."))


def unfollowed_alert(follow: Follow | None) -> str:
    if follow is None:
        return _("You no longer follow that.")
    return _("No longer following «{phrase}».").format(phrase=shorten(follow.phrase, 60))


def followed_alert(follow: Follow | FollowProblem) -> str:
    if isinstance(follow, FollowProblem):
        return follow_problem_text(follow)
    return _("Following «{phrase}».").format(phrase=shorten(follow.phrase, 60))


# -- settings ---------------------------------------------------------------------------------


def _mark(chosen: bool, label: str) -> str:
    return f"✅ {label}" if chosen else label


def _offset_label(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _zone_hint(minutes: int) -> str:
    hints = {
        180: _("Moscow, Minsk"),
        300: _("Astana, Almaty, Tashkent"),
        360: _("Bishkek"),
        240: _("Baku, Tbilisi, Yerevan"),
    }
    return hints.get(minutes, "")


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def settings_screen(settings: ReaderSettings, subscribed: bool) -> Screen:
    quiet = f"{_clock(settings.quiet_from)}–{_clock(settings.quiet_to)}"
    zone = _offset_label(settings.utc_offset)
    hint = _zone_hint(settings.utc_offset)
    if subscribed:
        what = _("every new piece")
    elif settings.mode is Mode.FOLLOWED:
        what = _("only pieces about what you follow")
    else:
        what = _("nothing")
    match settings.silence:
        case Silence.NEVER:
            silence = _("with sound")
        case Silence.QUIET:
            silence = _("silently from {hours} (your time)").format(hours=quiet)
        case Silence.ALWAYS:
            silence = _("always silently")
    how = (
        _("one message a day at {hour}:00 (a digest)").format(hour=settings.digest_hour)
        if settings.digest_hour is not None
        else _("each piece as it comes out")
    )
    lines = [
        _("<b>Settings</b>"),
        _("I send you: {what}").format(what=what),
        _("How: {how}").format(how=how),
        _("Sound: {silence}").format(silence=silence),
        _("Time zone: {zone}").format(zone=zone + (f" ({hint})" if hint else "")),
    ]
    mode = ALL if subscribed else settings.mode.value
    rows: list[list[InlineKeyboardButton]] = [
        [
            button(
                _mark(mode == ALL, _("All pieces")), SettingChoice(field=Setting.MODE, value=ALL)
            ),
            button(
                _mark(mode == Mode.FOLLOWED, _("Only what I follow")),
                SettingChoice(field=Setting.MODE, value=Mode.FOLLOWED.value),
            ),
            button(
                _mark(mode == Mode.NOTHING, _("Nothing")),
                SettingChoice(field=Setting.MODE, value=Mode.NOTHING.value),
            ),
        ],
        [
            button(
                _mark(settings.silence is value, label),
                SettingChoice(field=Setting.SILENCE, value=value.value),
            )
            for value, label in (
                (Silence.NEVER, _("🔔 Sound")),
                (Silence.QUIET, _("🌙 Silent at night")),
                (Silence.ALWAYS, _("🔕 Always silent")),
            )
        ],
    ]
    zones = [
        button(
            _mark(settings.utc_offset == offset, _offset_label(offset)),
            SettingChoice(field=Setting.ZONE, value=str(offset)),
        )
        for offset in UTC_OFFSETS
    ]
    rows += grid(zones, 4).inline_keyboard
    digests = [
        button(
            _mark(settings.digest_hour is None, _("At once")),
            SettingChoice(field=Setting.DIGEST, value=""),
        )
    ] + [
        button(
            _mark(settings.digest_hour == hour, _("Digest {hour}:00").format(hour=hour)),
            SettingChoice(field=Setting.DIGEST, value=str(hour)),
        )
        for hour in DIGEST_HOURS
    ]
    rows += grid(digests, 4).inline_keyboard
    return Screen(["\n".join(lines)], markup(*rows))


def settings_saved_alert() -> str:
    return _("Saved.")


# -- the daily digest -------------------------------------------------------------------------


def digest_message(
    entries: Sequence[tuple[int, str, str | None, str, str | None, int | None]], day: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    """One message listing the day's pieces: title, who, the summary's first line and why it
    came; a button per piece (its matching answer when there is one)."""
    blocks = [Block(_("🗞 Your daily digest") + (f" · {day}" if day else ""), "b")]
    buttons = []
    for i, (piece_id, title, speaker, first_line, follow, turn) in enumerate(entries, start=1):
        blocks.append(Block(f"{i}. {shorten(title, 120)}", "b"))
        if speaker:
            blocks.append(Block(speaker, "i", gap=False))
        if first_line:
            blocks.append(Block(shorten(first_line, 280), gap=False))
        if follow:
            blocks.append(Block(because_text(follow), "i", gap=False))
        if turn is not None:
            buttons.append(
                button(
                    _("{i} · answer {n}").format(i=i, n=turn), AnswerView(piece=piece_id, n=turn)
                )
            )
        else:
            buttons.append(
                button(_("{i} · summary").format(i=i), PieceView(piece=piece_id, view=View.SUMMARY))
            )
    text = render(blocks)[0]
    return text, grid(buttons, 3)
