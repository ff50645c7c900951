"""The parse as the bot understood it, in plain text for ``publish --dry-run`` and for the
warnings that stop ``publish`` without ``--force`` (operator output, English)."""

from __future__ import annotations

from bot.domain.language import shorten
from bot.domain.models import Interview
from bot.domain.review import Concern, Finding

EDGE_CHARS = 60  # first and last words of a segment


def finding_text(finding: Finding) -> str:
    match finding.concern:
        case Concern.NO_SPEAKER:
            return "nobody is named as the speaker: pass --speaker or name them in the lead"
        case Concern.UNKNOWN_SPEAKER:
            return f"the speaker {finding.name!r} is not named in the headline or the lead"
        case Concern.LONG_ANSWER:
            return (
                f"answer {finding.turn} is {finding.chars:,} characters, far longer than the "
                "others: did it swallow the next question or the page below?"
            )
        case Concern.EMPTY_ANSWER:
            return f"answer {finding.turn} is empty"


def _edges(text: str) -> str:
    if len(text) <= 2 * EDGE_CHARS:
        return text
    return f"{text[:EDGE_CHARS].rstrip()} … {text[-EDGE_CHARS:].lstrip()}"


def parse_report(interview: Interview, findings: list[Finding]) -> str:
    lines = [f"Title: {interview.title}"]
    for person in interview.experts:
        lines.append(f"Speaker: {person.name}" + (f" ({person.role})" if person.role else ""))
    if not interview.experts:
        lines.append("Speaker: unknown")
    if interview.interviewer:
        lines.append(f"Questions asked by: {interview.interviewer}")
    if interview.lead:
        lines.append(f"Lead: {_edges(' '.join(interview.lead))}")
    lines.append(f"Turns: {len(interview.turns)}")
    for turn in interview.turns:
        lines.append(f"{turn.number:>3}. Q: {shorten(turn.question_text, 2 * EDGE_CHARS)}")
        for segment in turn.segments:
            who = segment.speaker or interview.speaker or "—"
            lines.append(f"     {who}: {_edges(' '.join(segment.paragraphs))}")
    if interview.closing:
        lines.append(f"Closing (newsroom's text): {_edges(' '.join(interview.closing))}")
    for label, items in (("Credits", interview.credits), ("Dropped", interview.dropped)):
        if items:
            lines.append(f"{label} ({len(items)}):")
            lines += [f"  - {shorten(item, 2 * EDGE_CHARS)}" for item in items]
    if findings:
        lines.append(f"Warnings ({len(findings)}):")
        lines += [f"  ! {finding_text(finding)}" for finding in findings]
    else:
        lines.append("Warnings: none")
    return "\n".join(lines)
