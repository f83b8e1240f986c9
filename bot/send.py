"""Talking to the Bot API without giving up: retries on flood control (429 retry_after), timeouts and network or
5xx errors; an edit that Telegram refuses ("message is not modified", "can't be edited") is not an error.

Every message the bot sends goes through `call`, so a fault in the middle of a conversation delays a reply
rather than dropping it. A user who blocked the bot (Forbidden) is logged and skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

log = logging.getLogger(__name__)

ATTEMPTS = 8
MAX_WAIT = 60.0


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def call(method, *args, attempts: int = ATTEMPTS, **kwargs):
    """Await `method(*args, **kwargs)`, retrying what is worth retrying. Returns None when it gives up."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return await method(*args, **kwargs)
        except RetryAfter as e:
            wait = min(MAX_WAIT, retry_seconds(e)) + 0.2
            log.warning("flood control on %s: waiting %.1f s (attempt %d)", _name(method), wait, attempt)
            await asyncio.sleep(wait)
        except BadRequest:
            raise
        except (TimedOut, NetworkError) as e:
            if attempt == attempts:
                log.error("giving up on %s after %d attempts: %s", _name(method), attempts, e)
                return None
            log.warning("network error on %s: %s; retrying in %.1f s", _name(method), e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 8.0)
        except Forbidden as e:
            log.info("cannot reach the user (%s): %s", _name(method), e)
            return None
    return None


def _name(method) -> str:
    return getattr(method, "__name__", str(method))


def _is(error: BadRequest, *phrases: str) -> bool:
    text = str(error).lower()
    return any(p in text for p in phrases)


async def send_message(bot, chat_id: int, text: str, **kwargs):
    kwargs.setdefault("parse_mode", "HTML")
    kwargs.setdefault("disable_web_page_preview", True)
    return await call(bot.send_message, chat_id=chat_id, text=text, **kwargs)


async def edit_message(bot, chat_id: int, message_id: int, text: str, **kwargs):
    """Edit a message; if it can no longer be edited, send the text as a new message instead."""
    kwargs.setdefault("parse_mode", "HTML")
    kwargs.setdefault("disable_web_page_preview", True)
    try:
        return await call(bot.edit_message_text, chat_id=chat_id, message_id=message_id, text=text, **kwargs)
    except BadRequest as e:
        if _is(e, "not modified"):
            return None
        if _is(e, "can't be edited", "cannot be edited", "not found", "no text", "message to edit"):
            return await send_message(bot, chat_id, text, **kwargs)
        raise


async def edit_markup(bot, chat_id: int, message_id: int, reply_markup=None):
    try:
        return await call(bot.edit_message_reply_markup, chat_id=chat_id, message_id=message_id,
                          reply_markup=reply_markup)
    except BadRequest as e:
        if _is(e, "not modified", "can't be edited", "cannot be edited", "not found", "message to edit"):
            return None
        raise


async def answer(query, text: str | None = None) -> None:
    """Answer a button tap (stops the spinner); an expired query is not an error."""
    try:
        await call(query.answer, text=text, attempts=3)
    except BadRequest as e:
        log.info("callback query not answered: %s", e)
