"""The site database library: build, migrations, reads, writes, audit, validation, concurrency."""

import json
import multiprocessing
import sqlite3

import pytest

from planner import db as sitedb
from planner.errors import InputError
from planner.validate import validate_database
from tests.conftest import MINI_DATA

NEW_SITE = {
    "id": "jinggangshan-test-site", "name_zh": "测试纪念馆", "name_en": "Test Memorial Hall",
    "category": "red", "themes": ["red-army"], "county_adcode": 360881, "lat": 26.58, "lon": 114.17,
    "coord_precision_m": 500, "coord_source": "test", "visit_minutes": 45, "hours": "tue-sun 09:00-17:00",
    "summary_zh": "测试。", "summary_en": "A test.", "history_zh": "测试历史。", "history_en": "Test history.",
    "sources": ["http://example.com/test"],
}


def test_build_converts_gcj02_and_derives_importance(mini_db):
    site = sitedb.get_site(mini_db, "jinggangshan-huangyangjie")
    # The fixture gives the Amap (GCJ-02) point 26.620297, 114.121860; WGS-84 lies ~500 m away.
    assert site["lat"] == pytest.approx(26.623541, abs=1e-6)
    assert site["lon"] == pytest.approx(114.11647, abs=1e-6)
    assert site["coord_source"].endswith("[gcj02]")
    assert site["importance"] == 80
    assert site["importance_basis"] == "20 base + 35 red-classic + 25 national-heritage = 80"


