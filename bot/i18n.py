"""Interface languages: gettext catalogs in ``bot/locales/<lang>/LC_MESSAGES/messages.po``.

Message ids are English; the Russian catalog translates them (Russian is the default locale).
``make i18n`` extracts strings, updates the catalogs and compiles the ``.mo`` files that
aiogram's ``I18n`` loads; a test fails when a ``.mo`` is stale or a string is untranslated.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from aiogram.utils.i18n import I18n

DEFAULT_LOCALE = "ru"
DOMAIN = "messages"


def locales_path() -> Path:
    return Path(str(files("bot").joinpath("locales")))


def reader_locale(i18n: I18n, language_code: str | None) -> str:
    """The reader's Telegram language when we speak it ("en-GB" → "en"), else the default."""
    language = (language_code or "").split("-")[0].split("_")[0].lower()
    return language if language in i18n.available_locales else i18n.default_locale


def build_i18n() -> I18n:
    return I18n(path=locales_path(), default_locale=DEFAULT_LOCALE, domain=DOMAIN)


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated later, where the locale is known."""
    return message
