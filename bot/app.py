"""The Telegram bot: one `Application`, built in `build_application`, one function per handler.

Conversations (states are the constants below) and each user's language, pending request and recent plans are
kept by PTB's PicklePersistence in a file beside the site database, so they survive a restart. Plans run in
worker processes (`bot.planning`) and are answered one message per day (`bot.render`). Every call to the Bot
API goes through the retrying helpers of `bot.send`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import html
import json
import logging
import os
import re
import signal
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from rapidfuzz import fuzz, process
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import answers, render, send
from bot import understand as nlu
from bot.planning import PlanError, Planner, RateLimiter
from bot.texts import t
from planner import db as sitedb
from planner import gateways
from planner.changes import changed_request
from planner.errors import InputError
from planner.geo import haversine_m
from planner.hours import parse_hours
from planner.places import NEIGHBOURHOOD, resolve_place, suggest
from planner.places import candidates as place_candidates
from planner.sitedata import FIELDS, THEMES, ZONE_BOUNDS, check_name
from planner.trip import MAX_DAYS, today_in_china

log = logging.getLogger("hongtu.bot")

# /plan, the guided conversation
PLAN_ORIGIN, PLAN_DATE, PLAN_DAYS, PLAN_INTERESTS, PLAN_PACE, PLAN_DEST = range(6)
# /addsite, the curators' guided flow
(ADD_NAME_ZH, ADD_NAME_EN, ADD_LOCATION, ADD_CATEGORY, ADD_THEMES, ADD_VISIT, ADD_HOURS, ADD_SUMMARY_ZH,
 ADD_SUMMARY_EN, ADD_SOURCE, ADD_CONFIRM) = range(10, 21)
END = ConversationHandler.END

# Where trips usually start: offered as buttons when the origin is missing.
HUBS = ["changsha-south-station", "pingxiang-north-station", "jinggangshan-station", "jian-west-station",
        "zhuzhou-west-station", "chenzhou-west-station", "yichun-station", "liling-east-station"]
# Where trips usually go: offered as buttons by /plan (the counties and mountains guides build trips around).
DESTINATIONS = ["county-360881", "luxi-wugongshan", "county-360302", "county-430225", "county-430181",
                "yuanzhou-mingyueshan", "county-430224", "county-360830"]
FIXABLE = [f for f in FIELDS if f not in ("id", "importance", "importance_basis")]
HOURS_PRESETS = ["daily 08:00-17:30", "daily 08:30-17:00", "tue-sun 09:00-17:00", "always"]
MAX_PLANS_KEPT = 5
MAX_VENUES = 20


@dataclass
class Services:
    """What the handlers share; kept in `application.bot_data` (not persisted)."""

    db_path: Path
    db: object
    planner: Planner
    rate: RateLimiter
    web_url: str
    curators: set[int] = field(default_factory=set)
    index: nlu.PlaceIndex | None = None
    index_version: int = -1
    background: set = field(default_factory=set)

    def fresh_index(self) -> nlu.PlaceIndex:
        """The name index, rebuilt whenever the audit table says the sites changed (curators, web, CLI)."""
        version = self.db.execute("select coalesce(max(id), 0) from audit").fetchone()[0]
        if self.index is None or version != self.index_version:
            self.index, self.index_version = nlu.build_index(self.db), version
        return self.index

    def name_of(self, item_id: str, lang: str) -> str:
        entity = self.fresh_index().entities.get(item_id)
        return entity.name(lang) if entity else item_id


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data["hongtu"]


# ---------------------------------------------------------------- small helpers

def lang_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    data = context.user_data if context.user_data is not None else {}
    if data.get("lang") in ("zh", "en"):
        return data["lang"]
    user = update.effective_user
    return "zh" if user and (user.language_code or "").lower().startswith("zh") else "en"


def follow_language(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> str:
    """Answer in the language the user writes in, unless they chose one with /lang. A bare name or a number
    ("Changsha", "3") says nothing about the language; a sentence does."""
    if not context.user_data.get("lang_pinned"):
        lang = nlu.language(text or "")
        words = re.findall(r"[a-z']+", (text or "").lower())
        chinese = len(re.findall(r"[\u4e00-\u9fff]", text or "")) >= 2
        english = len(words) >= 3 or any(w in nlu.EN_STOP for w in words)
        if (lang == "zh" and chinese) or (lang == "en" and english):
            context.user_data["lang"] = lang
    return lang_of(update, context)


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def keyboard(rows) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([row for row in rows if row])


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup=None):
    return await send.send_message(context.bot, update.effective_chat.id, text, reply_markup=markup)


async def show(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup=None):
    """Edit the message whose button was tapped, or send a new message for a typed answer."""
    query = update.callback_query
    if query and query.message:
        return await send.edit_message(context.bot, query.message.chat_id, query.message.message_id, text,
                                       reply_markup=markup)
    return await reply(update, context, text, markup)


def choice(context: ContextTypes.DEFAULT_TYPE, value) -> str:
    """A short handle for a value offered on a button (callback data is limited to 64 bytes)."""
    choices = context.user_data.setdefault("choices", [])
    if value in choices:
        return str(choices.index(value))
    choices.append(value)
    del choices[:-40]
    return str(len(choices) - 1)


def chosen(context: ContextTypes.DEFAULT_TYPE, handle: str):
    choices = context.user_data.get("choices", [])
    try:
        return choices[int(handle)]
    except (ValueError, IndexError):
        return None


def is_curator(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    return bool(update.effective_user) and update.effective_user.id in services(context).curators


def china_now() -> dt.datetime:
    return dt.datetime.now(render.CHINA_TZ)


def tomorrow() -> dt.date:
    return today_in_china() + dt.timedelta(days=1)


def origin_buttons(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str, prefix: str,
                   ids: list[str] | None = None) -> list[list[InlineKeyboardButton]]:
    svc = services(context)
    index = svc.fresh_index()
    ids = [i for i in (ids or HUBS) if i in index.entities]
    buttons = [button(index.entities[i].name(lang), f"{prefix}{choice(context, i)}") for i in ids[:8]]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    if context.user_data.get("location"):
        rows.append([button(t(lang, "location_origin"), f"{prefix}{choice(context, 'location')}")])
    return rows


def days_buttons(prefix: str, lang: str) -> list[list[InlineKeyboardButton]]:
    return [[button(t(lang, "day_1") if n == 1 else t(lang, "days_n", n=n), f"{prefix}{n}") for n in (1, 2, 3)],
            [button(t(lang, "days_n", n=n), f"{prefix}{n}") for n in (4, 5, 7)]]


def parse_days(text: str) -> int | None:
    match = re.fullmatch(r"\s*(\d{1,2}|[一二两三四五六七八九十]{1,2})\s*(?:天|日|days?|d)?\s*", text or "")
    if not match:
        return None
    value = nlu.number(match.group(1))
    return value if value and 1 <= value <= MAX_DAYS else None


def place_from_text(context: ContextTypes.DEFAULT_TYPE, text: str) -> tuple[str | None, list[str]]:
    """(place or site id, []) for a typed origin, or (None, ids of the closest names) to offer instead."""
    svc = services(context)
    index = svc.fresh_index()
    understood = nlu.understand(text, index, today_in_china())
    if understood.origin:
        return understood.origin, []
    if understood.must:
        return understood.must[0], []
    try:
        place = resolve_place(svc.db, text)
        if place.id:
            return place.id, []
    except InputError:
        pass
    by_name = {}
    for name, place in place_candidates(svc.db):
        by_name.setdefault(name, place)
    ids = []
    for lang in ("zh", "en"):
        for name in suggest(svc.db, text, lang, limit=6):
            place = by_name.get(name)
            if place and place.id and place.id not in ids:
                ids.append(place.id)
    return None, ids[:6]


# ---------------------------------------------------------------- /start, /help, /lang

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = lang_of(update, context)
    other = "en" if lang == "zh" else "zh"
    text = t(lang, "welcome") + "\n\n" + ("English: /lang en" if other == "en" else "中文：/lang zh")
    markup = keyboard([[button(t(lang, "btn_plan"), "menu:plan"), button(t(lang, "btn_near"), "menu:near")],
                       [button(t(lang, "btn_site"), "menu:site"), button(t(lang, "btn_lang"), f"lang:{other}")]])
    await reply(update, context, text, markup)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = lang_of(update, context)
    await reply(update, context, t(lang, "help"),
                keyboard([[button(t(lang, "btn_plan"), "menu:plan"), button(t(lang, "btn_near"), "menu:near")]]))


async def lang_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    wanted = (context.args or [""])[0].lower()
    if wanted.startswith(("zh", "cn", "中")) or wanted.startswith(("en", "英")):
        await set_language(update, context, "zh" if wanted.startswith(("zh", "cn", "中")) else "en")
        return
    await reply(update, context, t(lang_of(update, context), "lang_choose"),
                keyboard([[button("中文", "lang:zh"), button("English", "lang:en")]]))


async def lang_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send.answer(update.callback_query)
    await set_language(update, context, update.callback_query.data.split(":", 1)[1])


async def set_language(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> None:
    context.user_data["lang"], context.user_data["lang_pinned"] = lang, True
    await reply(update, context, t(lang, "lang_set"))


async def menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await send.answer(query)
    lang = lang_of(update, context)
    action = query.data.split(":", 1)[1]
    if action == "near":
        await reply(update, context, t(lang, "near_hint"))
    elif action == "site":
        context.user_data["awaiting"] = "site"
        await reply(update, context, t(lang, "site_which"))
    else:
        await reply(update, context, t(lang, "help"))


# ---------------------------------------------------------------- free text

async def free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = update.message.text or ""
    lang = follow_language(update, context, text)
    svc = services(context)
    data = context.user_data
    awaiting = data.get("awaiting")
    if awaiting == "site":
        data.pop("awaiting", None)
        await show_site(update, context, text, lang)
        return
    understood = nlu.understand(text, svc.fresh_index(), today_in_china())
    draft = data.get("draft") or {}

    if awaiting == "days" and understood.days is None and parse_days(text):
        understood.days = parse_days(text)
        understood.intent = "trip"
    if (awaiting == "origin" and understood.origin is None and understood.intent != "site"
            and not (understood.days or understood.must or understood.start_date)):
        if understood.arrival_options or understood.unlisted:  # a far city or a hotel: ask where exactly
            data["draft"] = nlu.merge(draft, understood)
            await continue_request(update, context, lang)
            return
        place, ids = place_from_text(context, text)
        if place:
            data["draft"] = {**draft, "origin": place}
            await continue_request(update, context, lang)
            return
        if ids:
            await reply(update, context, t(lang, "ask_origin_again", name=render.esc(text[:40])),
                        keyboard(origin_buttons(update, context, lang, "a:o:", ids)))
            return
    if understood.intent == "question":
        await reply(update, context, answers.answer(svc.db, understood, lang, china_now()))
        return
    if understood.intent == "site":
        await send_site(update, context, understood.site, lang)
        return
    if understood.intent != "trip":
        await help_command(update, context)
        return
    if understood.topics:  # a trip request that also asks something: answer it, then plan
        await reply(update, context, answers.answer(svc.db, understood, lang, china_now()))
    if awaiting and draft and not (understood.origin and understood.days):
        data["draft"] = nlu.merge(draft, understood)
    else:
        data["draft"] = nlu.as_draft(understood)
    await continue_request(update, context, lang)


async def continue_request(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> None:
    """Ask for the first essential thing still missing from the pending request, or plan it."""
    data = context.user_data
    draft = data.get("draft") or {}
    if not draft.get("origin"):
        data["awaiting"] = "origin"
        city = gateways.BY_ID.get(draft.get("arriving_from") or "")
        if draft.get("arrival_options") and city:
            question, ids = t(lang, "ask_arrival", city=render.esc(city.name(lang))), draft["arrival_options"]
        elif draft.get("unlisted"):
            question = t(lang, "ask_unlisted", name=render.esc(draft["unlisted"][:40]))
            ids = draft.get("unlisted_near") or None
        else:
            question, ids = t(lang, "ask_origin"), None
        await reply(update, context, question, keyboard(origin_buttons(update, context, lang, "a:o:", ids)))
        return
    if not draft.get("days"):
        data["awaiting"] = "days"
        summary = render.summary(draft, lang, services(context).name_of)
        await reply(update, context, t(lang, "understood", summary=summary) + "\n" + t(lang, "ask_days"),
                    keyboard(days_buttons("a:n:", lang)))
        return
    data.pop("awaiting", None)
    data.pop("draft", None)
    await run_plan(update, context, request_from(draft), lang)


def request_from(draft: dict) -> dict:
    """The planner's request from a draft; `arriving_from`, `origin_chosen` and `period_name` only explain it."""
    return {
        "origin": draft["origin"], "end": draft.get("end"), "days": int(draft["days"]),
        "start_date": draft.get("start_date") or tomorrow().isoformat(),
        "interests": draft.get("interests") or {"red": 1.0, "eco": 1.0}, "themes": draft.get("themes") or [],
        "pace": draft.get("pace") or "normal", "must": draft.get("must") or [], "avoid": draft.get("avoid") or [],
        "destination": draft.get("destination"), "party": draft.get("party") or [],
        "arrive_at": draft.get("arrive_at"), "pin": draft.get("pin") or {},
        "arriving_from": draft.get("arriving_from"), "origin_chosen": bool(draft.get("origin_chosen")),
        "period_name": draft.get("period_name"),
    }


