"""Every route out of the process passes one ``Redactor``, for as long as a command runs.

The logging filter covers log records (and so aiogram's and asyncio's own messages and
``warnings``, captured into logging here). What Python prints by itself goes around logging:
the hooks for uncaught exceptions in the main thread and in other threads (aiosqlite runs one
per connection), for "exception ignored" messages, and for asyncio's exception handler are
replaced, and the standard streams are wrapped so that anything written to them — by a library,
a ``print`` or a traceback — is redacted a line at a time. ``Guard`` restores everything on
exit, so ``bot.cli.main`` can run in-process (the tests do).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any, TextIO, cast

from bot.redaction import Redactor

logger = logging.getLogger("bot")


class RedactingStream:
    """A text stream that redacts each complete line before passing it on; a partial line
    waits for its end or for ``flush`` (a secret never straddles what it passes on)."""

    def __init__(self, raw: TextIO, redactor: Redactor) -> None:
        self.raw = raw
        self._redactor = redactor
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            lines, _newline, self._pending = self._pending.rpartition("\n")
            self.raw.write(self._redactor.clean(lines + "\n"))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self.raw.write(self._redactor.clean(pending))
        self.raw.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, errors…
        return getattr(self.raw, name)


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line, for logs that show no traceback."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Guard:
    """Installs the redacting streams and hooks; ``debug`` adds tracebacks to what they log."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.debug = False
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> Guard:
        self._saved = {
            "stdout": sys.stdout,
            "stderr": sys.stderr,
            "excepthook": sys.excepthook,
            "unraisablehook": sys.unraisablehook,
            "threading": threading.excepthook,
        }
        sys.stdout = cast(TextIO, RedactingStream(sys.stdout, self.redactor))
        sys.stderr = cast(TextIO, RedactingStream(sys.stderr, self.redactor))
        sys.excepthook = self._excepthook
        sys.unraisablehook = self._unraisablehook
        threading.excepthook = self._thread_excepthook
        logging.captureWarnings(True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        logging.captureWarnings(False)
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, RedactingStream):
                stream.flush()
        sys.stdout = self._saved["stdout"]
        sys.stderr = self._saved["stderr"]
        sys.excepthook = self._saved["excepthook"]
        sys.unraisablehook = self._saved["unraisablehook"]
        threading.excepthook = self._saved["threading"]

    def run(self, main: Any) -> Any:
        """``asyncio.run(main)`` with ``asyncio_handler`` on the loop."""
        with asyncio.Runner() as runner:
            runner.get_loop().set_exception_handler(self.asyncio_handler)
            return runner.run(main)

    # -- the hooks: one redacted line, the traceback only at LOG_LEVEL=DEBUG --------------------

    def _log(self, message: str, error: BaseException | None) -> None:
        text = message if error is None else f"{message}: {one_line(error)}"
        details = None
        if self.debug and error is not None:
            details = (type(error), error, error.__traceback__)
        if logging.getLogger().handlers:
            logger.error("%s", text, exc_info=details)  # the logging filter redacts
            return
        trace = "".join(traceback.format_exception(*details)) if details else ""
        sys.stderr.write(self.redactor.clean(f"{trace}{text}\n"))

    def _excepthook(
        self, kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        self._log("Uncaught exception", error)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        self._log(f"Uncaught exception in thread {name}", args.exc_value)

    def _unraisablehook(self, unraisable: Any) -> None:
        where = getattr(unraisable, "object", None)
        message = getattr(unraisable, "err_msg", None) or "Exception ignored"
        self._log(f"{message} in {where!r}", getattr(unraisable, "exc_value", None))

    def asyncio_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        self._log(str(context.get("message") or "asyncio error"), error)
