"""Chinese and English. The language comes from ?lang= (remembered in the session), else Accept-Language.

Templates call `t("key", name=...)` for interface text and `L(record, "name")` for a record's name_zh/name_en.
"""

from __future__ import annotations

from flask import Flask, g, request, session

from planner.sitedata import CATEGORIES, DESIGNATIONS, THEMES

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

STRINGS: dict[str, tuple[str, str]] = {
    # layout
    "site_title": ("红途", "Hongtu"),
    "tagline": ("湘赣边红色文化与生态旅游行程规划",
                "Red-culture and ecological trips in the Hunan–Jiangxi border zone"),
    "nav_plan": ("规划行程", "Plan a trip"),
    "nav_sites": ("景点", "Sites"),
    "nav_curator": ("管理", "Curators"),
    "nav_api": ("API", "API"),
    "other_lang": ("English", "中文"),
    "footer": ("景点资料来自公开来源，出行前请再次核实开放时间与门票。",
               "Site facts come from public sources; check opening hours and tickets before you go."),
    "map_label": ("地图", "Map"),
    "skip_to_content": ("跳到正文", "Skip to content"),
    "colon": ("：", ": "),
    # planner form
    "plan_heading": ("规划你的行程", "Plan your trip"),
    "origin": ("出发地", "Start from"),
    "origin_hint": ("车站、机场、城镇、景点，或“纬度,经度”", "A station, airport, town, site, or 'lat,lon'"),
    "end": ("结束地", "End at"),
    "end_hint": ("留空则回到出发地", "Leave empty to return to the start"),
    "start_date": ("出发日期", "Start date"),
    "days": ("天数", "Days"),
    "interests": ("兴趣", "Interests"),
    "interest_red": ("红色文化", "Red culture"),
    "interest_eco": ("生态风光", "Nature"),
    "themes": ("主题（可选）", "Themes (optional)"),
    "pace": ("节奏", "Pace"),
    "pace_relaxed": ("轻松", "Relaxed"),
    "pace_normal": ("适中", "Normal"),
    "pace_packed": ("紧凑", "Packed"),
    "must": ("必去景点", "Must-see sites"),
    "must_hint": ("在列表中选择，或点击地图上的景点", "Pick from the list, or click a site on the map"),
    "avoid": ("不去的景点", "Sites to skip"),
    "plan_submit": ("生成行程", "Plan my trip"),
    "planning": ("正在规划……", "Planning…"),
    "selected_must": ("已选必去：", "Must-see chosen: "),
    "none_selected": ("无", "none"),
    "destination": ("目的地（可选）", "Destination (optional)"),
    "destination_hint": ("想重点去的地方：城镇、景区、景点或主题，例如 井冈山、武功山、炎陵",
                         "Where the trip should focus: a town, scenic area, site or theme, e.g. Jinggangshan"),
    "party": ("同行人员", "Who is travelling"),
    "party_children": ("带儿童", "With children"),
    "party_seniors": ("有老人", "With seniors"),
    "party_no-car": ("没有车（乘火车、汽车）", "No car (train and bus)"),
    "arrive_at": ("第一天到达时间（可选）", "Arrival time on day 1 (optional)"),
    "arrive_at_hint": ("例如火车或航班到达出发地的时间", "e.g. when your train or flight arrives at the start"),
    "pinned": ("已指定日期的景点（取消勾选即不再固定）", "Sites pinned to a day (untick to unpin)"),
    "pinned_item": ("{name} · 第 {n} 天", "{name} · day {n}"),
    "only_must": ("只去必去景点，不另加景点", "Visit only the must-see sites, add no others"),
    # itinerary
    "itinerary_heading": ("你的行程", "Your itinerary"),
    "itinerary_from": ("从 {origin} 出发，{days} 天", "{days} days from {origin}"),
    "destination_line": ("目的地：{name}", "Destination: {name}"),
    "party_line": ("同行：{who}", "Travelling: {who}"),
    "driving_note": ("注意：路程时间按自驾估算。没有车时请改乘火车、班车或包车，路上时间会更长，每天可去的景点会更少。",
                     "Note: travel times are for driving. Without a car, take trains, buses or a hired car; "
                     "journeys take longer and fewer sites fit in a day."),
    "lunch": ("午餐 {start}–{end}", "Lunch {start}–{end}"),
    "lunch_near": ("（{place}）", " ({place})"),
    "sunset": ("日落 {time}", "sunset {time}"),
    "approximate": ("大致位置（误差可达约 {km} 公里）", "approximate location (may be off by about {km} km)"),
    "approximate_short": ("大致位置", "approximate location"),
    "approximate_nav": ("位置为估计，导航按名称搜索", "The point is an estimate: navigation searches by name"),
    "in_area_ticket": ("含在{area}门票内", "included in the {area} ticket"),
    "tickets_heading": ("门票", "Tickets"),
    "tickets_total": ("门票合计约 {price} 元（每人）", "Tickets total about CNY {price} per person"),
    "tickets_total_free": ("已知票价的景点均免费", "Every site with a known price is free"),
    "tickets_unknown": ("票价未知（未计入合计）", "Price not known (not in the total)"),
    "area_ticket_line": ("{area}：一票通用，{price} 元（景区内各景点只买一次）",
                         "{area}: one ticket for all its sites, CNY {price} (bought once)"),
    "site_ticket_line": ("{name}：{price} 元", "{name}: CNY {price}"),
    "area_transport": ("{area}景区内交通", "Getting around {area}"),
    "change_heading": ("修改这份行程", "Change this plan"),
    "change_hint": ("修改后重新规划：其余景点保留在原来那天，随机种子不变。",
                    "The plan is made again keeping every other stop on its day, with the same seed."),
    "drop": ("删除", "Drop"),
    "drop_title": ("不去这里，其余不变，也不补别的景点", "Skip this stop; keep the rest, add nothing else"),
    "swap": ("换一个", "Swap"),
    "swap_title": ("不去这里，让规划器换一个景点", "Skip this stop and let the planner pick another"),
    "pin_to": ("固定到", "Pin to"),
    "pin_submit": ("固定", "Pin"),
    "add_day": ("加一天", "Add a day"),
    "edit_request": ("修改条件", "Edit the request"),
    "day_option": ("第 {n} 天", "day {n}"),
    "day_n": ("第 {n} 天", "Day {n}"),
    "leave": ("出发", "Leave"),
    "drive": ("车程 {minutes} 分钟 · {km} 公里", "Drive {minutes} min · {km} km"),
    "area_bus": ("景区观光车或自驾 {minutes} 分钟 · {km} 公里", "Scenic-area bus or drive, {minutes} min · {km} km"),
    "visit": ("游览", "Visit"),
    "wait_open": ("{time} 到达，等候开门", "arrive {time}, wait for opening"),
    "overnight": ("住宿", "Overnight in"),
    "arrive_end": ("抵达", "Arrive at"),
    "share_heading": ("分享与下载", "Share and download"),
    "share_link": ("永久链接（打开即是这份行程）", "Permanent link (opens this exact itinerary)"),
    "request_link": ("按同样条件重新规划", "Plan again with the same request"),
    "download_ics": ("日历 (.ics)", "Calendar (.ics)"),
    "download_gpx": ("GPX 轨迹", "GPX route"),
    "print_page": ("打印版", "Print version"),
    "nav_amap": ("高德导航", "Amap"),
    "nav_osm": ("OpenStreetMap", "OpenStreetMap"),
    "score": ("得分", "Score"),
    "travel_times": ("车程来源", "Travel times"),
    "unreached": ("未能安排的必去景点", "Must-see sites that did not fit"),
    "no_longer_listed": ("（此景点已下架）", "(no longer listed)"),
    "empty_day": ("这一天没有安排景点（路程或开放时间不允许）。",
                  "No visits this day (distance or opening hours did not allow any)."),
    "why_it_matters": ("为何值得去", "Why it matters"),
    "new_plan": ("再规划一次", "Plan another trip"),
    "created_at": ("生成于 {at}", "Planned on {at}"),
    # sites
    "sites_heading": ("景点", "Sites"),
    "filter_county": ("县市区", "County"),
    "filter_category": ("类别", "Category"),
    "filter_theme": ("主题", "Theme"),
    "filter_designation": ("称号", "Designation"),
    "any": ("全部", "Any"),
    "search": ("搜索", "Search"),
    "search_placeholder": ("名称、拼音或英文", "Name, pinyin or English"),
    "apply_filters": ("筛选", "Filter"),
    "results_count": ("共 {n} 个景点", "{n} sites"),
    "no_results": ("没有符合条件的景点。", "No site matches."),
    "prev_page": ("上一页", "Previous"),
    "next_page": ("下一页", "Next"),
    "page_n": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "category_red": ("红色文化", "Red culture"),
    "category_eco": ("生态", "Ecological"),
    "category_both": ("红色与生态", "Red and ecological"),
    # site page
    "summary": ("简介", "Summary"),
    "history": ("历史", "History"),
    "hours": ("开放时间", "Opening hours"),
    "seasons": ("季节性时间", "Seasonal hours"),
    "season_range": ("{start} 至 {end}：{hours}", "{start} to {end}: {hours}"),
    "ticket": ("门票", "Ticket"),
    "ticket_free": ("免费", "Free"),
    "ticket_unknown": ("未知", "Unknown"),
    "ticket_price": ("{price} 元", "CNY {price}"),
    "visit_length": ("建议游览 {minutes} 分钟", "Allow {minutes} minutes"),
    "designations": ("称号", "Designations"),
    "sources": ("资料来源", "Sources"),
    "sources_unpublished": ("资料来源为非网页资料，由管理员保存。",
                            "The sources are not web pages; curators keep them."),
    "coordinates": ("坐标 (WGS-84)", "Coordinates (WGS-84)"),
    "precision": ("精度约 {m} 米", "accurate to about {m} m"),
    "last_verified": ("最近核实", "Last checked"),
    "unverified": ("待核实", "Not yet confirmed"),
    "importance": ("重要度", "Importance"),
    "add_to_plan": ("加入行程（必去）", "Plan a trip with this site"),
    "county": ("所在县市区", "County"),
    "navigate": ("导航", "Navigate"),
    "closed": ("闭馆", "closed"),
    "always_open": ("全天开放", "always open"),
    # curator
    "login_heading": ("管理员登录", "Curator login"),
    "username": ("用户名", "Name"),
    "password": ("密码", "Password"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "login_failed": ("用户名或密码错误。", "Wrong name or password."),
    "login_locked": ("登录失败次数过多，请 {seconds} 秒后再试。",
                     "Too many failed logins; try again in {seconds} seconds."),
    "login_required": ("请先登录。", "Please log in first."),
    "logged_in_as": ("已登录：{name}", "Logged in as {name}"),
    "curator_heading": ("景点管理", "Manage sites"),
    "add_site": ("新增景点", "Add a site"),
    "edit_site": ("编辑景点", "Edit site"),
    "edit": ("编辑", "Edit"),
    "hide": ("下架", "Hide"),
    "restore": ("恢复", "Restore"),
    "hidden_label": ("已下架", "hidden"),
    "audit": ("修改记录", "Change history"),
    "audit_heading": ("修改记录：{name}", "Change history: {name}"),
    "audit_none": ("暂无记录。", "No changes recorded."),
    "audit_at": ("时间", "When"),
    "audit_author": ("修改人", "Who"),
    "audit_action": ("操作", "Action"),
    "audit_changes": ("改动", "Changes"),
    "audit_field": ("字段", "Field"),
    "audit_before": ("之前", "Before"),
    "audit_after": ("之后", "After"),
    "import": ("批量导入", "Import"),
    "import_heading": ("导入 CSV 或 JSON", "Import a CSV or JSON file"),
    "import_hint": ("格式与 `hongtu sites export` 相同。整个文件有效才会写入；编号已存在的景点会被更新。",
                    "Same format as `hongtu sites export`. Nothing is written unless the whole file is valid; "
                    "an existing id is updated."),
    "import_file": ("文件", "File"),
    "import_submit": ("导入", "Import"),
    "import_done": ("已导入：新增 {added}，更新 {updated}，未变 {unchanged}。",
                    "Imported: {added} added, {updated} updated, {unchanged} unchanged."),
    "import_failed": ("未导入任何内容：{n} 行有误。", "Nothing imported: {n} bad row(s)."),
    "import_no_file": ("请选择一个 .csv 或 .json 文件。", "Choose a .csv or .json file."),
    "import_encoding": ("文件须为 UTF-8 编码。", "The file must be UTF-8 text."),
    "row": ("行", "Row"),
    "field": ("字段", "Field"),
    "problem": ("问题", "Problem"),
    "save": ("保存", "Save"),
    "saved": ("已保存 {id}（版本 {version}）。", "Saved {id} (version {version})."),
    "added": ("已新增 {id}。", "Added {id}."),
    "hidden_done": ("{id} 已下架。", "{id} is now hidden."),
    "restored_done": ("{id} 已恢复。", "{id} is visible again."),
    "click_map_hint": ("点击地图设置坐标（WGS-84）。", "Click the map to set the coordinates (WGS-84)."),
    "curator_search": ("查找景点", "Find a site"),
    "version": ("版本", "Version"),
    "list_hint": ("多个值用 ; 分隔", "separate several values with ;"),
    "sources_hint": ("每行一个网址，或 JSON 列表", "one URL per line, or a JSON list"),
    "seasons_hint": ('JSON，例如 [{"from": "11-16", "to": "02-28", "hours": "daily 08:00-17:00"}]',
                     'JSON, e.g. [{"from": "11-16", "to": "02-28", "hours": "daily 08:00-17:00"}]'),
    "hours_hint": ("例如 daily 08:00-17:30 或 tue-sun 09:00-17:00", "e.g. daily 08:00-17:30 or tue-sun 09:00-17:00"),
    "form_error": ("未保存：{message}", "Not saved: {message}"),
    "all_sites": ("全部景点（含已下架）", "All sites (hidden included)"),
    # errors
    "error_heading": ("出错了", "Something is wrong"),
    "not_found": ("找不到这个页面。", "There is no such page."),
    "plan_not_found": ("找不到这份行程。", "There is no such itinerary."),
    "site_not_found": ("找不到这个景点。", "There is no such site."),
    "bad_request": ("请求有误。", "Bad request."),
    "csrf_failed": ("表单已过期或无效，请返回刷新后重试。",
                    "The form expired or is invalid; go back, reload and try again."),
    "too_large": ("上传内容太大（最多 2 MB）。", "The upload is too large (at most 2 MB)."),
    "method_not_allowed": ("不支持这种请求方式。", "That request method is not allowed here."),
    "server_error": ("服务器出错了，请稍后再试。", "The server failed; please try again later."),
    "back_home": ("返回首页", "Back to the planner"),
}

FIELD_LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "Id"), "name_zh": ("中文名", "Chinese name"), "name_en": ("英文名", "English name"),
    "aliases": ("别名", "Other names"), "category": ("类别", "Category"), "themes": ("主题", "Themes"),
    "county_adcode": ("县市区", "County"), "lat": ("纬度", "Latitude"), "lon": ("经度", "Longitude"),
    "coord_precision_m": ("坐标精度（米）", "Coordinate precision (m)"),
    "coord_source": ("坐标来源", "Coordinate source"), "visit_minutes": ("游览时长（分钟）", "Visit (minutes)"),
    "hours": ("开放时间", "Opening hours"), "seasons": ("季节性时间", "Seasonal hours"),
    "ticket_cny": ("门票（元，0 为免费，空为未知）", "Ticket (CNY; 0 = free, empty = unknown)"),
    "ticket_note": ("门票说明", "Ticket note"), "designations": ("称号", "Designations"),
    "summary_zh": ("中文简介", "Summary (Chinese)"), "summary_en": ("英文简介", "Summary (English)"),
    "history_zh": ("中文历史", "History (Chinese)"), "history_en": ("英文历史", "History (English)"),
    "sources": ("资料来源", "Sources"), "unverified": ("待核实项", "Not yet confirmed"),
    "last_verified": ("最近核实日期", "Last checked (YYYY-MM-DD)"), "version": ("版本", "Version"),
    "origin": ("出发地", "Start from"), "end": ("结束地", "End at"), "days": ("天数", "Days"),
    "start_date": ("出发日期", "Start date"), "interests": ("兴趣", "Interests"), "pace": ("节奏", "Pace"),
    "must": ("必去景点", "Must-see sites"), "avoid": ("不去的景点", "Sites to skip"),
    "time_limit": ("求解时限", "Time limit"), "file": ("文件", "File"), "hidden": ("下架", "Hidden"),
    "destination": ("目的地", "Destination"), "party": ("同行人员", "Who is travelling"),
    "arrive_at": ("到达时间", "Arrival time"), "pin": ("指定日期", "Pinned days"), "seed": ("随机种子", "Seed"),
    "only_must": ("只去必去景点", "Only the must-sees"), "action": ("操作", "Change"), "day": ("日期", "Day"),
    "site": ("景点", "Site"),
    "importance": ("重要度", "Importance"), "importance_basis": ("重要度依据", "Importance basis"),
}


