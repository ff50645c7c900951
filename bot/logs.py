"""Logging set-up with a filter that keeps secrets (the bot token) out of every record."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.redaction import REDACTED, Redactor

__all__ = ["REDACTED", "RedactingFilter", "setup_logging"]


class RedactingFilter(logging.Filter):
    """Replaces each secret in a record's message, arguments and traceback text."""

    def __init__(self, secrets: Iterable[str] | Redactor) -> None:
        super().__init__()
        self._redactor = secrets if isinstance(secrets, Redactor) else Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._redactor:
            return True
        clean = self._redactor.clean
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = clean(message)
        record.args = None
        if record.exc_text:
            record.exc_text = clean(record.exc_text)
        if record.stack_info:
            record.stack_info = clean(record.stack_info)
        return True


def setup_logging(level: str, secrets: Iterable[str] | Redactor = (), tag: str = "") -> None:
    """``tag`` (``worker 2``) goes into every line of a webhook worker's log."""
    handler = logging.StreamHandler()
    where = f"[{tag}] " if tag else ""
    handler.setFormatter(
        logging.Formatter(
            f"%(asctime)s %(levelname)s {where}%(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
    # aiogram's "Update id=… is handled. Duration … ms" repeats the line bot.updates writes for
    # each update (which also names the user and the outcome): one line per update, not two
    # (LOG_LEVEL=DEBUG shows both)
    event = logging.getLogger("aiogram.event")
    event.setLevel(
        logging.NOTSET if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
    )
