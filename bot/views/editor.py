"""What the editor sees: the preview of a draft, the progress of a broadcast, statistics and
the replies of the /publish flow.

Plain functions returning escaped HTML and keyboards, translated with gettext; callers outside a
handler wrap them in ``i18n.use_locale``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, assert_never

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.follows import FollowKind
from bot.domain.language import shorten
from bot.domain.models import Interview
from bot.domain.outbox import Broadcast, SubscriberCounts
from bot.domain.parsing import ParseError, ParseProblem
from bot.domain.review import Concern, Finding, review
from bot.views.callbacks import DraftAction
from bot.views.keyboards import button, markup
from bot.views.notification import notification_sentences, notification_text
from bot.views.render import Block, escape, render

if TYPE_CHECKING:
    from bot.publishing import Prepared

TITLE_CHARS = 80


OUTLINE_TURNS = 20
OUTLINE_CHARS = 60


def _outline(interview: Interview) -> list[str]:
    """Each question with who answers it, so the editor sees the turns the bot found."""
    lines = []
    for turn in interview.turns[:OUTLINE_TURNS]:
        who = ", ".join(dict.fromkeys(s.speaker or interview.speaker or "—" for s in turn.segments))
        question = shorten(turn.question_text, OUTLINE_CHARS)
        lines.append(f"{turn.number}. {escape(question)} → <i>{escape(who)}</i>")
    if len(interview.turns) > OUTLINE_TURNS:
        lines.append("…")
    return lines


def finding_text(finding: Finding) -> str:
    match finding.concern:
        case Concern.NO_SPEAKER:
            return _("nobody is named as the speaker: name them in the lead")
        case Concern.UNKNOWN_SPEAKER:
            return _("the speaker {name} is not named in the headline or the lead").format(
                name=finding.name
            )
        case Concern.LONG_ANSWER:
            return _(
                "answer {n} is far longer than the others: did it swallow the next question?"
            ).format(n=finding.turn)
        case Concern.EMPTY_ANSWER:
            return _("answer {n} is empty").format(n=finding.turn)
        case _:
            assert_never(finding.concern)


def preview(
    prepared: Prepared,
    file_name: str,
    subscribers: int,
    draft_id: str,
    scheduled: str | None = None,
) -> tuple[str, str, InlineKeyboardMarkup]:
    """The editor's preview: a summary of the draft, then the notification exactly as readers
    will see it, under which the Publish/Cancel buttons sit. ``scheduled``: when it goes out
    (the newsroom's local time, shown as given)."""
    interview = prepared.interview
    findings = review(interview)
    speakers = [
        escape(f"{p.name} ({p.role})" if p.role else p.name) for p in interview.experts
    ] or ["—"]
    lines = [
        _("<b>Preview of {file}</b>").format(file=escape(shorten(file_name, TITLE_CHARS))),
        _("Title: {title}").format(title=escape(interview.title)),
        _("Speaker: {speaker}").format(speaker="; ".join(speakers)),
    ]
    if interview.interviewer:
        lines.append(_("Questions asked by: {who}").format(who=escape(interview.interviewer)))
    lines.append(_("Questions: {count}").format(count=len(interview.turns)))
    lines += _outline(interview)
    if interview.dropped or interview.credits:
        lines.append(
            _("Left out as page furniture and credits: {count}").format(
                count=len(interview.dropped) + len(interview.credits)
            )
        )
    if findings:
        lines.append(_("<b>⚠ Check before publishing:</b>"))
        lines += [f"• {escape(finding_text(finding))}" for finding in findings]
    lines += [
        _("Subscribers who will get it: {count}").format(count=subscribers),
        *([_("Scheduled for {when}").format(when=escape(scheduled))] if scheduled else []),
        "",
        _(
            "The notification as readers will see it is below; under it they get the "
            "buttons “Questions ({count})” and “Unsubscribe”."
        ).format(count=len(interview.turns)),
    ]
    info = "\n".join(lines)
    text = notification_text(
        interview.title,
        interview.speaker,
        datetime.now(UTC),
        notification_sentences(prepared.summary.text, interview.lead),
        interview.turns,
    )
    if any(f.concern.blocking for f in findings):  # publishing anyway is an explicit decision
        publish_label = _("⚠ Publish anyway")
    elif scheduled:
        publish_label = _("🕘 Schedule")
    elif subscribers:
        publish_label = _("✅ Publish and send to {count}").format(count=subscribers)
    else:
        publish_label = _("✅ Publish")
    keyboard = markup(
        [
            button(publish_label, DraftAction(draft=draft_id, publish=True)),
            button(_("✖ Cancel"), DraftAction(draft=draft_id, publish=False)),
        ]
    )
    return info, text, keyboard


def duration_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return _("{s} s").format(s=seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("{m} min {s} s").format(m=minutes, s=seconds)
    hours, minutes = divmod(minutes, 60)
    return _("{h} h {m} min").format(h=hours, m=minutes)


def progress_text(
    broadcast: Broadcast, *, rate: float, eta: float | None, paused_for: float = 0.0
) -> str:
    counts = broadcast.counts
    title = escape(shorten(broadcast.title, TITLE_CHARS))
    finished = counts.remaining == 0
    lines = [
        _("<b>Sent: {title}</b>").format(title=title)
        if finished
        else _("<b>Sending: {title}</b>").format(title=title),
        _("Delivered: {sent} of {total}").format(sent=counts.sent, total=counts.total),
        _("Not delivered: {failed} (blocked the bot or gone: {unreachable})").format(
            failed=counts.failed + counts.unreachable, unreachable=counts.unreachable
        ),
    ]
    if counts.cancelled:
        lines.append(_("Skipped, unsubscribed meanwhile: {count}").format(count=counts.cancelled))
    if finished:
        end = broadcast.finished_at or datetime.now(UTC).timestamp()
        lines.append(
            _("Finished in {duration}.").format(duration=duration_text(end - broadcast.created_at))
        )
        return "\n".join(lines)
    lines.append(_("Waiting: {pending}").format(pending=counts.remaining))
    speed = _("Speed: {rate} per second").format(rate=f"{rate:.1f}")
    if eta is not None:
        speed += " · " + _("about {duration} left").format(duration=duration_text(eta))
    lines.append(speed)
    if paused_for > 0:
        lines.append(
            _("Telegram asked to slow down: paused for {duration}.").format(
                duration=duration_text(paused_for)
            )
        )
    return "\n".join(lines)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d.%m.%Y %H:%M UTC")


def stats_text(
    counts: SubscriberCounts,
    broadcasts: Sequence[Broadcast],
    followers: tuple[int, int] = (0, 0),
    top: Sequence[tuple[FollowKind, str, int]] = (),
) -> str:
    blocks = [
        Block(_("Subscribers"), "b"),
        Block(_("Active: {count}").format(count=counts.active), gap=False),
        Block(
            _(
                "Inactive: {count} (unsubscribed: {unsubscribed}, blocked the bot: {blocked})"
            ).format(
                count=counts.inactive, unsubscribed=counts.unsubscribed, blocked=counts.blocked
            ),
            gap=False,
        ),
        Block(
            _("Following something: {readers} readers, {follows} follows").format(
                readers=followers[0], follows=followers[1]
            ),
            gap=False,
        ),
    ]
    if top:
        blocks.append(Block(_("Most followed"), "b"))
        for kind, phrase, readers in top:
            label = _("speaker") if kind is FollowKind.SPEAKER else _("topic")
            blocks.append(Block(f"{phrase} ({label}) — {readers}", gap=False))
    blocks.append(Block(_("Latest broadcasts"), "b"))
    if not broadcasts:
        blocks.append(Block(_("No broadcasts yet."), gap=False))
    for item in broadcasts:
        c = item.counts
        blocks.append(Block(f"{_when(item.created_at)} · {shorten(item.title, TITLE_CHARS)}", "i"))
        summary = _(
            "delivered {sent} of {total}, not delivered {failed}, waiting {pending}"
        ).format(sent=c.sent, total=c.total, failed=c.failed + c.unreachable, pending=c.remaining)
        if item.finished_at is not None:
            summary += " · " + _("took {duration}").format(
                duration=duration_text(item.finished_at - item.created_at)
            )
        blocks.append(Block(summary, gap=False))
    return render(blocks)[0]


def parse_problem_text(problem: ParseProblem) -> str:
    """What the editor should do about ``problem``, in the editor's language."""
    match problem:
        case ParseProblem.EMPTY:
            return _("The file is empty.")
        case ParseProblem.TOO_LARGE:
            return _("The file is too large.")
        case ParseProblem.ENCODING:
            return _(
                "The file is not UTF-8 (or Windows-1251) text. Save it as UTF-8 and send it again."
            )
        case ParseProblem.BINARY:
            return _(
                "This file cannot be read as an interview. Send it as a Word document (.docx), "
                "a saved web page (.html), Markdown (.md) or plain text (.txt)."
            )
        case ParseProblem.RTF:
            return _(
                "This is an RTF document. Save it as a Word document (.docx) or plain text "
                "(.txt) and send it again."
            )
        case ParseProblem.HTML:
            return _(
                "I found no article text in this web page (HTML). Save the article as a Word "
                "document (.docx) or plain text (.txt) and send it again."
            )
        case ParseProblem.BAD_DOCUMENT:
            return _(
                "The Word document cannot be read: it may be damaged. Open it in Word, "
                "save it again as .docx and send it again."
            )
        case ParseProblem.TRACKED_CHANGES:
            return _(
                "The Word document has tracked changes. Accept or reject them in Word "
                "(Review → Accept/Reject), save the file and send it again."
            )
        case ParseProblem.NO_TURNS:
            return _(
                "I found no questions and answers. Mark each question with a dash (— ), a label "
                "such as “Вопрос:” / “Ответ:”, a number (“1.”) or bold type, or end it with “?” "
                "on a line of its own."
            )
        case ParseProblem.NO_ANSWERS:
            return _(
                "The turns look like questions only: every other dash turn should be an answer."
            )
        case ParseProblem.UNANSWERED:
            return _("The last question has no answer.")
        case ParseProblem.EMPTY_TURN:
            return _("A question or an answer has a label but no text.")
        case ParseProblem.NO_TITLE:
            return _("The piece has no lead to take a title from.")
    assert_never(problem)


def parse_error_text(error: ParseError) -> str:
    """Why a file cannot be published, in the editor's language (details stay in English)."""
    details = _("Details: {details}").format(details=escape(shorten(str(error), 300)))
    return f"{parse_problem_text(error.code)}\n<i>{details}</i>"


def not_an_editor_text() -> str:
    return _("Sorry, only the editors can do that.")


def publish_usage_text() -> str:
    return _(
        "To publish, send the interview as a file (.docx, .html, .md or .txt) with /publish in "
        "the caption, or reply /publish to the file."
    )


def document_hint_text() -> str:
    return _("To publish this file, reply /publish to it.")


def file_too_large_text() -> str:
    return _("The file is too large.")


def download_failed_text() -> str:
    return _("I could not download the file from Telegram. Please send it again.")


def already_published_text(piece_id: int, title: str) -> str:
    return _("This text is already published as piece {id}: {title}. Nothing was sent.").format(
        id=piece_id, title=escape(title)
    )


def published_alert(piece_id: int) -> str:
    return _("Published as piece {id}.").format(id=piece_id)


def scheduled_text(piece_id: int, when: str) -> str:
    return _(
        "Scheduled as piece {id} for {when}: invisible to readers until then. "
        "/release {id} publishes it now, /cancel {id} drops it."
    ).format(id=piece_id, when=escape(when))


def draft_gone_text() -> str:
    return _("This draft is no longer available. Send the file again.")


def draft_cancelled_text() -> str:
    return _("Cancelled: nothing was published.")


def published_text(piece_id: int) -> str:
    return _("Published as piece {id}. There are no subscribers yet, so nothing was sent.").format(
        id=piece_id
    )
