"""The newsroom's channel (``CHANNEL_ID``, optional ``CHANNEL_THREAD_ID``): checked at start —
the chat resolved and the bot's rights there — and recorded for the outbox (``storage/channel.py``)
so that every piece published from then on is also posted there once.

If the bot cannot post there, publishing still works for subscribers: the problem is logged at
start and shown in ``/stats``.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import AiogramError
from aiogram.types import ChatMemberAdministrator, ChatMemberRestricted

from bot.config import Settings
from storage import Repository

logger = logging.getLogger(__name__)


async def check_channel(bot: Bot, settings: Settings, repo: Repository) -> str | None:
    """Resolve the channel and check that the bot may post there; records the result and
    returns the problem (None: all is well, or no channel is configured)."""
    if not settings.channel_id:
        await repo.clear_channel()
        return None
    ref: int | str = (
        settings.channel_id if settings.channel_id.startswith("@") else int(settings.channel_id)
    )
    chat_id = ref if isinstance(ref, int) else 0
    problem: str | None = None
    try:
        chat = await bot.get_chat(ref)
        chat_id = chat.id
        member = await bot.get_chat_member(chat.id, bot.id)
        if chat.type == ChatType.CHANNEL:
            allowed = member.status == ChatMemberStatus.CREATOR or (
                isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)
            )
            if not allowed:
                problem = "the bot is not an admin of the channel allowed to post messages"
        elif member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.KICKED):
            problem = "the bot is not a member of the group"
        elif isinstance(member, ChatMemberRestricted) and not member.can_send_messages:
            problem = "the bot may not send messages in the group"
        if settings.channel_thread_id is not None and not chat.is_forum:
            problem = problem or "CHANNEL_THREAD_ID is set but the group has no topics"
    except AiogramError as error:  # an API error, the network, an answer aiogram cannot read
        problem = f"cannot reach the chat: {getattr(error, 'message', error)}"
    await repo.set_channel(chat_id, settings.channel_thread_id, problem)
    if problem:
        logger.warning(
            "Channel %s: %s; pieces are not posted there (subscribers still get them)",
            settings.channel_id,
            problem,
        )
    else:
        logger.info("Channel %s (chat %d): each new piece is posted there", ref, chat_id)
    return problem
