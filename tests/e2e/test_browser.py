"""End to end in headless Chromium (Debian's /usr/bin/chromium) against `python -m web` (waitress) on loopback.

The test database is built from the real data/ (it needs 长沙南站). Every request that is not to the test
server is aborted, so the maps run exactly as they would with no network: no tiles, markers and routes only.
Set HONGTU_SCREENSHOT=docs/screenshot.png to keep a screenshot of the planner page with an itinerary.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from icalendar import Calendar

from planner import db as sitedb
from web import accounts

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]
XSS = "<img src=x onerror=alert(1)>"
XSS_ID = "e2e-markup-name"
CURATOR, PASSWORD = "e2e-curator", "e2e password 12345"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                                                     "(apt-get install chromium; test.sh does this)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    path = tmp / "sites.db"
    sitedb.build(path, REPO / "data")
    db = sitedb.connect(path)
    # A name that validation would refuse, written straight into the table.
    row = dict(next(db["sites"].rows_where("hidden = 0", order_by="id", limit=1)))
    row.update(id=XSS_ID, name_zh=XSS, name_en=XSS, search_text="markup name test",
               summary_zh=f"摘要 {XSS}", summary_en=f"Summary {XSS}", lat=row["lat"] + 0.03, lon=row["lon"] + 0.03)
    db["sites"].insert(row)
    accounts.add_curator(db, CURATOR, PASSWORD)
    db.conn.close()
    port = _free_port()
    env = {**os.environ, "HONGTU_SECRET_KEY": "e2e-secret", "HONGTU_PLAN_TIME_LIMIT": "1.0"}
    env.pop("HONGTU_TILE_URL", None)  # the default OpenStreetMap tiles, unreachable here by design
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "web", "--db", str(path), "--host", "127.0.0.1", "--port", str(port),
                             "--threads", "8", "--plan-workers", "2"], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/api/sites?per_page=1", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("the server did not start:\n" + (tmp / "server.log").read_text())
        time.sleep(0.2)
    yield {"base": base, "db": path, "site_row": row}
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watch:
    """Dialogs, page errors and CSP violations seen by a page."""

    def __init__(self, page):
        self.dialogs, self.errors = [], []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if "Content Security Policy" in m.text else None)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def new_page(browser, server, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN", accept_downloads=True,
                                  **options)
    base = server["base"]
    # No network but the test server: tiles (and anything else) fail as they would offline.
    context.route(re.compile(r"^(?!" + re.escape(base) + r"/).*"), lambda route: route.abort())
    context.set_default_timeout(30_000)
    page = context.new_page()
    return context, page, Watch(page)


def map_numbers(page) -> list[str]:
    """The stop numbers on the map: pins for precise stops, labelled dashed circles for approximate ones."""
    pins = page.locator("#itinerary-map .stop-marker").all_inner_texts()
    circles = page.locator("#itinerary-map .approx-number").all_inner_texts()
    return sorted((n.strip() for n in pins + circles), key=int)


@pytest.fixture(scope="module")
def planned(browser, server):
    """Plan a 2-day trip from 长沙南站 through the form, as a traveller would."""
    context, page, watch = new_page(browser, server)
    page.goto(server["base"] + "/")
    page.fill("#from", "长沙南站")
    page.fill("#days", "2")
    # Pick a must-see on the map (from the keyboard: at this zoom the markers overlap).
    option = page.locator("#must option").first
    must_id, must_name = option.get_attribute("value"), option.inner_text()
    page.locator(f'#planner-map .leaflet-marker-icon[title="{must_name}"]').focus()
    page.keyboard.press("Enter")
    assert page.eval_on_selector("#must", "s => Array.from(s.selectedOptions).map(o => o.value)") == [must_id]
    assert must_name in page.inner_text("#must-chosen")
    page.click("#plan-submit")
    page.wait_for_url(re.compile(r"/p/[A-Za-z0-9_-]+$"), timeout=60_000)
    page.wait_for_selector("path.day-route-2")
    result = {
        "url": page.url,
        "share_url": page.input_value("#share-url"),
        "itinerary": page.inner_text("#itinerary"),
        "stops": page.locator("#itinerary .stop").count(),
        "markers": map_numbers(page),
        "approximate": (page.locator("#itinerary .stop.approximate").count(),
                        page.locator("#itinerary-map .approx-number").count(),
                        page.locator("#itinerary-map path.approx-area").count()),
        "routes": page.locator("#itinerary-map path.day-route").count(),
        "route_classes": [page.locator(f"path.day-route-{d}").count() for d in (1, 2, 3)],
        "days": page.locator("#itinerary section.day").count(),
        "must": (must_id, must_name, page.locator(f'#itinerary .stop[data-site="{must_id}"]').count(),
                 page.locator(".error-box", has_text=must_name).count()),
        "errors": watch.errors,
        "dialogs": watch.dialogs,
    }
    screenshot = os.environ.get("HONGTU_SCREENSHOT")
    if screenshot:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.wait_for_timeout(300)
        page.screenshot(path=screenshot)
    context.close()
    return result


def test_plan_two_days_from_changsha_south_shows_markers_routes_and_itinerary(planned):
    assert planned["days"] == 2
    assert planned["stops"] >= 2
    assert planned["markers"] == [str(n) for n in range(1, planned["stops"] + 1)]  # numbered 1..N in order
    listed, labelled, circles = planned["approximate"]
    assert listed == labelled == circles  # every approximate stop is a dashed circle, not an exact pin
    assert planned["routes"] == 2 and planned["route_classes"] == [1, 1, 0]  # one polyline per day
    assert "长沙南站" in planned["itinerary"] and "第 2 天" in planned["itinerary"]
    must_id, must_name, visits, reported = planned["must"]
    assert visits == 1 or reported == 1  # the must-see picked on the map is visited, or said not to fit
    assert not planned["errors"] and not planned["dialogs"]


def test_the_shared_link_opens_the_same_itinerary_in_a_new_context(browser, server, planned):
    assert planned["share_url"] == planned["url"]
    context, page, watch = new_page(browser, server)  # no cookies, no session: a different person
    page.goto(planned["share_url"])
    page.wait_for_selector("path.day-route-2")
    assert page.inner_text("#itinerary") == planned["itinerary"]
    assert map_numbers(page) == planned["markers"]
    assert not watch.errors
    context.close()


def test_the_calendar_download_parses_with_icalendar(browser, server, planned):
    context, page, _ = new_page(browser, server)
    page.goto(planned["share_url"])
    with page.expect_download() as info:
        page.click("#download-ics")
    download = info.value
    assert download.suggested_filename.endswith(".ics")
    calendar = Calendar.from_ical(Path(download.path()).read_bytes())
    events = [e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) != "午餐"]  # visits, not lunch breaks
    assert len(events) == planned["stops"]
    for event in events:
        assert event.get("SUMMARY") and event.get("LOCATION") and event.get("DESCRIPTION")
        assert event.decoded("DTSTART") < event.decoded("DTEND")
    context.close()


def test_a_curator_adds_a_site_by_clicking_the_map_and_it_appears_on_the_public_map(browser, server):
    context, page, watch = new_page(browser, server)
    base = server["base"]
    page.goto(base + "/curator/sites/new")
    assert "/curator/login" in page.url  # not reachable without logging in
    page.fill("#name", CURATOR)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/curator/sites/new$"))
    page.fill("#field-id", "e2e-map-click-hall")
    page.fill("#field-name_zh", "地图点击纪念馆")
    page.fill("#field-name_en", "Map Click Memorial Hall")
    page.select_option("#field-county_adcode", "360881")
    page.check("input[name=themes][value=red-army]")
    page.fill("#field-coord_source", "e2e: a map click")
    for field, value in (("summary_zh", "端到端测试。"), ("summary_en", "End-to-end test."),
                         ("history_zh", "测试历史。"), ("history_en", "Test history."),
                         ("sources", "http://example.com/e2e")):
        page.fill(f"#field-{field}", value)
    page.wait_for_selector("#pick-map.map-ready")
    box = page.locator("#pick-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.55)
    lat, lon = float(page.input_value("#field-lat")), float(page.input_value("#field-lon"))
    assert 24.7 <= lat <= 29.6 and 112.5 <= lon <= 115.1
    page.click("#save-site")
    page.wait_for_url(re.compile(r"/curator/sites/e2e-map-click-hall/edit$"))
    assert "e2e-map-click-hall" in page.inner_text(".flash")

    public, public_page, _ = new_page(browser, server)  # a traveller, not logged in
    public_page.goto(base + "/sites")
    marker = public_page.locator('#sites-map .leaflet-marker-icon[title="地图点击纪念馆"]')
    marker.wait_for()
    assert marker.is_visible()
    marker.focus()  # markers overlap at this zoom: open its popup from the keyboard
    public_page.keyboard.press("Enter")
    assert "地图点击纪念馆" in public_page.inner_text(".leaflet-popup-content")
    site = public_page.request.get(base + "/api/sites/e2e-map-click-hall").json()
    assert abs(site["lat"] - lat) < 1e-5 and abs(site["lon"] - lon) < 1e-5
    assert not watch.errors
    public.close()
    context.close()


def test_a_markup_name_renders_as_text_and_runs_nothing(browser, server):
    context, page, watch = new_page(browser, server)
    base = server["base"]
    page.goto(f"{base}/sites/{XSS_ID}")
    assert page.inner_text("#site-name") == XSS
    assert page.locator("img[src='x']").count() == 0
    marker = page.locator("#sites-map .leaflet-marker-icon").first
    marker.click()
    assert XSS in page.inner_text(".leaflet-popup-content")
    page.goto(f"{base}/sites?county={server['site_row']['county_adcode']}")
    assert XSS in page.inner_text("#site-list")
    page.locator(f'#sites-map .leaflet-marker-icon[title="{XSS}"]').focus()
    page.keyboard.press("Enter")
    assert XSS in page.inner_text(".leaflet-popup-content")
    page.goto(base + "/")
    assert page.locator("#must option", has_text=XSS).count() == 1
    page.goto(f"{base}/sites?lang=en&q=markup")
    page.wait_for_timeout(500)
    assert page.locator("img[src='x']").count() == 0
    assert watch.dialogs == [] and not watch.errors
    context.close()
