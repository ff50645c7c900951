"""The one place unexpected errors go: logged with the update's context, apologised for."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

logger = logging.getLogger(__name__)


async def on_error(event: ErrorEvent) -> bool:
    update = event.update
    user = None
    if update.message is not None:
        user = update.message.from_user
    elif update.callback_query is not None:
        user = update.callback_query.from_user
    elif update.inline_query is not None:
        user = update.inline_query.from_user
    logger.error(
        "Unhandled error in update %s (type=%s, user=%s): %r",
        update.update_id,
        update.event_type,
        user.id if user else "-",
        event.exception,
        exc_info=event.exception,
    )
    apology = _("Sorry, something went wrong on our side. Please try again a bit later.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(apology, show_alert=True)
        elif update.message is not None:
            await update.message.answer(apology)
    except Exception:  # the apology itself failed (e.g. network down): the log has the cause
        logger.warning("Could not apologise for update %s", update.update_id, exc_info=True)
    return True


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
