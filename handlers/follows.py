"""/follow, /following, /unfollow, /settings and their buttons ("Follow X", "Follow these
words", remove, the settings choices). Thin: parsing is ``bot.domain.follows``, storage
``storage/follows.py``, texts ``bot/views/follows.py``."""

from __future__ import annotations

from dataclasses import replace

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n

from bot.domain.follows import (
    DIGEST_HOURS,
    UTC_OFFSETS,
    FollowKind,
    FollowProblem,
    Mode,
    Silence,
    answering_speakers,
    parse_follow,
)
from bot.views.callbacks import (
    FollowSpeaker,
    FollowWords,
    Setting,
    SettingChoice,
    Unfollow,
)
from bot.views.follows import (
    ALL,
    follow_problem_text,
    followed_alert,
    followed_text,
    following_screen,
    settings_saved_alert,
    settings_screen,
    unfollow_usage_text,
    unfollowed_alert,
    unfollowed_text,
)
from bot.views.reader import missing_piece_text, stale_button_text
from handlers.screens import chat_of, editable, redraw
from storage import Repository


async def follow(message: Message, command: CommandObject, repo: Repository, i18n: I18n) -> None:
    spec = parse_follow(command.args or "")
    if isinstance(spec, FollowProblem):
        await message.answer(follow_problem_text(spec))
        return
    added = await repo.add_follow(message.chat.id, i18n.current_locale, spec)
    if isinstance(added, FollowProblem):
        await message.answer(follow_problem_text(added))
        return
    settings = await repo.reader_settings(message.chat.id)
    text, keyboard = followed_text(added, settings, await repo.is_subscribed(message.chat.id))
    await message.answer(text, reply_markup=keyboard)


async def following(message: Message, repo: Repository) -> None:
    screen = following_screen(await repo.follows_of(message.chat.id))
    await message.answer(screen.messages[0], reply_markup=screen.keyboard)


async def unfollow(message: Message, command: CommandObject, repo: Repository) -> None:
    spec = parse_follow(command.args or "")
    if isinstance(spec, FollowProblem):
        await message.answer(unfollow_usage_text())
        return
    removed = await repo.remove_follows_like(message.chat.id, spec.norm)
    await message.answer(unfollowed_text(removed))


async def on_follow_speaker(
    callback: CallbackQuery, callback_data: FollowSpeaker, repo: Repository, i18n: I18n
) -> None:
    piece = await repo.get_piece(callback_data.piece)
    speakers = answering_speakers(piece.speaker, piece.turns) if piece else []
    if piece is None or not 0 <= callback_data.i < len(speakers):
        await callback.answer(missing_piece_text(), show_alert=True)
        return
    spec = parse_follow(speakers[callback_data.i], FollowKind.SPEAKER)
    if isinstance(spec, FollowProblem):  # a name that is no words at all
        await callback.answer(follow_problem_text(spec), show_alert=True)
        return
    added = await repo.add_follow(chat_of(callback), i18n.current_locale, spec)
    await callback.answer(followed_alert(added), show_alert=isinstance(added, FollowProblem))


async def on_follow_words(
    callback: CallbackQuery, callback_data: FollowWords, repo: Repository, i18n: I18n
) -> None:
    spec = parse_follow(callback_data.w)
    if isinstance(spec, FollowProblem):  # forged
        await callback.answer(stale_button_text(), show_alert=True)
        return
    added = await repo.add_follow(chat_of(callback), i18n.current_locale, spec)
    await callback.answer(followed_alert(added), show_alert=isinstance(added, FollowProblem))


async def on_unfollow(
    callback: CallbackQuery, callback_data: Unfollow, bot: Bot, repo: Repository
) -> None:
    chat_id = chat_of(callback)
    removed = await repo.remove_follow(chat_id, callback_data.id)
    message = editable(callback)
    screen = following_screen(await repo.follows_of(chat_id))
    if message is None:
        await bot.send_message(chat_id, screen.messages[0], reply_markup=screen.keyboard)
    else:
        await redraw(message, screen.messages[0], screen.keyboard)
    await callback.answer(unfollowed_alert(removed))  # once the screen shows it


# -- settings -----------------------------------------------------------------------------------


async def settings_command(message: Message, repo: Repository) -> None:
    chat_id = message.chat.id
    screen = settings_screen(await repo.reader_settings(chat_id), await repo.is_subscribed(chat_id))
    await message.answer(screen.messages[0], reply_markup=screen.keyboard)


async def on_setting(
    callback: CallbackQuery, callback_data: SettingChoice, bot: Bot, repo: Repository, i18n: I18n
) -> None:
    chat_id = chat_of(callback)
    locale = i18n.current_locale
    field, value = callback_data.field, callback_data.value
    if field is Setting.MENU:
        if value == "f":
            screen = following_screen(await repo.follows_of(chat_id))
        else:
            screen = settings_screen(
                await repo.reader_settings(chat_id), await repo.is_subscribed(chat_id)
            )
        await callback.answer()
        await bot.send_message(chat_id, screen.messages[0], reply_markup=screen.keyboard)
        return
    current = await repo.reader_settings(chat_id)
    try:
        if field is Setting.MODE:
            if value == ALL:
                await repo.subscribe(chat_id, locale)
                chosen = current
            else:
                chosen = replace(current, mode=Mode(value))
                await repo.unsubscribe(chat_id)
        elif field is Setting.SILENCE:
            chosen = replace(current, silence=Silence(value))
        elif field is Setting.ZONE:
            offset = int(value)
            if offset not in UTC_OFFSETS:
                raise ValueError(value)
            chosen = replace(current, utc_offset=offset)
        else:
            hour = int(value) if value else None
            if hour is not None and hour not in DIGEST_HOURS:
                raise ValueError(value)
            chosen = replace(current, digest_hour=hour)
    except ValueError:  # a forged or outdated button
        await callback.answer(stale_button_text(), show_alert=True)
        return
    await repo.save_reader_settings(chat_id, locale, chosen)
    message = editable(callback)
    if message is not None:
        screen = settings_screen(chosen, await repo.is_subscribed(chat_id))
        await redraw(message, screen.messages[0], screen.keyboard)
    await callback.answer(settings_saved_alert())  # once the screen shows it


def create_router() -> Router:
    router = Router(name="follows")
    router.message.register(follow, Command("follow"))
    router.message.register(following, Command("following"))
    router.message.register(unfollow, Command("unfollow"))
    router.message.register(settings_command, Command("settings"))
    router.callback_query.register(on_follow_speaker, FollowSpeaker.filter())
    router.callback_query.register(on_follow_words, FollowWords.filter())
    router.callback_query.register(on_unfollow, Unfollow.filter())
    router.callback_query.register(on_setting, SettingChoice.filter())
    return router
