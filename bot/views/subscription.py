"""The subscribe/unsubscribe button and the replies around it."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.views.callbacks import SubscriptionToggle, Where


def subscription_button(subscribed: bool, where: Where) -> InlineKeyboardButton:
    """The button that flips the current state: unsubscribe when subscribed, else subscribe."""
    if subscribed:
        text, on = _("🔕 Unsubscribe"), False
    else:
        text, on = _("🔔 Subscribe to new pieces"), True
    return InlineKeyboardButton(
        text=text, callback_data=SubscriptionToggle(on=on, where=where).pack()
    )


def with_subscription_button(
    markup: InlineKeyboardMarkup | None, subscribed: bool, where: Where
) -> InlineKeyboardMarkup:
    """``markup`` with its subscription button showing the current state (a new last row when
    it has none)."""
    button = subscription_button(subscribed, where)
    rows: list[list[InlineKeyboardButton]] = []
    replaced = False
    for row in markup.inline_keyboard if markup else []:
        new_row = []
        for old in row:
            if (old.callback_data or "").startswith(SubscriptionToggle.__prefix__ + ":"):
                new_row.append(button)
                replaced = True
            else:
                new_row.append(old)
        rows.append(new_row)
    if not replaced:
        rows.append([button])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def subscription_status_text(subscribed: bool) -> str:
    if subscribed:
        return _("🔔 You are subscribed: I will send you each new piece as it comes out.")
    return _("Subscribe, and I will send you each new piece as it comes out.")


def subscribe_reply(changed: bool) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        _("Done: you are subscribed. I will send you each new piece as it comes out.")
        if changed
        else _("You are already subscribed. I will send you each new piece as it comes out.")
    )
    return text, with_subscription_button(None, True, Where.REPLY)


def unsubscribe_reply(changed: bool) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        _("Done: you are unsubscribed and will get no more notifications.")
        if changed
        else _("You are not subscribed, so I send you nothing.")
    )
    return text, with_subscription_button(None, False, Where.REPLY)


def toggled_alert(subscribed: bool) -> str:
    if subscribed:
        return _("You are subscribed to new pieces.")
    return _("You are unsubscribed. No more notifications.")
