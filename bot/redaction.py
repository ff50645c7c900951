"""Secrets (the bot token, the webhook secret) replaced wherever text leaves the process.

One ``Redactor`` serves every route out: the logging filter (``bot/logs.py``), the exception,
thread, unraisable and warning hooks and the redacting standard streams (``bot/guard.py``),
and the one-line error the command line prints (``bot/failures.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "<redacted>"


class Redactor:
    """Replaces each secret, longest first, so a secret inside another is never half-shown."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """More secrets (those of the settings, once they are read)."""
        self.secrets = sorted({*self.secrets, *(s for s in secrets if s)}, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def secrets_of(bot_token: str, webhook_secret: str = "") -> list[str]:
    """What must never be shown: the token, its secret part alone (a URL-quoted token keeps it
    whole while its ``:`` becomes ``%3A``), and the webhook secret."""
    found = [bot_token, webhook_secret]
    _bot_id, colon, secret_part = bot_token.partition(":")
    if colon:
        found.append(secret_part)
    return [s for s in found if s]
