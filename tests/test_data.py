"""The shipped data: sites.db is exactly what data/ builds, and it meets the content bar."""

import csv
import re
import shutil

import pytest

from planner import db as sitedb
from planner.geo import to_wgs84
from planner.validate import validate_database


def test_committed_database_equals_a_fresh_build(tmp_path):
    fresh = tmp_path / "fresh.db"
    sitedb.build(fresh)
    committed = tmp_path / "committed.db"  # a copy, so that opening it cannot touch the repository's file
    shutil.copy(sitedb.DEFAULT_DB, committed)
    # Only the built tables: running the web app adds its own (accounts, shared plans) to a local copy.
    fresh_rows = sitedb.dump(sitedb.connect(fresh), sitedb.BUILT_TABLES)
    assert len(fresh_rows) > 150
    assert sitedb.dump(sitedb.connect(committed), sitedb.BUILT_TABLES) == fresh_rows, (
        "sites.db is stale: run `hongtu db build` and commit it")


def test_shipped_sites_validate_and_cover_the_zone(tmp_path):
    copy = tmp_path / "sites.db"
    shutil.copy(sitedb.DEFAULT_DB, copy)
    problems, counts = validate_database(sitedb.connect(copy))
    assert problems == []
    assert counts["sites"] >= 150
    assert counts["red_culture"] >= 70 and counts["ecological"] >= 50
    assert len(counts["per_county"]) == 24
    assert all(sum(c.values()) >= 3 for c in counts["per_county"].values())


def test_every_estimated_point_says_so(tmp_path):
    copy = tmp_path / "sites.db"
    shutil.copy(sitedb.DEFAULT_DB, copy)
    for site in sitedb.list_sites(sitedb.connect(copy), include_hidden=True):
        if site["coord_source"].lower().startswith("estimate"):
            assert "coords" in site["unverified"], site["id"]
            assert site["coord_precision_m"] >= 500, site["id"]


def _shipped(tmp_path):
    copy = tmp_path / "sites.db"
    shutil.copy(sitedb.DEFAULT_DB, copy)
    return sitedb.connect(copy)


def test_township_points_are_the_rows_they_cite(tmp_path):
    """A site placed at a township says which row of data/townships.csv it uses, and sits exactly there."""
    with open(sitedb.DATA_DIR / "townships.csv", encoding="utf-8") as f:
        rows = {r["code"]: r for r in csv.DictReader(f)}
    placed, radius = 0, {}
    for site in sitedb.list_sites(_shipped(tmp_path), include_hidden=True):
        cited = re.search(r"row (\d{12}) in data/townships\.csv", site["coord_source"])
        if not cited:
            continue
        row = rows[cited.group(1)]
        assert row["county_adcode"] == str(site["county_adcode"]), site["id"]
        lat, lon = to_wgs84(float(row["lat"]), float(row["lon"]), row["system"])
        assert (site["lat"], site["lon"]) == (pytest.approx(lat, abs=1e-5), pytest.approx(lon, abs=1e-5)), site["id"]
        assert 1000 <= site["coord_precision_m"] <= 5000 and "coords" in site["unverified"], site["id"]
        placed += 1
        radius[row["code"]] = min(radius.get(row["code"], 10**9), site["coord_precision_m"])
    assert placed >= 50
    # Where GeoNames knows the same place, the two independent sources agree within every stated radius.
    for code, row in rows.items():
        if row["geonames_km"]:
            assert float(row["geonames_km"]) * 1000 <= radius[code], row["name_zh"]


def test_published_itineraries_drive_guide_mentions(tmp_path):
    itineraries = sitedb.load_itineraries()
    assert len(itineraries) >= 10
    assert all(any(day["sites"] for day in t["days"]) and t["url"] for t in itineraries)
    db = _shipped(tmp_path)
    for site_id in ("jinggangshan-geming-bowuguan", "jinggangshan-lieshi-lingyuan"):
        expected = sum(any(site_id in day["sites"] for day in t["days"]) for t in itineraries)
        site = sitedb.get_site(db, site_id)
        assert site["guide_mentions"] == expected >= 5
        assert "published itineraries" in site["importance_basis"]