def request_notes(svc: Services, request: dict, lang: str) -> list[str]:
    """What the reply says about a request beyond the summary: the destination, an arrival hub we chose, the
    arrival time, a month or season read as a date, the party, and that plans are for driving."""
    notes = []
    if request.get("destination"):
        notes.append(t(lang, "note_destination", name=render.esc(svc.name_of(request["destination"], lang))))
    city = gateways.BY_ID.get(request.get("arriving_from") or "")
    origin = request.get("origin")
    if city and request.get("origin_chosen") and isinstance(origin, str) and origin in gateways.hubs(city):
        hub = gateways.describe(city, origin, svc.name_of(origin, lang), lang)
        notes.append(t(lang, "note_origin_chosen", city=render.esc(city.name(lang)), hub=render.esc(hub)))
    if request.get("arrive_at"):
        notes.append(t(lang, "note_arrive", time=render.esc(request["arrive_at"])))
    if request.get("period_name") and request.get("start_date"):
        notes.append(t(lang, "note_period", name=render.esc(request["period_name"]),
                       date=render.date_label(request["start_date"], lang)))
    who = [t(lang, f"party_{p}") for p in request.get("party") or [] if p in ("children", "seniors")]
    if who:
        notes.append(t(lang, "note_party", who=("、" if lang == "zh" else " and ").join(who)))
    if "no-car" in (request.get("party") or []):
        notes.append(t(lang, "note_driving", hints=station_hint(svc, request, lang)))
    return notes


def station_hint(svc: Services, request: dict, lang: str) -> str:
    """The stations nearest the destination (or the origin), with their rail lines where a source names them."""
    for item_id in (request.get("destination"), request.get("origin")):
        entity = svc.fresh_index().entities.get(item_id) if isinstance(item_id, str) else None
        if entity is None:
            continue
        hubs = answers._near_hubs(svc.db, {"lat": entity.lat, "lon": entity.lon}, ("station",), 2)
        lines = answers.hub_lines()
        names = []
        for _km, hub in hubs:
            line = "、".join(sorted(z for z, _ in lines.get(hub["id"], ()))) if lang == "zh" else \
                ", ".join(sorted(e for _, e in lines.get(hub["id"], ())))
            name = hub["name_zh"] if lang == "zh" else hub["name_en"]
            names.append(f"{name}（{line}）" if line and lang == "zh" else f"{name} ({line})" if line else name)
        return t(lang, "note_stations", stations=render.esc(("、" if lang == "zh" else "; ").join(names)))
    return ""


