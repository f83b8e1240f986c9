"""Every sentence the bot says, in Chinese and English. Placeholders are filled by `t(lang, key, **values)`;
values that come from the database or the user must be HTML-escaped by the caller."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "welcome": (
        "👋 你好！我是<b>红途</b>，湘赣边红色文化与生态旅游的行程助手。\n\n"
        "• 直接告诉我你的想法，例如：<i>从长沙出发，玩三天，想看红色景点和山水</i>\n"
        "• /plan 一步步点选，生成行程\n"
        "• 发送位置 📍，看看附近的景点现在是否开放\n"
        "• /site 黄洋界 查看景点介绍、开放时间和门票\n"
        "• /lang 切换语言（English）",
        "👋 Hi! I'm <b>Hongtu</b>, a trip planner for red-culture and nature travel in the Hunan–Jiangxi "
        "border zone.\n\n"
        "• Just tell me what you want, e.g. <i>2 days around Jinggangshan, mostly revolutionary history, "
        "relaxed pace</i>\n"
        "• /plan builds a trip step by step with buttons\n"
        "• Send a location 📍 to see the nearest sites and whether they are open now\n"
        "• /site Huangyangjie shows a site's card: hours, tickets, history\n"
        "• /lang switches the language (中文)",
    ),
    "welcome_both": (
        "👋 你好！我是红途，湘赣边行程助手。 / Hi! I'm Hongtu, a trip planner for the Hunan–Jiangxi border zone.",
        "👋 你好！我是红途，湘赣边行程助手。 / Hi! I'm Hongtu, a trip planner for the Hunan–Jiangxi border zone.",
    ),
    "help": (
        "我可以帮你规划湘赣边的行程。告诉我从哪里出发、玩几天、想看什么，例如：\n"
        "<i>下周六从萍乡北站出发去井冈山，两天，必须去黄洋界</i>\n\n"
        "也可以用 /plan 点选，发送位置 📍 查附近景点，或用 /site 景点名 查看介绍。",
        "I plan trips in the Hunan–Jiangxi border zone. Tell me where you start, for how many days and what "
        "you like, e.g.\n<i>next Saturday from Pingxiang North, two days, must see Huangyangjie</i>\n\n"
        "You can also tap through /plan, send a location 📍 for nearby sites, or look a site up with /site NAME.",
    ),
    "btn_plan": ("🧭 规划行程", "🧭 Plan a trip"),
    "btn_near": ("📍 附近景点", "📍 Sites near me"),
    "btn_site": ("🔎 查景点", "🔎 Find a site"),
    "btn_lang": ("🌐 English", "🌐 中文"),
    "lang_set": ("好的，之后我用中文回复。", "OK, I'll answer in English from now on."),
    "lang_choose": ("请选择语言 / Choose a language:", "请选择语言 / Choose a language:"),
    "near_hint": ("请点击 📎 → 位置，发送你的位置，我会列出附近的景点。",
                  "Tap 📎 → Location and send me where you are; I'll list the nearest sites."),
    "site_hint": ("请发送景点名称，例如：/site 黄洋界", "Send a site's name, e.g. /site Huangyangjie"),
    "site_which": ("要查哪个景点？直接发名字就行。", "Which site? Just send its name."),
    "site_none": ("没有找到「{name}」。", "I found no site called “{name}”."),
    "site_choose": ("你要找的是哪一个？", "Which one do you mean?"),
    # asking for what is missing
    "ask_origin": ("从哪里出发？选一个，或者直接发地名（车站、机场、县城都可以），也可以发送位置 📍。",
                   "Where do you start? Pick one, type a place (station, airport or town), or send a location 📍."),
    "ask_origin_again": ("没找到「{name}」。你指的是下面哪一个？",
                         "I couldn't find “{name}”. Did you mean one of these?"),
    "ask_days": ("玩几天？", "How many days?"),
    "ask_date": ("哪天出发？", "When do you leave?"),
    "ask_interests": ("想看什么？", "What would you like to see?"),
    "ask_pace": ("节奏怎么安排？", "Which pace?"),
    "days_n": ("{n} 天", "{n} days"),
    "day_1": ("1 天", "1 day"),
    "date_tomorrow": ("明天", "Tomorrow"),
    "date_sat": ("本周六", "This Saturday"),
    "date_next_sat": ("下周六", "Next Saturday"),
    "date_bad": ("没看懂这个日期，请再发一次，例如「12月5日」或「下周六」。",
                 "I didn't get that date; try e.g. “Dec 5” or “next Saturday”."),
    "days_bad": ("请发一个 1 到 10 之间的天数。", "Please send a number of days from 1 to 10."),
    "interest_red": ("🚩 红色文化", "🚩 Red heritage"),
    "interest_eco": ("🌲 自然生态", "🌲 Nature"),
    "interest_both": ("🚩🌲 都想看", "🚩🌲 Both"),
    "pace_relaxed": ("😌 轻松", "😌 Relaxed"),
    "pace_normal": ("🙂 适中", "🙂 Normal"),
    "pace_packed": ("⚡ 紧凑", "⚡ Packed"),
    "cancel": ("❌ 取消", "❌ Cancel"),
    "cancelled": ("已取消。随时告诉我新的想法。", "Cancelled. Tell me about another trip any time."),
    "location_origin": ("📍 从我的位置出发", "📍 From my location"),
    "understood": ("明白了：{summary}", "Got it: {summary}"),
    # planning
    "planning": ("⏳ 正在规划：{summary}", "⏳ Planning: {summary}"),
    "planned": ("✅ 行程已生成：{summary}", "✅ Your trip: {summary}"),
    "plan_failed": ("😔 这次没能规划出行程：{reason}", "😔 I couldn't plan this trip: {reason}"),
    "plan_timeout": ("😔 规划超时了，请稍后再试，或者缩短天数。",
                     "😔 Planning took too long. Please try again, or try fewer days."),
    "plan_busy": ("😔 规划服务暂时不可用，请稍后再试。",
                  "😔 The planner is unavailable right now; please try again later."),
    "rate_limited": ("🙏 你规划得有点快了，请 {seconds} 秒后再试。",
                     "🙏 That's a lot of plans in a short time; please try again in {seconds} s."),
    "plan_gone": ("这个行程已经过期了，请重新发送你的需求。", "That plan has expired; please send your request again."),
    "already_relaxed": ("已经是最轻松的节奏了。可以换掉一个景点，或者多加一天。",
                        "That is already the most relaxed pace. You can swap out a stop or add a day."),
    "change_which": ("调整哪个景点？", "Which stop would you like to change?"),
    "stop_options": ("第 {n} 天的「{name}」：删除、换一个，还是改到另一天？其余景点都留在原来那天。",
                     "{name} (day {n}): drop it, swap it for another site, or move it to another day? "
                     "Every other stop stays on its day."),
    "no_stops": ("这个行程里没有可以调整的景点。", "This trip has no stops to change."),
    "changed_drop": ("✂️ 已删除「{name}」，其余景点留在原来那天。",
                     "✂️ Dropped {name}; every other stop stays on its day."),
    "changed_swap": ("🔁 换掉「{name}」，换一个别的景点，其余不变。",
                     "🔁 Swapping {name} for another site; everything else stays."),
    "changed_pin": ("📅 「{name}」改到第 {n} 天，其余不变。", "📅 Moving {name} to day {n}; everything else stays."),
    "changed_add_day": ("➕ 多加一天，已安排的景点留在原来那天。",
                        "➕ One more day; the stops planned so far stay on their days."),
    "form_link": ("📝 在网页上打开已填好的表单，改好后重新规划：\n{url}",
                  "📝 The request, filled in on the web form, to change and plan again:\n{url}"),
    "btn_map": ("🗺 地图", "🗺 Map"),
    "btn_ics": ("📅 日历", "📅 Calendar"),
    "btn_web": ("🌐 网页版", "🌐 On the web"),
    "btn_relax": ("😌 更轻松", "😌 More relaxed"),
    "btn_change": ("✏️ 调整景点", "✏️ Change a stop"),
    "btn_drop": ("✂️ 删除", "✂️ Drop"),
    "btn_swap": ("🔁 换一个", "🔁 Swap"),
    "btn_to_day": ("📅 改到第 {n} 天", "📅 To day {n}"),
    "btn_form": ("📝 修改条件", "📝 Edit the request"),
    "btn_more": ("➕ 多玩一天", "➕ One more day"),
    "web_link": ("🌐 在网页上查看这个行程：\n{url}", "🌐 This itinerary on the web:\n{url}"),
    "map_more": ("（还有 {n} 个景点未显示）", "({n} more stops not shown)"),
    "ics_caption": ("📅 导入日历即可查看每一站的时间。", "📅 Import it into your calendar to see every stop."),
    # itinerary
    "day_header": ("第 {n} 天 · {date}", "Day {n} · {date}"),
    "leave": ("{time} 从 <b>{place}</b> 出发", "{time} leave <b>{place}</b>"),
    "drive": ("🚗 {minutes} 分钟 · {km} 公里", "🚗 {minutes} min · {km} km"),
    "area_bus": ("🚌 景区观光车或自驾 {minutes} 分钟 · {km} 公里",
                 "🚌 scenic-area bus or drive, {minutes} min · {km} km"),
    "wait": ("（{time} 到达，等候开门）", " (arrive {time}, wait for opening)"),
    "overnight": ("{time} 住 <b>{place}</b>", "{time} overnight in <b>{place}</b>"),
    "arrive": ("{time} 到达 <b>{place}</b>", "{time} arrive at <b>{place}</b>"),
    "free": ("免费", "free"),
    "ticket": ("门票 ¥{price}", "ticket ¥{price}"),
    "no_stops_day": ("这一天没有安排景点（路程较远，或景点不开放）。",
                     "No sites fit this day (long drives, or the sites are closed)."),
    "unreached": ("⚠️ 未能安排「{name}」：{reason}", "⚠️ Could not include {name}: {reason}"),
    "footer": ("车程为{source}。", "Travel times: {source}."),
    "source_estimate": ("估算值", "estimates"),
    # summary of a request
    "from": ("从{place}出发", "from {place}"),
    "to": ("到{place}结束", "ending at {place}"),
    "days": ("{n} 天", "{n} days"),
    "starting": ("{date} 出发", "leaving {date}"),
    "interests_red": ("红色为主", "mostly red heritage"),
    "interests_eco": ("生态为主", "mostly nature"),
    "interests_both": ("红色 + 生态", "red heritage + nature"),
    "pace_word_relaxed": ("轻松", "relaxed"),
    "pace_word_normal": ("适中", "normal pace"),
    "pace_word_packed": ("紧凑", "packed"),
    "must_list": ("必去：{names}", "must see: {names}"),
    "avoid_list": ("不去：{names}", "skipping: {names}"),
    "my_location": ("我的位置", "my location"),
    # location
    "nearby_header": ("📍 离你最近的景点：", "📍 The nearest sites:"),
    "open_now": ("🟢 现在开放", "🟢 open now"),
    "closed_now": ("🔴 现在关闭", "🔴 closed now"),
    "open_later": ("🟡 今天 {time} 开放", "🟡 opens {time} today"),
    "plan_here": ("🧭 从这里出发规划", "🧭 Plan a trip from here"),
    "outside_zone": ("你的位置离湘赣边比较远（最近的景点在 {km} 公里外），我只能从湘赣边附近出发规划。",
                     "You're far from the Hunan–Jiangxi border zone (the nearest site is {km} km away); I can "
                     "only plan trips that start near it."),
    # site card
    "hours": ("⏰ 开放时间：{hours}", "⏰ Hours: {hours}"),
    "visit": ("⌛ 建议游览 {minutes} 分钟", "⌛ Allow {minutes} min"),
    "ticket_line": ("🎫 {ticket}", "🎫 {ticket}"),
    "ticket_unknown": ("门票：未知", "ticket: unknown"),
    "history": ("📜 {text}", "📜 {text}"),
    "sources": ("📚 来源：", "📚 Sources:"),
    "maps": ("🗺 <a href=\"{amap}\">高德地图</a> · <a href=\"{osm}\">OpenStreetMap</a>",
             "🗺 <a href=\"{amap}\">Amap</a> · <a href=\"{osm}\">OpenStreetMap</a>"),
    "unverified": ("（以下信息待核实：{fields}）", "(not yet verified: {fields})"),
    "category_red": ("🚩 红色文化", "🚩 Red heritage"),
    "category_eco": ("🌲 自然生态", "🌲 Nature"),
    "category_both": ("🚩🌲 红色文化 + 自然", "🚩🌲 Red heritage + nature"),
    # curators
    "not_curator": ("抱歉，只有景点编辑可以添加或修改景点。如果你发现信息有误，欢迎告诉我们！",
                    "Sorry, only curators can add or change sites. If you spot a mistake, please tell us!"),
    "add_name_zh": ("添加景点（随时 /cancel 退出）。\n第 1 步：景点的中文名称？",
                    "Adding a site (/cancel at any time).\nStep 1: the site's Chinese name?"),
    "add_name_en": ("第 2 步：英文名称？", "Step 2: the English name?"),
    "add_location": ("第 3 步：请发送景点位置（📎 → 位置），或输入「纬度, 经度」（WGS-84）。",
                     "Step 3: share the site's location (📎 → Location) or type “lat, lon” (WGS-84)."),
    "add_location_bad": ("位置不在湘赣边范围内，请重新发送。", "That point is outside the zone; please send it again."),
    "add_category": ("第 4 步：类别？", "Step 4: category?"),
    "add_themes": ("第 5 步：主题（可多选，选好后点「完成」）：", "Step 5: themes (pick one or more, then Done):"),
    "add_themes_none": ("请至少选一个主题。", "Pick at least one theme."),
    "done": ("✅ 完成", "✅ Done"),
    "add_visit": ("第 6 步：建议游览多少分钟？（10–600）", "Step 6: how many minutes does a visit take? (10–600)"),
    "add_hours": ("第 7 步：开放时间，例如「daily 08:00-17:30」或「tue-sun 09:00-17:00」，全天开放发「always」。",
                  "Step 7: opening hours, e.g. “daily 08:00-17:30” or “tue-sun 09:00-17:00”; “always” if there "
                  "is no gate."),
    "add_summary_zh": ("第 8 步：一句话中文简介？", "Step 8: a one-line summary in Chinese?"),
    "add_summary_en": ("第 9 步：一句话英文简介？", "Step 9: a one-line summary in English?"),
    "add_source": ("第 10 步：信息来源（网址或文献）？", "Step 10: the source (a URL or a reference)?"),
    "add_confirm": ("请确认：\n{card}", "Please confirm:\n{card}"),
    "save": ("💾 保存", "💾 Save"),
    "add_saved": ("✅ 已添加景点 <b>{name}</b>（编号 {id}）。", "✅ Added <b>{name}</b> (id {id})."),
    "input_error": ("❌ {error}", "❌ {error}"),
    "fix_usage": ("用法：/fixsite 编号 字段 新值\n例如：/fixsite jinggangshan-huangyangjie ticket_cny 150",
                  "Usage: /fixsite ID FIELD VALUE\ne.g. /fixsite jinggangshan-huangyangjie ticket_cny 150"),
    "fix_field": ("不能修改字段「{field}」。可以修改：{fields}",
                  "Field “{field}” can't be changed. Changeable: {fields}"),
    "fix_done": ("✅ 已更新 {id}：{field} = {value}（第 {version} 版）",
                 "✅ Updated {id}: {field} = {value} (version {version})"),
    "fix_same": ("没有变化：{id} 的 {field} 已经是这个值。", "No change: {id} already has that {field}."),
    # plain questions (bot.answers)
    "ans_hours": ("⏰ {name}：{hours}（{status}）", "⏰ {name}: {hours} ({status})"),
    "ans_ticket": ("🎫 {name}：门票 ¥{price}", "🎫 {name}: ticket ¥{price}"),
    "ans_ticket_free": ("🎫 {name}：免费", "🎫 {name}: free admission"),
    "ans_ticket_unknown": ("🎫 {name}：门票价格我还不知道。", "🎫 {name}: I don't know the ticket price yet."),
    "ans_visit": ("⌛ {name}：建议游览约 {minutes} 分钟。", "⌛ {name}: allow about {minutes} min."),
    "ans_designations": ("🏅 {name}：{list}", "🏅 {name}: {list}"),
    "ans_no_designations": ("🏅 {name}：数据库里没有它的评级或称号。",
                            "🏅 {name}: the database lists no rating or designation for it."),
    "ans_suitable": ("👪 {name} 是否适合老人、孩子或轮椅，我没有可靠的数据；建议游览约 {minutes} 分钟。"
                     "告诉我同行有老人或孩子，我会把行程排得轻松一些。",
                     "👪 I have no reliable data on whether {name} suits children, seniors or wheelchairs; a visit "
                     "takes about {minutes} min. Tell me who travels with you and I'll plan easier days."),
    "ans_suitable_general": ("👪 景点是否适合老人、孩子或轮椅，我没有可靠的数据。"
                             "告诉我同行有老人或孩子，我会把行程排得轻松一些。",
                             "👪 I have no reliable data on which sites suit children, seniors or wheelchairs. Tell me "
                             "who travels with you and I'll plan easier days."),
    "ans_which_site": ("要查哪个景点？例如「黄洋界几点开门」，或 /site 黄洋界。",
                       "Which site? e.g. “Huangyangjie opening hours”, or /site Huangyangjie."),
    "ans_city_head": ("从{city}过来，可以坐到：", "From {city} you can travel to:"),
    "ans_city_route": ("🚄 {hub}", "🚄 {hub}"),
    "ans_hubs_head": ("离{name}最近的车站和机场：", "Stations and airports nearest {name}:"),
    "ans_hub": ("🚉 {name}（直线约 {km} 公里）{lines}", "🚉 {name} (about {km} km as the crow flies){lines}"),
    "ans_train_where": ("你从哪里来、要去哪里？例如「从南昌怎么去井冈山」。",
                        "Where from, and where to? e.g. “how do I get from Nanchang to Jinggangshan”."),
    "ans_train_check": ("车次和时刻请以 12306 为准。我规划的行程按自驾（或包车、打车）计算车程。",
                        "Check trains and times on 12306. My itineraries count drive times (own car, hired car or "
                        "taxi)."),
    "ans_hotel": ("🏨 我没有酒店和民宿的信息，不能推荐具体住处。"
                  "规划行程时我会为每晚选一个城镇过夜；附近的城镇有：{towns}。",
                  "🏨 I have no hotel or guesthouse data, so I can't recommend a place to stay. When I plan a trip I "
                  "pick a town for each night; towns nearby: {towns}."),
    "ans_road": ("🚗 我没有路况和山路安全的数据，回答不了这个问题。我能做的：按估算车程安排行程，每段车程都写出来；"
                 "「轻松」节奏开车更少。出发前请用导航软件查看实时路况。",
                 "🚗 I have no data on road conditions or mountain-road safety, so I can't answer that. What I can "
                 "do: plan with an estimated drive time shown for every leg; a relaxed pace drives less. Check a "
                 "navigation app for live road conditions before you go."),
    "ans_weather": ("🌦 我没有天气预报，回答不了天气的问题。"
                    "我能做的：按景点的开放时间和季节安排行程。出发前请查看天气预报。",
                    "🌦 I have no weather forecast, so I can't answer that. What I can do: plan around opening hours "
                    "and seasons. Please check a forecast before you go."),
    "ans_cannot": ("这个问题我回答不了。我能做的：规划行程，查景点的开放时间、门票和介绍（/site 景点名）。",
                   "I can't answer that. What I can do: plan trips, and look up a site's hours, tickets and story "
                   "(/site NAME)."),
    # what a request adds to the plan (bot.app.request_notes)
    "note_destination": ("🎯 目的地：{name}", "🎯 Destination: {name}"),
    "note_arrive": ("🚄 {time} 到达，第一天从那时开始。", "🚄 Arriving at {time}; day 1 starts then."),
    "note_origin_chosen": ("🚄 从{city}过来：我按{hub}到达来规划"
                           "（离目的地最近，这是我的选择，不是唯一的走法；在别处下车就告诉我）。",
                           "🚄 Coming from {city}: I plan from {hub}, the arrival nearest your destination (my "
                           "choice, not the only way; tell me if you arrive elsewhere)."),
    "note_period": ("📅 你说的是「{name}」：我按 {date} 出发规划，告诉我具体日期会更准确。",
                    "📅 You said “{name}”: I plan from {date}; tell me the exact day for a better plan."),
    "note_driving": ("🚗 行程按自驾（或包车、打车）计算车程，我还不能安排火车和公交。{hints}",
                     "🚗 These plans assume driving (own car, hired car or taxi); I can't plan trains or buses yet. "
                     "{hints}"),
    "note_stations": ("附近的火车站：{stations}。", "Stations nearby: {stations}."),
    "note_party": ("👪 同行有{who}：我会把每天排得轻松一些。", "👪 Travelling with {who}: I'll keep the days easy."),
    "party_children": ("孩子", "children"),
    "party_seniors": ("老人", "seniors"),
    "ask_arrival": ("{city}不在湘赣边范围内，行程从你到达的车站或机场开始。你在哪里下车？",
                    "{city} is outside the zone; the trip starts where you arrive. Where do you get off?"),
    "ask_unlisted": ("「{name}」我不认识：我没有酒店、餐馆的信息。它在哪个城镇或车站附近？",
                     "I don't know “{name}”: I list no hotels or restaurants. Which town or station is it near?"),
    "ask_destination": ("想去哪里玩？选一个，或者直接发地名、景点名；没有特别想去的就点「随便看看」。",
                        "Where would you like to go? Pick one, type a place or site, or tap “Anywhere”."),
    "dest_any": ("🌏 随便看看", "🌏 Anywhere"),
    "dest_bad": ("没找到「{name}」，请换个说法，或者选一个。",
                 "I couldn't find “{name}”; try another name, or pick one."),
    # errors
    "sorry": ("😔 抱歉，出了点问题，请再试一次。", "😔 Sorry, something went wrong. Please try again."),
    "unknown_command": ("没有这个命令。", "I don't know that command."),
}


def t(lang: str, key: str, **values) -> str:
    zh, en = TEXTS[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text