def init_app(app: Flask) -> None:
    app.before_request(_choose_language)
    app.jinja_env.globals.update(t=t, L=L, lang=current_lang, theme_label=theme_label,
                                 designation_label=designation_label, category_label=category_label,
                                 field_label=field_label, LANGS=LANGS)


def _choose_language() -> None:
    asked = request.args.get("lang")
    if asked in LANGS:
        if session.get("lang") != asked:
            session["lang"] = asked
        g.lang = asked
        return
    remembered = session.get("lang")
    if remembered in LANGS:
        g.lang = remembered
        return
    g.lang = request.accept_languages.best_match(LANGS, default=DEFAULT_LANG)


def current_lang() -> str:
    try:
        return g.get("lang", DEFAULT_LANG)
    except RuntimeError:  # outside a request
        return DEFAULT_LANG


def t(key: str, **values) -> str:
    zh, en = STRINGS[key]
    text = zh if current_lang() == "zh" else en
    return text.format(**values) if values else text


def L(record: dict | None, base: str) -> str:  # noqa: N802 - short on purpose, used all over the templates
    """record[base_zh] or record[base_en] by language, falling back to the other one."""
    if not record:
        return ""
    first, second = ("zh", "en") if current_lang() == "zh" else ("en", "zh")
    return record.get(f"{base}_{first}") or record.get(f"{base}_{second}") or ""


def _pick(pair: tuple) -> str:
    return pair[0] if current_lang() == "zh" else pair[1]


def theme_label(key: str) -> str:
    return _pick(THEMES[key]) if key in THEMES else key


def designation_label(key: str) -> str:
    return _pick(DESIGNATIONS[key][:2]) if key in DESIGNATIONS else key


def category_label(key: str) -> str:
    return t(f"category_{key}") if key in CATEGORIES else key


def field_label(key: str) -> str:
    return _pick(FIELD_LABELS[key]) if key in FIELD_LABELS else key


def error_message(error) -> str:
    """An InputError as one line in the current language, naming the field."""
    text = error.zh if current_lang() == "zh" else error.en
    where = field_label(error.field)
    if error.row is not None:
        where = f"第 {error.row} 行，{where}" if current_lang() == "zh" else f"row {error.row}, {where}"
    return f"{where}：{text}" if current_lang() == "zh" else f"{where}: {text}"