async def answer_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons answering what a free-text request was missing: a:o:<choice> (origin), a:n:<days>."""
    query = update.callback_query
    await send.answer(query)
    lang = lang_of(update, context)
    _, kind, value = query.data.split(":", 2)
    draft = context.user_data.get("draft") or {}
    if kind == "o":
        origin = chosen(context, value)
        if origin == "location":
            origin = context.user_data.get("location")
        if not origin:
            await reply(update, context, t(lang, "plan_gone"))
            return
        draft["origin"], draft["origin_chosen"] = origin, False
        for key in ("arrival_options", "unlisted", "unlisted_near"):
            draft.pop(key, None)
    elif kind == "n":
        draft["days"] = int(value)
    context.user_data["draft"] = draft
    await send.edit_markup(context.bot, query.message.chat_id, query.message.message_id)
    await continue_request(update, context, lang)


# ---------------------------------------------------------------- planning and the answer

async def run_plan(update: Update, context: ContextTypes.DEFAULT_TYPE, request: dict, lang: str,
                   notes: list[str] = ()) -> None:
    """Check the rate limit, say that planning started (with `notes`, e.g. what a change did), and plan in the
    background."""
    svc = services(context)
    wait = svc.rate.check(update.effective_user.id)
    if wait:
        await reply(update, context, t(lang, "rate_limited", seconds=wait))
        return
    notes = [*notes, *request_notes(svc, request, lang)]
    status = await reply(update, context, "\n".join([t(lang, "planning", summary=render.summary(request, lang,
                                                                                                svc.name_of)),
                                                      *notes]))
    context.application.create_task(deliver_plan(update, context, request, lang, status), update=update)


async def deliver_plan(update: Update, context: ContextTypes.DEFAULT_TYPE, request: dict, lang: str,
                       status) -> None:
    svc = services(context)
    chat_id = update.effective_chat.id
    summary = render.summary(request, lang, svc.name_of)

    async def say(text: str) -> None:
        if status is not None:
            await send.edit_message(context.bot, chat_id, status.message_id, text)
        else:
            await send.send_message(context.bot, chat_id, text)

    try:
        itinerary = await svc.planner.plan(request)
    except PlanError as e:
        key = {"timeout": "plan_timeout", "broken": "plan_busy"}.get(e.kind)
        await say(t(lang, key) if key else t(lang, "plan_failed", reason=render.esc(e.message(lang))))
        return
    data = context.user_data
    number = data.get("plan_no", 0) + 1
    data["plan_no"] = number
    plans = data.setdefault("plans", {})
    plans[str(number)] = {"request": request, "itinerary": itinerary}
    for old in sorted(plans, key=int)[:-MAX_PLANS_KEPT]:
        del plans[old]
    url = render.web_link(svc.web_url, request)
    footer = [f"<a href=\"{html.escape(url)}\">{t(lang, 'btn_web')}</a>"]
    messages = render.day_messages(itinerary, lang, footer=footer)
    await say("\n".join([t(lang, "planned", summary=summary), *request_notes(svc, request, lang)]))
    form_url = render.form_link(svc.web_url, request)
    for n, text in enumerate(messages, 1):
        markup = result_keyboard(number, lang, url, form_url) if n == len(messages) else None
        await send.send_message(context.bot, chat_id, text, reply_markup=markup)


def public_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return urlparse(url).scheme == "https" and host not in ("localhost", "127.0.0.1") and "." in host


def result_keyboard(number: int, lang: str, url: str, form_url: str) -> InlineKeyboardMarkup:
    web = (InlineKeyboardButton(t(lang, "btn_web"), url=url) if public_url(url)
           else button(t(lang, "btn_web"), f"r:{number}:web"))
    form = (InlineKeyboardButton(t(lang, "btn_form"), url=form_url) if public_url(form_url)
            else button(t(lang, "btn_form"), f"r:{number}:form"))
    return keyboard([
        [button(t(lang, "btn_map"), f"r:{number}:map"), button(t(lang, "btn_ics"), f"r:{number}:ics"), web],
        [button(t(lang, "btn_change"), f"r:{number}:edit"), button(t(lang, "btn_more"), f"r:{number}:more")],
        [button(t(lang, "btn_relax"), f"r:{number}:relax"), form],
    ])


def stop_keyboard(plan_number: str, k: int, days: int, current_day: int, lang: str) -> InlineKeyboardMarkup:
    """What can happen to stop `k`: drop it, swap it for another site, or move it to another day."""
    rows = [[button(t(lang, "btn_drop"), f"r:{plan_number}:drop:{k}"),
             button(t(lang, "btn_swap"), f"r:{plan_number}:swap:{k}")]]
    other_days = [button(t(lang, "btn_to_day", n=d + 1), f"r:{plan_number}:pin:{k}:{d}")
                  for d in range(days) if d != current_day]
    rows += [other_days[i:i + 3] for i in range(0, len(other_days), 3)]
    rows.append([button(t(lang, "cancel"), f"r:{plan_number}:close")])
    return keyboard(rows)


async def change_plan(update: Update, context: ContextTypes.DEFAULT_TYPE, plan: dict, lang: str, action: str,
                      stop: dict | None = None, day: int | None = None) -> None:
    """Re-plan with one change (planner.changes): the other stops stay on their days, the seed stays."""
    svc = services(context)
    published = {s["id"] for s in sitedb.list_sites(svc.db)}
    try:
        changed = changed_request(plan["itinerary"], action, stop["site_id"] if stop else None, day, published)
    except InputError as e:
        await reply(update, context, render.esc(e.message(lang)))
        return
    request = {**plan["request"], **{k: changed[k] for k in ("days", "must", "pin", "avoid", "only_must", "seed")}}
    name = render.esc(stop["name_zh"] if lang == "zh" else stop["name_en"]) if stop else ""
    note = t(lang, f"changed_{action.replace('-', '_')}", name=name, n=(day or 0) + 1)
    await run_plan(update, context, request, lang, notes=[note])


async def result_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Buttons under an itinerary: r:<plan>:map|ics|web|form|relax|more|edit|s:<stop>|drop:<stop>|swap:<stop>|
    pin:<stop>:<day>|close."""
    query = update.callback_query
    lang = lang_of(update, context)
    parts = query.data.split(":")
    plan = context.user_data.get("plans", {}).get(parts[1])
    action = parts[2] if len(parts) > 2 else ""
    if plan is None:
        await send.answer(query, t(lang, "plan_gone"))
        return
    await send.answer(query)
    request, itinerary = dict(plan["request"]), plan["itinerary"]
    chat_id = update.effective_chat.id
    svc = services(context)
    if action == "map":
        stops = render.stops(itinerary)
        for number, stop in stops[:MAX_VENUES]:
            await send.call(context.bot.send_venue, chat_id=chat_id, latitude=stop["lat"], longitude=stop["lon"],
                            title=stop["name_zh"] if lang == "zh" else stop["name_en"],
                            address=render.venue_address(number, stop, lang))
        if len(stops) > MAX_VENUES:
            await reply(update, context, t(lang, "map_more", n=len(stops) - MAX_VENUES))
    elif action == "ics":
        data = render.calendar(itinerary, lang)
        await send.call(context.bot.send_document, chat_id=chat_id,
                        document=InputFile(data, filename=f"hongtu-{itinerary['days'][0]['date']}.ics"),
                        caption=t(lang, "ics_caption"))
    elif action == "web":
        await reply(update, context, t(lang, "web_link", url=render.esc(render.web_link(svc.web_url, request))))
    elif action == "form":
        await reply(update, context, t(lang, "form_link", url=render.esc(render.form_link(svc.web_url, request))))
    elif action == "relax":
        if request.get("pace") == "relaxed":
            await reply(update, context, t(lang, "already_relaxed"))
            return
        request["pace"] = "relaxed" if request.get("pace") == "normal" else "normal"
        await run_plan(update, context, request, lang)
    elif action == "more":
        await change_plan(update, context, plan, lang, "add-day")
    elif action == "edit":
        stops = render.stops(itinerary)
        if not stops:
            await reply(update, context, t(lang, "no_stops"))
            return
        rows = [[button(f"{n} · {stop['name_zh'] if lang == 'zh' else stop['name_en']}"[:60], f"r:{parts[1]}:s:{k}")]
                for k, (n, stop) in enumerate(stops[:30])]
        rows.append([button(t(lang, "cancel"), f"r:{parts[1]}:close")])
        await reply(update, context, t(lang, "change_which"), keyboard(rows))
    elif action in ("s", "drop", "swap", "pin"):
        stops = render.stops(itinerary)
        k = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else -1
        if not 0 <= k < len(stops):
            return
        day_number, stop = stops[k]
        if action == "s":
            name = render.esc(stop["name_zh"] if lang == "zh" else stop["name_en"])
            await show(update, context, t(lang, "stop_options", name=name, n=day_number),
                       stop_keyboard(parts[1], k, len(itinerary["days"]), day_number - 1, lang))
            return
        day = int(parts[4]) if action == "pin" and len(parts) > 4 and parts[4].isdigit() else None
        await send.edit_markup(context.bot, chat_id, query.message.message_id)
        await change_plan(update, context, plan, lang, action, stop, day)
    elif action == "close":
        await send.edit_markup(context.bot, chat_id, query.message.message_id)


