"""Both interface languages are complete, and the compiled catalogs match their sources."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, locales_path

ROOT = Path(__file__).parent.parent


def source_messages() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package,
            method_map=[("**.py", "python")],
            keywords={"_": None, "__": None, "N_": None},
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(locale: str):
    with (locales_path() / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=locale)


def test_every_interface_string_is_translated_to_russian() -> None:
    ru = catalog("ru")
    missing = sorted(m for m in source_messages() if not (ru.get(m) and ru.get(m).string))
    assert not missing, f"untranslated (run `make i18n` and translate): {missing}"


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_compiled_catalog_matches_source(locale: str) -> None:
    with (locales_path() / locale / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for message in catalog(locale):
        if message.id and message.string:
            assert compiled.gettext(message.id) == message.string, "stale .mo: run `make i18n`"


def test_placeholders_survive_translation() -> None:
    import re

    for message in catalog("ru"):
        if message.id and message.string:
            assert set(re.findall(r"\{\w+\}", message.id)) == set(
                re.findall(r"\{\w+\}", message.string)
            ), message.id
