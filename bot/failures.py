"""How a command ends when it cannot do its job: one line on stderr and an exit status.

Every expected failure is a ``Fatal`` (or an error ``diagnose`` maps to one) whose message
names the setting or file and says what to do. Anything else is a bug: ``INTERNAL``, with the
traceback shown only at ``LOG_LEVEL=DEBUG``. The statuses are documented in the README
(Configuration → Exit statuses); a test walks every member.
"""

from __future__ import annotations

import enum
import sqlite3
import sys
import traceback

from bot.config import SettingsError
from bot.domain.parsing import ParseError
from bot.guard import one_line
from bot.redaction import Redactor
from storage.checks import StorageError, describe_sqlite_error


class ExitCode(enum.IntEnum):
    OK = 0
    INTERNAL = 1  # a bug: the line names the exception, LOG_LEVEL=DEBUG shows the traceback
    CONFIG = 2  # a setting, argument or input file is wrong, or the Bot API refused a setting
    DUPLICATE = 3  # publish: this text is already published
    WARNINGS = 4  # publish: parsed with warnings and no --force; nothing stored
    STORAGE = 5  # the database file or its folder cannot be used
    NETWORK = 6  # the Bot API did not answer (network, 5xx, timeouts) for START_TIMEOUT
    LOCKED = 7  # another bot process is serving from the same database
    INTERRUPTED = 130  # Ctrl-C


# What an operator does about each status; the README's table says the same.
ADVICE: dict[ExitCode, str] = {
    ExitCode.OK: "done",
    ExitCode.INTERNAL: "a bug: run again with LOG_LEVEL=DEBUG for the traceback and report it",
    ExitCode.CONFIG: "fix the setting, argument or file the line names",
    ExitCode.DUPLICATE: "nothing to do: the piece is already published",
    ExitCode.WARNINGS: "check the parse with --dry-run, then publish with --force if it is right",
    ExitCode.STORAGE: "fix the database file or folder the line names",
    ExitCode.NETWORK: "check BOT_API_URL and the network; starting again may be enough",
    ExitCode.LOCKED: "stop the other bot process, or give this one another DATABASE_PATH",
    ExitCode.INTERRUPTED: "stopped by Ctrl-C",
}


class Fatal(Exception):
    """An expected failure: the command stops with ``code`` and this one-line message."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class Reported(Fatal):
    """A child process (a webhook worker) already printed its one line: exit with its status,
    print nothing more."""

    def __init__(self, code: ExitCode) -> None:
        super().__init__(code, "")


def diagnose(error: BaseException, database: str = "") -> Fatal:
    """The exit status and one line for an exception that ended a command."""
    if isinstance(error, Fatal):
        return error
    if isinstance(error, KeyboardInterrupt):
        return Fatal(ExitCode.INTERRUPTED, "interrupted")
    if isinstance(error, SettingsError | ParseError):
        return Fatal(ExitCode.CONFIG, str(error))
    if isinstance(error, StorageError):
        return Fatal(ExitCode.STORAGE, str(error))
    if isinstance(error, sqlite3.Error):
        return Fatal(ExitCode.STORAGE, describe_sqlite_error(database or "?", error))
    return Fatal(
        ExitCode.INTERNAL,
        f"unexpected {one_line(error)} (a bug: LOG_LEVEL=DEBUG shows the traceback)",
    )


def report(error: BaseException, redactor: Redactor, *, debug: bool, database: str = "") -> int:
    """Print the one line (after the traceback of a bug at DEBUG) and return the status."""
    fatal = diagnose(error, database)
    if fatal.code is ExitCode.INTERRUPTED or isinstance(fatal, Reported):
        return fatal.code
    lines = []
    if debug:
        if fatal.code is ExitCode.INTERNAL:
            lines.append("".join(traceback.format_exception(error)).rstrip("\n"))
        else:
            cause = error.__cause__ or error.__context__
            if cause is not None and cause is not error:
                lines.append(f"cause: {one_line(cause)}")
    lines.append("error: " + " ".join(str(fatal).split()))
    sys.stdout.flush()
    sys.stderr.write(redactor.clean("\n".join(lines)) + "\n")
    sys.stderr.flush()
    return fatal.code