# ---------------------------------------------------------------- /plan, the guided conversation

async def plan_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    if update.callback_query:
        await send.answer(update.callback_query)
    lang = lang_of(update, context)
    context.user_data["guided"] = {}
    rows = origin_buttons(update, context, lang, "p:o:") + [[button(t(lang, "cancel"), "p:cancel")]]
    await reply(update, context, t(lang, "ask_origin"), keyboard(rows))
    return PLAN_ORIGIN


async def ask_date(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> int:
    today = today_in_china()
    saturday = nlu._week_day(today, 5, 0)
    options = [("date_tomorrow", today + dt.timedelta(days=1)), ("date_sat", saturday),
               ("date_next_sat", nlu._week_day(today, 5, 1))]
    rows = [[button(f"{t(lang, key)} · {render.date_label(date, lang)}", f"p:d:{date.isoformat()}")]
            for key, date in options if date > today or key == "date_tomorrow"]
    rows.append([button(t(lang, "cancel"), "p:cancel")])
    summary = guided_summary(context, lang)
    await show(update, context, f"{summary}\n{t(lang, 'ask_date')}", keyboard(rows))
    return PLAN_DATE


async def plan_origin_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    await send.answer(query)
    lang = lang_of(update, context)
    origin = chosen(context, query.data.split(":", 2)[2])
    if origin == "location":
        origin = context.user_data.get("location")
    if not origin:
        return PLAN_ORIGIN
    context.user_data.setdefault("guided", {})["origin"] = origin
    return await ask_destination(update, context, lang)


def full_request(context: ContextTypes.DEFAULT_TYPE, text: str) -> bool:
    """Whether a message typed during /plan is a whole trip request of its own (then it wins over the steps)."""
    understood = nlu.understand(text, services(context).fresh_index(), today_in_china())
    return understood.intent == "trip" and bool(understood.origin and understood.days)


async def leave_for_free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data.pop("guided", None)
    await free_text(update, context)
    return END


async def plan_origin_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = follow_language(update, context, update.message.text)
    if full_request(context, update.message.text):
        return await leave_for_free_text(update, context)
    place, ids = place_from_text(context, update.message.text)
    if place:
        context.user_data.setdefault("guided", {})["origin"] = place
        return await ask_destination(update, context, lang)
    rows = origin_buttons(update, context, lang, "p:o:", ids or HUBS) + [[button(t(lang, "cancel"), "p:cancel")]]
    await reply(update, context, t(lang, "ask_origin_again", name=render.esc(update.message.text[:40])),
                keyboard(rows))
    return PLAN_ORIGIN


async def plan_origin_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    loc = update.message.location
    context.user_data["location"] = [loc.latitude, loc.longitude]
    try:
        resolve_place(services(context).db, (loc.latitude, loc.longitude))
    except InputError as e:
        await reply(update, context, t(lang, "input_error", error=render.esc(e.message(lang))))
        return PLAN_ORIGIN
    context.user_data.setdefault("guided", {})["origin"] = [loc.latitude, loc.longitude]
    return await ask_destination(update, context, lang)


def guided_summary(context: ContextTypes.DEFAULT_TYPE, lang: str) -> str:
    svc, guided = services(context), context.user_data.get("guided") or {}
    summary = render.summary(guided, lang, svc.name_of)
    if guided.get("destination"):
        summary += "\n" + t(lang, "note_destination", name=render.esc(svc.name_of(guided["destination"], lang)))
    return summary


async def ask_destination(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str,
                          text: str | None = None) -> int:
    svc = services(context)
    index = svc.fresh_index()
    ids = [i for i in DESTINATIONS if i in index.entities]
    buttons = [button(index.entities[i].name(lang)[:30], f"p:g:{choice(context, i)}") for i in ids]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows += [[button(t(lang, "dest_any"), "p:g:any")], [button(t(lang, "cancel"), "p:cancel")]]
    summary = guided_summary(context, lang)
    await show(update, context, f"{summary}\n{text or t(lang, 'ask_destination')}", keyboard(rows))
    return PLAN_DEST


async def plan_destination_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await send.answer(update.callback_query)
    value = update.callback_query.data.split(":", 2)[2]
    destination = None if value == "any" else chosen(context, value)
    guided = context.user_data.setdefault("guided", {})
    guided.pop("destination", None)
    if destination:
        guided["destination"] = destination
    return await ask_date(update, context, lang_of(update, context))


def destination_from_text(context: ContextTypes.DEFAULT_TYPE, text: str) -> str | None:
    """A town, county or site id for a typed destination ("井冈山", "Wugong Mountain"), or None."""
    understood = nlu.understand(text, services(context).fresh_index(), today_in_china())
    if understood.destination:
        return understood.destination
    for mention in understood.mentions:
        focus = nlu._focus(mention)
        if focus:
            return focus.id
    return None


async def plan_destination_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = follow_language(update, context, update.message.text)
    if full_request(context, update.message.text):
        return await leave_for_free_text(update, context)
    destination = destination_from_text(context, update.message.text)
    if destination is None:
        return await ask_destination(update, context, lang,
                                     t(lang, "dest_bad", name=render.esc(update.message.text[:40])))
    context.user_data.setdefault("guided", {})["destination"] = destination
    return await ask_date(update, context, lang)


async def ask_days(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> int:
    summary = guided_summary(context, lang)
    rows = days_buttons("p:n:", lang) + [[button(t(lang, "cancel"), "p:cancel")]]
    await show(update, context, f"{summary}\n{t(lang, 'ask_days')}", keyboard(rows))
    return PLAN_DAYS


async def plan_date_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await send.answer(update.callback_query)
    context.user_data.setdefault("guided", {})["start_date"] = update.callback_query.data.split(":", 2)[2]
    return await ask_days(update, context, lang_of(update, context))


async def plan_date_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = follow_language(update, context, update.message.text)
    if full_request(context, update.message.text):
        return await leave_for_free_text(update, context)
    understood = nlu.understand(update.message.text, services(context).fresh_index(), today_in_china())
    if understood.start_date is None:
        await reply(update, context, t(lang, "date_bad"))
        return PLAN_DATE
    context.user_data.setdefault("guided", {})["start_date"] = understood.start_date.isoformat()
    if understood.days:
        context.user_data["guided"]["days"] = understood.days
        return await ask_interests(update, context, lang)
    return await ask_days(update, context, lang)


async def ask_interests(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> int:
    summary = guided_summary(context, lang)
    rows = [[button(t(lang, "interest_red"), "p:i:red"), button(t(lang, "interest_eco"), "p:i:eco")],
            [button(t(lang, "interest_both"), "p:i:both")], [button(t(lang, "cancel"), "p:cancel")]]
    await show(update, context, f"{summary}\n{t(lang, 'ask_interests')}", keyboard(rows))
    return PLAN_INTERESTS


async def plan_days_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await send.answer(update.callback_query)
    context.user_data.setdefault("guided", {})["days"] = int(update.callback_query.data.split(":", 2)[2])
    return await ask_interests(update, context, lang_of(update, context))


async def plan_days_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = follow_language(update, context, update.message.text)
    if full_request(context, update.message.text):
        return await leave_for_free_text(update, context)
    days = parse_days(update.message.text) or nlu.understand(
        update.message.text, services(context).fresh_index(), today_in_china()).days
    if not days or not 1 <= days <= MAX_DAYS:
        await reply(update, context, t(lang, "days_bad"))
        return PLAN_DAYS
    context.user_data.setdefault("guided", {})["days"] = days
    return await ask_interests(update, context, lang)


async def plan_interests_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await send.answer(update.callback_query)
    lang = lang_of(update, context)
    choice_ = update.callback_query.data.split(":", 2)[2]
    weights = {"red": {"red": 1.0, "eco": 0.25}, "eco": {"red": 0.25, "eco": 1.0}}.get(choice_,
                                                                                     {"red": 1.0, "eco": 1.0})
    context.user_data.setdefault("guided", {})["interests"] = weights
    summary = guided_summary(context, lang)
    rows = [[button(t(lang, f"pace_{p}"), f"p:p:{p}") for p in ("relaxed", "normal", "packed")],
            [button(t(lang, "cancel"), "p:cancel")]]
    await show(update, context, f"{summary}\n{t(lang, 'ask_pace')}", keyboard(rows))
    return PLAN_PACE


async def plan_pace_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await send.answer(update.callback_query)
    lang = lang_of(update, context)
    guided = context.user_data.pop("guided", {})
    guided["pace"] = update.callback_query.data.split(":", 2)[2]
    if not guided.get("origin") or not guided.get("days"):
        await show(update, context, t(lang, "plan_gone"))
        return END
    request = request_from(guided)
    await show(update, context, render.summary(request, lang, services(context).name_of))
    await run_plan(update, context, request, lang)
    return END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    if update.callback_query:
        await send.answer(update.callback_query)
    for key in ("guided", "draft", "awaiting", "addsite"):
        context.user_data.pop(key, None)
    await show(update, context, t(lang_of(update, context), "cancelled"))
    return END


# ---------------------------------------------------------------- locations and sites

def nearest_sites(db, lat: float, lon: float, limit: int = 5) -> list[tuple[float, dict]]:
    rows = [(haversine_m(lat, lon, s["lat"], s["lon"]) / 1000, s) for s in sitedb.list_sites(db)]
    return sorted(rows, key=lambda r: r[0])[:limit]


async def location_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = lang_of(update, context)
    loc = update.message.location
    context.user_data["location"] = [loc.latitude, loc.longitude]
    if context.user_data.get("awaiting") == "origin":  # the answer to "where do you start?"
        try:
            resolve_place(services(context).db, (loc.latitude, loc.longitude))
        except InputError as e:
            await reply(update, context, t(lang, "input_error", error=render.esc(e.message(lang))))
            return
        context.user_data["draft"] = {**(context.user_data.get("draft") or {}), "origin": [loc.latitude,
                                                                                            loc.longitude]}
        await continue_request(update, context, lang)
        return
    rows = nearest_sites(services(context).db, loc.latitude, loc.longitude)
    (lat_lo, lat_hi), (lon_lo, lon_hi) = NEIGHBOURHOOD["lat"], NEIGHBOURHOOD["lon"]
    inside = lat_lo <= loc.latitude <= lat_hi and lon_lo <= loc.longitude <= lon_hi
    if not inside:
        await reply(update, context, t(lang, "outside_zone", km=f"{rows[0][0]:.0f}" if rows else "?"))
        return
    buttons = [[button(t(lang, "plan_here"), "loc:plan")]]
    for _km, site in rows:
        data = f"site:{site['id']}"
        if len(data.encode()) <= 64:
            buttons.append([button(f"ℹ️ {site['name_zh'] if lang == 'zh' else site['name_en']}"[:60], data)])
    await reply(update, context, render.nearby_message(rows, lang, china_now()), keyboard(buttons))


async def location_plan_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await send.answer(query)
    lang = lang_of(update, context)
    location = context.user_data.get("location")
    if not location:
        await reply(update, context, t(lang, "near_hint"))
        return
    context.user_data["draft"] = {"origin": location}
    await continue_request(update, context, lang)


async def site_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    name = " ".join(context.args or []).strip()
    lang = follow_language(update, context, name) if name else lang_of(update, context)
    if not name:
        context.user_data["awaiting"] = "site"
        await reply(update, context, t(lang, "site_which"))
        return
    await show_site(update, context, name, lang)


def find_sites(context: ContextTypes.DEFAULT_TYPE, name: str) -> list[str]:
    """Site ids for a typed name, best first: understood names (typos, pinyin), then full-text, then fuzzy."""
    svc = services(context)
    index = svc.fresh_index()
    understood = nlu.understand(name, index, today_in_china())
    found = []
    for mention in understood.mentions:
        best = mention.candidates[0]
        found += [e.id for e, exact in mention.candidates if e.kind == "site" and exact == best[1]]
    if found:
        return list(dict.fromkeys(found))[:8]
    found = [s["id"] for s in sitedb.search_sites(svc.db, name, limit=5)]
    if found:
        return found
    names = {}
    for entity in index.entities.values():
        if entity.kind == "site":
            for n in (entity.name_zh, entity.name_en):
                names[n.lower()] = entity.id
    matches = process.extract(name.lower(), list(names), scorer=fuzz.WRatio, limit=10, score_cutoff=60)
    return list(dict.fromkeys(names[m[0]] for m in matches))[:5]


async def show_site(update: Update, context: ContextTypes.DEFAULT_TYPE, name: str, lang: str) -> None:
    ids = find_sites(context, name)
    if not ids:
        await reply(update, context, t(lang, "site_none", name=render.esc(name[:60])) + "\n" + t(lang, "site_hint"))
        return
    if len(ids) == 1:
        await send_site(update, context, ids[0], lang)
        return
    svc = services(context)
    rows = [[button(svc.name_of(i, lang)[:60], f"site:{i}")] for i in ids if len(f"site:{i}".encode()) <= 64]
    if not rows:
        await send_site(update, context, ids[0], lang)
        return
    await reply(update, context, t(lang, "site_choose"), keyboard(rows))


async def send_site(update: Update, context: ContextTypes.DEFAULT_TYPE, site_id: str, lang: str) -> None:
    site = sitedb.get_site(services(context).db, site_id, include_hidden=False)
    if site is None:
        await reply(update, context, t(lang, "site_none", name=render.esc(site_id)))
        return
    await reply(update, context, render.site_card(site, lang, china_now()))


async def site_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send.answer(update.callback_query)
    await send_site(update, context, update.callback_query.data.split(":", 1)[1], lang_of(update, context))


# ---------------------------------------------------------------- curators: /addsite and /fixsite

def author(update: Update) -> str:
    return f"telegram:{update.effective_user.id}"


async def addsite_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    if not is_curator(update, context):
        await reply(update, context, t(lang, "not_curator"))
        return END
    context.user_data["addsite"] = {}
    await reply(update, context, t(lang, "add_name_zh"))
    return ADD_NAME_ZH


async def _bad(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str, error: InputError, state: int) -> int:
    await reply(update, context, t(lang, "input_error", error=render.esc(error.message(lang))))
    return state


async def add_name_zh(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    try:
        context.user_data["addsite"]["name_zh"] = check_name(update.message.text, "name_zh")
    except InputError as e:
        return await _bad(update, context, lang, e, ADD_NAME_ZH)
    await reply(update, context, t(lang, "add_name_en"))
    return ADD_NAME_EN


async def add_name_en(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    try:
        context.user_data["addsite"]["name_en"] = check_name(update.message.text, "name_en")
    except InputError as e:
        return await _bad(update, context, lang, e, ADD_NAME_EN)
    await reply(update, context, t(lang, "add_location"))
    return ADD_LOCATION


def nearest_county(db, lat: float, lon: float) -> int:
    rows = list(db["counties"].rows)
    return min(rows, key=lambda r: haversine_m(lat, lon, r["lat"], r["lon"]))["adcode"]


async def add_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    if update.message.location:
        lat, lon = update.message.location.latitude, update.message.location.longitude
    else:
        match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)\s*", update.message.text or "")
        if not match:
            await reply(update, context, t(lang, "add_location"))
            return ADD_LOCATION
        lat, lon = float(match.group(1)), float(match.group(2))
    (lat_lo, lat_hi), (lon_lo, lon_hi) = ZONE_BOUNDS["lat"], ZONE_BOUNDS["lon"]
    if not (lat_lo <= lat <= lat_hi and lon_lo <= lon <= lon_hi):
        await reply(update, context, t(lang, "add_location_bad"))
        return ADD_LOCATION
    draft = context.user_data["addsite"]
    draft.update(lat=round(lat, 6), lon=round(lon, 6), county_adcode=nearest_county(services(context).db, lat, lon))
    rows = [[button(t(lang, f"category_{c}"), f"add:cat:{c}")] for c in ("red", "eco", "both")]
    await reply(update, context, t(lang, "add_category"), keyboard(rows))
    return ADD_CATEGORY


def themes_keyboard(selected: list[str], lang: str) -> InlineKeyboardMarkup:
    names = [(k, v[0] if lang == "zh" else v[1]) for k, v in THEMES.items()]
    buttons = [button(("✅ " if k in selected else "") + name, f"add:t:{k}") for k, name in names]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    return keyboard([*rows, [button(t(lang, "done"), "add:t:done")]])


async def add_category(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await send.answer(update.callback_query)
    lang = lang_of(update, context)
    context.user_data["addsite"]["category"] = update.callback_query.data.split(":")[2]
    context.user_data["addsite"]["themes"] = []
    await show(update, context, t(lang, "add_themes"), themes_keyboard([], lang))
    return ADD_THEMES


async def add_theme(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    lang = lang_of(update, context)
    theme = query.data.split(":")[2]
    draft = context.user_data["addsite"]
    if theme == "done":
        if not draft.get("themes"):
            await send.answer(query, t(lang, "add_themes_none"))
            return ADD_THEMES
        await send.answer(query)
        rows = [[button(str(n), f"add:v:{n}") for n in (30, 60, 90, 120, 180)]]
        await show(update, context, t(lang, "add_visit"), keyboard(rows))
        return ADD_VISIT
    await send.answer(query)
    if theme in THEMES:
        themes = draft.setdefault("themes", [])
        if theme in themes:
            themes.remove(theme)
        else:
            themes.append(theme)
    await send.edit_markup(context.bot, query.message.chat_id, query.message.message_id,
                           themes_keyboard(draft["themes"], lang))
    return ADD_THEMES


async def _ask_hours(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> int:
    rows = [[button(h, f"add:h:{h}")] for h in HOURS_PRESETS]
    await show(update, context, t(lang, "add_hours"), keyboard(rows))
    return ADD_HOURS


async def add_visit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    if update.callback_query:
        await send.answer(update.callback_query)
        minutes = int(update.callback_query.data.split(":")[2])
    else:
        text = (update.message.text or "").strip()
        minutes = int(text) if text.isdigit() else 0
        if not 10 <= minutes <= 600:
            await reply(update, context, t(lang, "add_visit"))
            return ADD_VISIT
    context.user_data["addsite"]["visit_minutes"] = minutes
    return await _ask_hours(update, context, lang)


async def add_hours(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    if update.callback_query:
        await send.answer(update.callback_query)
        text = update.callback_query.data.split(":", 2)[2]
    else:
        text = update.message.text or ""
    try:
        context.user_data["addsite"]["hours"] = parse_hours(text)
    except InputError as e:
        return await _bad(update, context, lang, e, ADD_HOURS)
    await show(update, context, t(lang, "add_summary_zh"))
    return ADD_SUMMARY_ZH


async def add_summary_zh(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    context.user_data["addsite"]["summary_zh"] = (update.message.text or "").strip()[:1000]
    await reply(update, context, t(lang, "add_summary_en"))
    return ADD_SUMMARY_EN


async def add_summary_en(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    context.user_data["addsite"]["summary_en"] = (update.message.text or "").strip()[:1000]
    await reply(update, context, t(lang, "add_source"))
    return ADD_SOURCE


def site_record(draft: dict, update: Update, db) -> dict:
    """The flat site record for `add_site`, from the curator's answers."""
    slug = "-".join(nlu.squash(s) for s in nlu._pinyin(draft["name_zh"]) if nlu.squash(s))[:60] or "site"
    county = next(iter(db["counties"].rows_where("adcode = ?", [draft["county_adcode"]])), {})
    county_name = county.get("name_zh", "")
    short = county_name[:-1] if len(county_name) > 2 and county_name[-1] in "市县区" else county_name
    prefix = "".join(nlu.squash(s) for s in nlu._pinyin(short))
    base = f"{prefix}-{slug}".strip("-")
    site_id, n = base, 2
    while sitedb.get_site(db, site_id) is not None:
        site_id, n = f"{base}-{n}", n + 1
    return {
        "id": site_id, "name_zh": draft["name_zh"], "name_en": draft["name_en"], "aliases": [],
        "category": draft["category"], "themes": draft["themes"], "county_adcode": draft["county_adcode"],
        "lat": draft["lat"], "lon": draft["lon"], "coord_precision_m": 50,
        "coord_source": f"Telegram location shared by curator {author(update)} on {today_in_china().isoformat()}",
        "visit_minutes": draft["visit_minutes"], "hours": draft["hours"], "seasons": [], "ticket_cny": None,
        "ticket_note": "", "designations": [], "summary_zh": draft["summary_zh"], "summary_en": draft["summary_en"],
        "history_zh": draft["summary_zh"], "history_en": draft["summary_en"], "sources": [draft["source"]],
        "unverified": ["history", "hours", "visit_minutes"], "last_verified": today_in_china().isoformat(),
        "hidden": False,
    }


async def add_source(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    lang = lang_of(update, context)
    context.user_data["addsite"]["source"] = (update.message.text or "").strip()[:1000]
    return await add_confirm(update, context, lang)


async def add_confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> int:
    from planner.sitedata import validate_site

    svc = services(context)
    try:
        record = validate_site(site_record(context.user_data["addsite"], update, svc.db), sitedb.county_codes(svc.db))
    except InputError as e:
        return await _restart_at(update, context, lang, e)
    context.user_data["addsite"]["id"] = record["id"]
    card = render.site_card(record, lang, china_now(), history=False)
    rows = [[button(t(lang, "save"), "add:save"), button(t(lang, "cancel"), "add:cancel")]]
    await reply(update, context, render.fit(t(lang, "add_confirm", card=card)), keyboard(rows))
    return ADD_CONFIRM


STEP_OF_FIELD = {"name_zh": (ADD_NAME_ZH, "add_name_zh"), "name_en": (ADD_NAME_EN, "add_name_en"),
                 "lat": (ADD_LOCATION, "add_location"), "lon": (ADD_LOCATION, "add_location"),
                 "county_adcode": (ADD_LOCATION, "add_location"), "hours": (ADD_HOURS, "add_hours"),
                 "visit_minutes": (ADD_VISIT, "add_visit"), "summary_zh": (ADD_SUMMARY_ZH, "add_summary_zh"),
                 "history_zh": (ADD_SUMMARY_ZH, "add_summary_zh"), "summary_en": (ADD_SUMMARY_EN, "add_summary_en"),
                 "history_en": (ADD_SUMMARY_EN, "add_summary_en"), "sources": (ADD_SOURCE, "add_source")}


async def _restart_at(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str, error: InputError) -> int:
    """Report a validation error and ask again for the field it names."""
    state, question = STEP_OF_FIELD.get(error.field, (ADD_SOURCE, "add_source"))
    await reply(update, context, t(lang, "input_error", error=render.esc(error.message(lang))) + "\n"
                + t(lang, question))
    return state


async def add_save(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    await send.answer(query)
    lang = lang_of(update, context)
    if query.data == "add:cancel":
        return await cancel(update, context)
    svc = services(context)
    draft = context.user_data.get("addsite") or {}
    try:
        saved = sitedb.add_site(svc.db, site_record(draft, update, svc.db), author(update))
    except InputError as e:
        return await _restart_at(update, context, lang, e)
    except KeyError:
        await show(update, context, t(lang, "plan_gone"))
        return END
    context.user_data.pop("addsite", None)
    await send.edit_markup(context.bot, query.message.chat_id, query.message.message_id)
    await reply(update, context, t(lang, "add_saved", name=render.esc(saved["name_zh"] if lang == "zh"
                                                                       else saved["name_en"]), id=saved["id"]))
    return END


async def fixsite_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = lang_of(update, context)
    if not is_curator(update, context):
        await reply(update, context, t(lang, "not_curator"))
        return
    text = update.message.text or ""
    parts = text.split(maxsplit=3)
    if len(parts) < 4:
        await reply(update, context, t(lang, "fix_usage"))
        return
    _, site_id, field_name, value = parts
    if field_name not in FIXABLE:
        await reply(update, context, t(lang, "fix_field", field=render.esc(field_name), fields=", ".join(FIXABLE)))
        return
    svc = services(context)
    before = sitedb.get_site(svc.db, site_id)
    value = value.strip()
    if field_name in ("hours", "seasons", "sources", "aliases", "themes", "designations", "unverified"):
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value) if value[:1] in "[{" else value
    try:
        after = sitedb.update_site(svc.db, site_id, {field_name: value}, author(update))
    except InputError as e:
        await reply(update, context, t(lang, "input_error", error=render.esc(e.message(lang))))
        return
    if before is not None and after.get("version") == before.get("version"):
        await reply(update, context, t(lang, "fix_same", id=render.esc(site_id), field=render.esc(field_name)))
        return
    shown = json.dumps(after[field_name], ensure_ascii=False) if not isinstance(after[field_name], str) \
        else after[field_name]
    await reply(update, context, t(lang, "fix_done", id=render.esc(site_id), field=render.esc(field_name),
                                   value=render.esc(render.one_line(shown, 200)), version=after["version"]))


# ---------------------------------------------------------------- everything else

async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    lang = lang_of(update, context)
    await reply(update, context, t(lang, "unknown_command") + "\n\n" + t(lang, "help"))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button from a finished conversation or an old message: stop the spinner and say so."""
    await send.answer(update.callback_query, t(lang_of(update, context), "plan_gone"))


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with the update id and apologise to the user; never show a stack trace."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        lang = "en"
        with contextlib.suppress(Exception):
            lang = lang_of(update, context)
        try:
            await send.send_message(context.bot, update.effective_chat.id, t(lang, "sorry"))
        except Exception:  # noqa: BLE001
            log.exception("could not apologise for update %s", update_id)


# ---------------------------------------------------------------- the application

class SafePicklePersistence(PicklePersistence):
    """PicklePersistence that survives crashes: the file is written to a temporary name and renamed into place,
    and an unreadable file (from an older crash or a disk fault) is set aside instead of stopping the bot."""

    def _dump_singlefile(self) -> None:
        final = self.filepath
        temporary = final.with_name(final.name + ".tmp")
        self.filepath = temporary
        try:
            super()._dump_singlefile()
        finally:
            self.filepath = final
        os.replace(temporary, final)

    def _load_singlefile(self) -> None:
        try:
            super()._load_singlefile()
        except TypeError:
            aside = self.filepath.with_name(self.filepath.name + ".corrupt")
            log.error("cannot read %s; moved it to %s and starting with empty state", self.filepath, aside)
            os.replace(self.filepath, aside)
            super()._load_singlefile()


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Updates of different users are handled concurrently; those of one user one after the other, in order.

    So a user waiting on flood control or a slow reply never holds up anybody else, and one user's quick taps
    cannot race each other through a conversation.
    """

    def __init__(self, max_concurrent_updates: int = 256):
        super().__init__(max_concurrent_updates)
        self.locks: dict[int | None, asyncio.Lock] = {}

    async def do_process_update(self, update, coroutine) -> None:
        key = None
        if isinstance(update, Update):
            key = (update.effective_user.id if update.effective_user else
                   update.effective_chat.id if update.effective_chat else None)
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            await coroutine
        if len(self.locks) > 10_000:  # forget idle users now and then
            self.locks = {k: v for k, v in self.locks.items() if v.locked()}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def plan_conversation() -> ConversationHandler:
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("plan", plan_start), CallbackQueryHandler(plan_start, pattern=r"^menu:plan$")],
        states={
            PLAN_ORIGIN: [CallbackQueryHandler(plan_origin_button, pattern=r"^p:o:"),
                          MessageHandler(filters.LOCATION, plan_origin_location),
                          MessageHandler(text, plan_origin_text)],
            PLAN_DEST: [CallbackQueryHandler(plan_destination_button, pattern=r"^p:g:"),
                        MessageHandler(text, plan_destination_text)],
            PLAN_DATE: [CallbackQueryHandler(plan_date_button, pattern=r"^p:d:"), MessageHandler(text, plan_date_text)],
            PLAN_DAYS: [CallbackQueryHandler(plan_days_button, pattern=r"^p:n:"), MessageHandler(text, plan_days_text)],
            PLAN_INTERESTS: [CallbackQueryHandler(plan_interests_button, pattern=r"^p:i:")],
            PLAN_PACE: [CallbackQueryHandler(plan_pace_button, pattern=r"^p:p:")],
        },
        fallbacks=[CommandHandler("cancel", cancel), CallbackQueryHandler(cancel, pattern=r"^p:cancel$")],
        name="plan", persistent=True, allow_reentry=True,
    )


def addsite_conversation() -> ConversationHandler:
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("addsite", addsite_start)],
        states={
            ADD_NAME_ZH: [MessageHandler(text, add_name_zh)],
            ADD_NAME_EN: [MessageHandler(text, add_name_en)],
            ADD_LOCATION: [MessageHandler(filters.LOCATION | text, add_location)],
            ADD_CATEGORY: [CallbackQueryHandler(add_category, pattern=r"^add:cat:")],
            ADD_THEMES: [CallbackQueryHandler(add_theme, pattern=r"^add:t:")],
            ADD_VISIT: [CallbackQueryHandler(add_visit, pattern=r"^add:v:"), MessageHandler(text, add_visit)],
            ADD_HOURS: [CallbackQueryHandler(add_hours, pattern=r"^add:h:"), MessageHandler(text, add_hours)],
            ADD_SUMMARY_ZH: [MessageHandler(text, add_summary_zh)],
            ADD_SUMMARY_EN: [MessageHandler(text, add_summary_en)],
            ADD_SOURCE: [MessageHandler(text, add_source)],
            ADD_CONFIRM: [CallbackQueryHandler(add_save, pattern=r"^add:(save|cancel)$")],
        },
        fallbacks=[CommandHandler("cancel", cancel), CallbackQueryHandler(cancel, pattern=r"^add:cancel$")],
        name="addsite", persistent=True, allow_reentry=True,
    )


COMMANDS = {
    "zh": [("start", "开始"), ("plan", "一步步规划行程"), ("site", "查看景点"), ("lang", "切换语言"),
           ("cancel", "取消"), ("help", "帮助")],
    "en": [("start", "Start"), ("plan", "Plan a trip step by step"), ("site", "Look up a site"),
           ("lang", "Switch language"), ("cancel", "Cancel"), ("help", "Help")],
}


async def post_init(application: Application) -> None:
    bot = application.bot
    await send.call(bot.set_my_commands, [BotCommand(c, d) for c, d in COMMANDS["en"]])
    await send.call(bot.set_my_commands, [BotCommand(c, d) for c, d in COMMANDS["zh"]], language_code="zh")
    svc: Services = application.bot_data["hongtu"]
    svc.background.add(asyncio.get_running_loop().create_task(svc.planner.warm_up()))


async def post_shutdown(application: Application) -> None:
    svc: Services = application.bot_data["hongtu"]
    svc.planner.close()
    svc.db.conn.close()


def build_application(token: str, base_url: str | None = None, db_path: str | Path = sitedb.DEFAULT_DB,
                      persistence_path: str | Path | None = None) -> Application:
    """The whole bot. `base_url` points at another Bot API server (a self-hosted one, or the tests' stand-in)."""
    db_path = Path(db_path)
    persistence_path = Path(persistence_path or os.environ.get("HONGTU_BOT_STATE") or
                            db_path.with_name("bot_state.pickle"))
    warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
    persistence = SafePicklePersistence(
        persistence_path,
        store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False),
        update_interval=float(os.environ.get("HONGTU_BOT_SAVE_INTERVAL", "5")),
    )
    builder = (Application.builder().token(token).persistence(persistence).post_init(post_init)
               .post_shutdown(post_shutdown).concurrent_updates(PerUserUpdateProcessor()).connect_timeout(10).read_timeout(15).write_timeout(20)
               .pool_timeout(10).get_updates_connect_timeout(10).get_updates_pool_timeout(10))
    if base_url:
        base_url = base_url.rstrip("/")
        builder = builder.base_url(f"{base_url}/bot").base_file_url(f"{base_url}/file/bot")
    application = builder.build()

    curators = {int(x) for x in re.findall(r"-?\d+", os.environ.get("HONGTU_CURATOR_IDS", ""))}
    iterations = os.environ.get("HONGTU_PLAN_ITERATIONS", "")
    planner = Planner(db_path, time_limit=float(os.environ.get("HONGTU_PLAN_TIME_LIMIT", "2.0")),
                      workers=int(os.environ.get("HONGTU_PLAN_WORKERS", "2")),
                      iterations=int(iterations) if iterations.isdigit() else None)
    application.bot_data["hongtu"] = Services(
        db_path=db_path, db=sitedb.connect(db_path), planner=planner,
        rate=RateLimiter.from_text(os.environ.get("HONGTU_PLAN_RATE")),
        web_url=os.environ.get("HONGTU_WEB_URL", "http://127.0.0.1:8000"), curators=curators)

    application.add_handler(plan_conversation())
    application.add_handler(addsite_conversation())
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("lang", lang_command))
    application.add_handler(CommandHandler("site", site_command))
    application.add_handler(CommandHandler("fixsite", fixsite_command))
    application.add_handler(CommandHandler("cancel", cancel))
    application.add_handler(CallbackQueryHandler(lang_button, pattern=r"^lang:(zh|en)$"))
    application.add_handler(CallbackQueryHandler(menu_button, pattern=r"^menu:"))
    application.add_handler(CallbackQueryHandler(answer_button, pattern=r"^a:[on]:"))
    application.add_handler(CallbackQueryHandler(result_button, pattern=r"^r:\d+:"))
    application.add_handler(CallbackQueryHandler(location_plan_button, pattern=r"^loc:plan$"))
    application.add_handler(CallbackQueryHandler(site_button, pattern=r"^site:"))
    application.add_handler(CallbackQueryHandler(stale_button))
    private = filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(filters.LOCATION & private, location_message))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & private, free_text))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_error_handler(error_handler)
    return application


# ---------------------------------------------------------------- running it

async def _until_it_works(method, *args, **kwargs):
    """Retry a start-up call (getMe, setWebhook) until the Bot API answers; a bad token is fatal."""
    from telegram.error import InvalidToken, TelegramError

    delay = 1.0
    while True:
        try:
            return await method(*args, **kwargs)
        except InvalidToken:
            raise
        except TelegramError as e:
            log.warning("Bot API not reachable (%s); retrying in %.0f s", e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)


def webhook_secret(token: str) -> str:
    return os.environ.get("HONGTU_WEBHOOK_SECRET") or hashlib.sha256(f"hongtu:{token}".encode()).hexdigest()[:48]


async def _webhook_server(application: Application, host: str, port: int, path: str, secret: str):
    """A minimal HTTP endpoint for Telegram's webhook POSTs (no web framework needed): checks the secret token
    header and queues the update; GET /healthz answers ok."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        status, body = "404 Not Found", b""
        try:
            request_line = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1").split()
            headers = {}
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                if line in (b"\r\n", b"\n", b""):
                    break
                key, _, value = line.decode("latin-1").partition(":")
                headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if length > 2_000_000:
                status = "413 Payload Too Large"
            else:
                payload = await asyncio.wait_for(reader.readexactly(length), 10) if length else b""
                method, target = (request_line + ["", ""])[:2]
                if method == "GET" and target == "/healthz":
                    status, body = "200 OK", b"ok"
                elif method == "POST" and target.split("?")[0] == path:
                    if headers.get("x-telegram-bot-api-secret-token") != secret:
                        status = "403 Forbidden"
                    else:
                        update = Update.de_json(json.loads(payload), application.bot)
                        await application.update_queue.put(update)
                        status = "200 OK"
        except (TimeoutError, asyncio.IncompleteReadError, ValueError, UnicodeDecodeError):
            status = "400 Bad Request"
        try:
            writer.write(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                         + body)
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)


async def serve(application: Application, *, webhook_url: str | None = None, listen: str = "127.0.0.1:8443",
                poll_timeout: int = 10, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or until `stop` is set): long polling, or a webhook at `webhook_url` served on
    `listen`. Outside the main thread signals are not installed; set `stop` (via loop.call_soon_threadsafe)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await _until_it_works(application.bot.initialize)
    await application.initialize()
    await application.post_init(application)
    await application.start()
    server = None
    if webhook_url:
        host, _, port = listen.rpartition(":")
        path = urlparse(webhook_url).path or "/"
        secret = webhook_secret(application.bot.token)
        server = await _webhook_server(application, host or "127.0.0.1", int(port), path, secret)
        await _until_it_works(application.bot.set_webhook, url=webhook_url, secret_token=secret,
                              allowed_updates=Update.ALL_TYPES)
        log.info("webhook at %s, listening on %s", webhook_url, listen)
    else:
        await application.updater.start_polling(timeout=poll_timeout, bootstrap_retries=-1,
                                                allowed_updates=Update.ALL_TYPES)
        log.info("polling for updates")
    await stop.wait()
    log.info("stopping")
    if server is not None:
        server.close()
        await server.wait_closed()
    elif application.updater.running:
        await application.updater.stop()
    await application.stop()
    await application.shutdown()
    await application.post_shutdown(application)