def test_build_is_reproducible(tmp_path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    sitedb.build(a, MINI_DATA)
    sitedb.build(b, MINI_DATA)
    assert sitedb.dump(sitedb.connect(a)) == sitedb.dump(sitedb.connect(b))


def test_build_refuses_bad_data_and_leaves_no_database(tmp_path):
    data = tmp_path / "data"
    (data / "sites").mkdir(parents=True)
    (data / "counties.csv").write_text((MINI_DATA / "counties.csv").read_text())
    bad = (MINI_DATA / "sites" / "360881.yaml").read_text().replace("daily 08:00-17:30", "daily 25:00-26:00", 1)
    (data / "sites" / "360881.yaml").write_text(bad)
    with pytest.raises(InputError, match="jinggangshan-huangyangjie: hours"):
        sitedb.build(tmp_path / "x.db", data)
    assert not (tmp_path / "x.db").exists()


def test_counties_are_stored_in_wgs84(mini_db):
    liuyang = mini_db["counties"].get(430181)
    # counties.csv holds the GCJ-02 point 28.162833, 113.643076.
    assert (liuyang["lat"], liuyang["lon"]) != (28.162833, 113.643076)
    assert liuyang["lat"] == pytest.approx(28.162833 + 0.0033, abs=0.002)
    assert mini_db["counties"].count == 24


@pytest.mark.parametrize("query", ["黄洋界", "Huangyangjie", "huang yang jie", "HUANGYANGJIE sentry", "哨口"])
def test_search_finds_by_chinese_english_and_pinyin(mini_db, query):
    assert [s["id"] for s in sitedb.search_sites(mini_db, query)][:1] == ["jinggangshan-huangyangjie"]


@pytest.mark.parametrize("query", ["", "***", '"', "a' OR 1=1 --", "NEAR(", "黄洋界\"); drop table sites; --"])
def test_search_never_breaks_on_odd_queries(mini_db, query):
    assert isinstance(sitedb.search_sites(mini_db, query), list)
    assert mini_db["sites"].count == 3


def test_hidden_sites_are_not_listed_or_found(mini_db):
    sitedb.set_hidden(mini_db, "jinggangshan-longtan", True, "tester")
    assert "jinggangshan-longtan" not in [s["id"] for s in sitedb.list_sites(mini_db)]
    assert sitedb.search_sites(mini_db, "龙潭") == []
    assert sitedb.get_site(mini_db, "jinggangshan-longtan", include_hidden=False) is None
    assert sitedb.search_sites(mini_db, "龙潭", include_hidden=True)[0]["hidden"] is True


def test_filters(mini_db):
    assert [s["id"] for s in sitedb.list_sites(mini_db, category="eco")] == ["jinggangshan-longtan"]
    assert len(sitedb.list_sites(mini_db, category="red")) == 2
    assert [s["id"] for s in sitedb.list_sites(mini_db, theme="waterfall")] == ["jinggangshan-longtan"]
    assert [s["id"] for s in sitedb.list_sites(mini_db, designation="patriotic-base-national")] == [
        "jinggangshan-museum"]
    assert sitedb.list_sites(mini_db, county=430181) == []


def test_every_write_is_audited_with_before_and_after(mini_db):
    sitedb.add_site(mini_db, NEW_SITE, "alice")
    sitedb.update_site(mini_db, NEW_SITE["id"], {"visit_minutes": 60}, "bob")
    sitedb.set_hidden(mini_db, NEW_SITE["id"], True, "carol")
    log = sitedb.audit_log(mini_db, NEW_SITE["id"])
    assert [(e["author"], e["action"]) for e in log] == [("alice", "add"), ("bob", "edit"), ("carol", "edit")]
    assert log[0]["before"] is None and log[0]["after"]["visit_minutes"] == 45
    assert log[1]["before"]["visit_minutes"] == 45 and log[1]["after"]["visit_minutes"] == 60
    assert log[2]["after"]["hidden"] is True
    assert all(e["at"].endswith("+00:00") for e in log)


def test_a_stale_version_is_refused(mini_db):
    site = sitedb.get_site(mini_db, "jinggangshan-museum")
    sitedb.update_site(mini_db, site["id"], {"visit_minutes": 100}, "first", expected_version=site["version"])
    with pytest.raises(InputError) as info:
        sitedb.update_site(mini_db, site["id"], {"visit_minutes": 130}, "second", expected_version=site["version"])
    assert info.value.field == "version"
    assert sitedb.get_site(mini_db, site["id"])["visit_minutes"] == 100


BAD_EDITS = [
    ({"lat": 500}, "lat"),
    ({"lat": 40.0}, "lat"),
    ({"county_adcode": 110101}, "county_adcode"),
    ({"hours": "25:00-26:00"}, "hours"),
    ({"name_zh": ""}, "name_zh"),
    ({"name_zh": "<script>alert(1)</script>"}, "name_zh"),
    ({"name_en": "x'; DROP TABLE sites; --"}, "name_en"),
    ({"history_en": "x" * 10_000_000}, "history_en"),
    ({"category": "blue"}, "category"),
    ({"themes": ["aliens"]}, "themes"),
    ({"sources": []}, "sources"),
    ({"visit_minutes": 0}, "visit_minutes"),
    ({"ticket_cny": -5}, "ticket_cny"),
    ({"id": "jinggangshan-renamed"}, "id"),
    ({"area": "no-such-area"}, "area"),
    ({"area": "<b>x</b>"}, "area"),
]


@pytest.mark.parametrize("change,field", BAD_EDITS)
def test_bad_edits_name_the_field_and_change_nothing(mini_db, change, field):
    before = sitedb.dump(mini_db)
    with pytest.raises(InputError) as info:
        sitedb.update_site(mini_db, "jinggangshan-museum", change, "tester")
    assert info.value.field == field
    assert info.value.zh and info.value.en
    assert sitedb.dump(mini_db) == before


def test_import_is_all_or_nothing(mini_db):
    good = dict(NEW_SITE)
    bad = dict(NEW_SITE, id="jinggangshan-other", lat=500)
    before = sitedb.dump(mini_db)
    result = sitedb.import_sites(mini_db, [(2, good), (3, bad)], "importer")
    assert [(e.row, e.field) for e in result["errors"]] == [(3, "lat")]
    assert sitedb.dump(mini_db) == before


def test_import_updates_existing_ids_and_reports_counts(mini_db):
    exported = sitedb.export_sites(mini_db)
    exported[0]["visit_minutes"] = 75
    rows = [(i, s) for i, s in enumerate([*exported, NEW_SITE], 1)]
    result = sitedb.import_sites(mini_db, rows, "importer")
    assert (result["added"], result["updated"], result["unchanged"]) == (1, 1, 2)
    assert [e["action"] for e in sitedb.audit_log(mini_db)] == ["import-update", "import-add"]


def test_export_contract_fields(mini_db):
    site = sitedb.export_sites(mini_db)[0]
    for key in ("id", "name_zh", "name_en", "category", "themes", "county_adcode", "lat", "lon",
                "coord_precision_m", "visit_minutes", "hours", "seasons", "ticket_cny", "designations",
                "importance", "sources", "hidden"):
        assert key in site
    assert set(site["hours"]) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    json.dumps(site)


def test_migration_from_v1_keeps_curator_edits(tmp_path):
    path = tmp_path / "old.db"
    db = sitedb.connect(path, migrate_schema=False)
    sitedb.migrate(db, target=1)
    db["counties"].insert({"adcode": 360881, "name_zh": "井冈山市", "name_en": "Jinggangshan City",
                           "province_zh": "江西省", "prefecture_zh": "吉安市", "lat": 26.7, "lon": 114.3,
                           "coord_source": "test"})
    row = sitedb._to_row(sitedb.validate_site(NEW_SITE, {360881}))
    v1_row = {k: v for k, v in row.items() if k not in ("area", "guide_mentions")}  # columns v3 adds
    db["sites"].insert(v1_row | {"updated_by": "a curator"})
    db.conn.close()
    db = sitedb.connect(path)  # migrates on open
    assert sitedb.schema_version(db) == sitedb.SCHEMA_VERSION
    site = sitedb.get_site(db, NEW_SITE["id"])
    assert site["version"] == 1 and site["name_zh"] == "测试纪念馆"
    sitedb.update_site(db, NEW_SITE["id"], {"visit_minutes": 50}, "curator", expected_version=1)
    assert sitedb.get_site(db, NEW_SITE["id"])["version"] == 2


def test_validate_database_reports_misplaced_and_duplicate_sites(mini_db):
    problems, counts = validate_database(mini_db)
    assert problems == []
    assert counts["sites"] == 3 and counts["precise_500m"] == 2
    # Put a site in Jinggangshan's database row but at Liuyang's coordinates, bypassing the write gate.
    mini_db.execute("update sites set lat = 28.16, lon = 113.64 where id = 'jinggangshan-museum'")
    mini_db.execute("update sites set lat = (select lat from sites where id = 'jinggangshan-huangyangjie'), "
                    "lon = (select lon from sites where id = 'jinggangshan-huangyangjie'), name_zh = '黄洋界哨口旧址' "
                    "where id = 'jinggangshan-longtan'")
    problems, _ = validate_database(mini_db)
    assert any("jinggangshan-museum" in p and "from its county's centre" in p for p in problems)
    assert any("closer than 50 m" in p for p in problems)


def _add_many(args):
    path, worker = args
    db = sitedb.connect(path)
    for i in range(15):
        sitedb.add_site(db, dict(NEW_SITE, id=f"jinggangshan-w{worker}-{i}"), f"worker{worker}")
        sitedb.update_site(db, "jinggangshan-museum", {"visit_minutes": 200 + worker * 20 + i},
                           f"worker{worker}")
    return worker


def test_concurrent_writers_lose_nothing(mini_db_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert sorted(pool.map(_add_many, [(str(mini_db_path), w) for w in range(4)])) == [0, 1, 2, 3]
    db = sitedb.connect(mini_db_path)
    assert db["sites"].count == 3 + 60
    assert db["audit"].count == 120
    museum = sitedb.get_site(db, "jinggangshan-museum")
    assert museum["version"] == 61
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn = sqlite3.connect(mini_db_path)
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"


def _mini_data_with_areas(tmp_path, areas_yaml: str, area_line: str = "  area: jinggangshan\n"):
    """A copy of the mini data with an areas.yaml and `area_line` added to the Huangyangjie record."""
    data = tmp_path / "data"
    (data / "sites").mkdir(parents=True)
    (data / "counties.csv").write_text((MINI_DATA / "counties.csv").read_text())
    (data / "areas.yaml").write_text(areas_yaml)
    sites = (MINI_DATA / "sites" / "360881.yaml").read_text()
    (data / "sites" / "360881.yaml").write_text(
        sites.replace("  county_adcode: 360881\n", "  county_adcode: 360881\n" + area_line, 1))
    return data


AREAS_YAML = """
- id: jinggangshan
  name_zh: 井冈山风景名胜区
  name_en: Jinggangshan Scenic Area
  ticket_cny: 190
  transport_en: sightseeing bus from the Ciping terminus
  shuttle_sites: [jinggangshan-huangyangjie]
  sources: [{url: "http://example.com/area", facts: [ticket]}]
"""


def test_build_writes_areas_and_member_sites(tmp_path):
    data = _mini_data_with_areas(tmp_path, AREAS_YAML)
    sitedb.build(tmp_path / "a.db", data)
    db = sitedb.connect(tmp_path / "a.db")
    area = sitedb.get_area(db, "jinggangshan")
    assert area["ticket_cny"] == 190 and area["name_en"] == "Jinggangshan Scenic Area"
    assert area["sites"] == ["jinggangshan-huangyangjie"] and area["shuttle_sites"] == ["jinggangshan-huangyangjie"]
    assert [a["id"] for a in sitedb.list_areas(db)] == ["jinggangshan"]
    assert sitedb.get_site(db, "jinggangshan-huangyangjie")["area"] == "jinggangshan"
    assert sitedb.get_site(db, "jinggangshan-museum")["area"] is None
    assert sitedb.get_area(db, "nowhere") is None
    assert validate_database(db)[0] == []


@pytest.mark.parametrize("areas_yaml,area_line,message", [
    (AREAS_YAML, "  area: wugongshan\n", "jinggangshan-huangyangjie: area"),
    (AREAS_YAML.replace("[jinggangshan-huangyangjie]", "[jinggangshan-nowhere]"), "", "no site jinggangshan-nowhere"),
    (AREAS_YAML.replace("ticket_cny: 190", "ticket_cny: -1"), "", "ticket_cny"),
    (AREAS_YAML + AREAS_YAML, "", "duplicate id jinggangshan"),
])
def test_build_refuses_bad_area_references(tmp_path, areas_yaml, area_line, message):
    data = _mini_data_with_areas(tmp_path, areas_yaml, area_line)
    with pytest.raises(InputError, match=message):
        sitedb.build(tmp_path / "x.db", data)
    assert not (tmp_path / "x.db").exists()


def test_validate_database_reports_an_unknown_area(mini_db):
    mini_db.execute("update sites set area = 'gone' where id = 'jinggangshan-museum'")
    problems, _ = validate_database(mini_db)
    assert any(p.startswith("jinggangshan-museum: area") for p in problems)


def test_migration_to_v3_adds_areas_and_keeps_curator_edits(tmp_path):
    """A deployed v2 database gets the shipped areas and guide mentions; a curator's edit stays."""
    path = tmp_path / "deployed.db"
    db = sitedb.connect(path, migrate_schema=False)
    sitedb.migrate(db, target=2)
    db["counties"].insert({"adcode": 360881, "name_zh": "井冈山市", "name_en": "Jinggangshan City",
                           "province_zh": "江西省", "prefecture_zh": "吉安市", "lat": 26.7, "lon": 114.3,
                           "coord_source": "test"})
    shipped = sitedb.connect(sitedb.DEFAULT_DB)
    site = sitedb.get_site(shipped, "jinggangshan-huangyangjie")
    row = sitedb._to_row(sitedb.validate_site(site | {"visit_minutes": 77}, {360881}))
    db["sites"].insert({k: v for k, v in row.items() if k not in ("area", "guide_mentions")} | {"version": 3})
    db.conn.close()
    db = sitedb.connect(path)
    migrated = sitedb.get_site(db, "jinggangshan-huangyangjie")
    assert migrated["visit_minutes"] == 77 and migrated["version"] == 3
    assert migrated["area"] == "jinggangshan"
    assert migrated["guide_mentions"] == site["guide_mentions"]
    assert migrated["importance"] == site["importance"]
    assert sitedb.get_area(db, "jinggangshan")["ticket_cny"] == shipped["areas"].get("jinggangshan")["ticket_cny"]


@pytest.mark.parametrize("designations,mentions,expected", [
    (["5A"], 0, 60), (["5A"], 3, 78), ([], 8, 60), ([], 20, 60), (["5A", "red-classic", "national-heritage"], 8, 100),
])
def test_importance_adds_guide_points_with_a_cap(designations, mentions, expected):
    score, basis = sitedb.importance(designations, mentions)
    assert score == expected
    assert ("published itineraries" in basis) == bool(mentions)


def test_guide_mentions_survive_edits_and_imports(tmp_path):
    data = _mini_data_with_areas(tmp_path, AREAS_YAML)
    (data / "itineraries.yaml").write_text("""
- id: test-route
  title: test
  url: http://example.com/route
  kind: guide site
  days:
    - {sites: [jinggangshan-huangyangjie, jinggangshan-museum]}
    - {sites: [jinggangshan-museum]}
""")
    sitedb.build(tmp_path / "g.db", data)
    db = sitedb.connect(tmp_path / "g.db")
    museum = sitedb.get_site(db, "jinggangshan-museum")
    assert museum["guide_mentions"] == 1  # two days of one itinerary count once
    sitedb.update_site(db, "jinggangshan-museum", {"visit_minutes": 100, "guide_mentions": 50}, "curator")
    assert sitedb.get_site(db, "jinggangshan-museum")["importance"] == museum["importance"]
    exported = [dict(s, guide_mentions=0) for s in sitedb.export_sites(db)]
    sitedb.import_sites(db, list(enumerate(exported, 1)), "importer")
    assert sitedb.get_site(db, "jinggangshan-museum")["guide_mentions"] == 1


@pytest.mark.parametrize("itineraries,message", [
    ("- {id: a, title: t, url: u, kind: guide site, days: [{sites: [jinggangshan-nowhere]}]}",
     "no site jinggangshan-nowhere"),
    ("- {id: a, title: t, url: u, kind: rumour, days: [{sites: []}]}", "kind"),
    ("- {id: a, title: t, url: u, kind: guide site, days: []}", "days"),
    ("- {id: a, title: t, url: u, kind: guide site, days: [{sites: [], hotel: x}]}", "days"),
])
def test_build_refuses_bad_itineraries(tmp_path, itineraries, message):
    data = _mini_data_with_areas(tmp_path, AREAS_YAML)
    (data / "itineraries.yaml").write_text(itineraries)
    with pytest.raises(InputError, match=message):
        sitedb.build(tmp_path / "x.db", data)
    assert not (tmp_path / "x.db").exists()
