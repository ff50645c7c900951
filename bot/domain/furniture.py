"""Lines that belong to the page, not to the interview: photo and author credits.

Kept apart at ingest and never quoted, summarised or indexed.
"""

from __future__ import annotations

import re

MAX_CREDIT_CHARS = 160
_CREDIT = re.compile(
    r"^(?:фото(?:графи[яи])?|видео|иллюстраци[яи]|источник(?:и)?\s+фото|автор(?:\s+фото)?|"
    r"беседовал[аи]?|(?:интервью\s+|материал\s+)?(?:подготовил|записал|взял)[аи]?|текст|"
    r"photos?|photo\s+by|image|source|credits?|interview\s+by)\b",
    re.IGNORECASE,
)


def is_credit(paragraph: str) -> bool:
    """A short paragraph or sentence that credits a photo, the author or a source."""
    return (
        len(paragraph) <= MAX_CREDIT_CHARS and _CREDIT.match(paragraph.lstrip("—–- ")) is not None
    )
