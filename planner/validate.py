"""Whole-database checks (`hongtu sites validate`): what no single record can tell about itself."""

from __future__ import annotations

from itertools import combinations

import sqlite_utils
from rapidfuzz import fuzz

from planner.db import area_ids, list_sites
from planner.errors import InputError
from planner.geo import haversine_m
from planner.sitedata import validate_site

# We have county centres, not boundaries, so these are generous: sites in border townships (遂川's 汤湖 and
# 营盘圩, 上犹's 五指峰) lie 25-40 km nearer a neighbour's centre than their own. They catch a point in the
# wrong county or a swapped lat/lon, not a few kilometres.
MAX_FROM_OWN_CENTRE_KM = 65
OTHER_CENTRE_MARGIN_KM = 40
NEAR_DUPLICATE_M = 50


def validate_database(db: sqlite_utils.Database) -> tuple[list[str], dict]:
    counties = {r["adcode"]: r for r in db["counties"].rows}
    sites = list_sites(db, include_hidden=True)
    areas = area_ids(db)
    problems: list[str] = []
    for site in sites:
        try:
            validate_site({k: v for k, v in site.items() if k not in ("importance", "importance_basis")},
                          set(counties), areas)
        except InputError as e:
            problems.append(f"{site['id']}: {e}")
            continue
        problems += _placement_problems(site, counties)
    for a, b in combinations(sites, 2):
        if abs(a["lat"] - b["lat"]) > 0.001 or abs(a["lon"] - b["lon"]) > 0.001:
            continue
        close = haversine_m(a["lat"], a["lon"], b["lat"], b["lon"]) < NEAR_DUPLICATE_M
        if close and fuzz.ratio(a["name_zh"], b["name_zh"]) >= 70:
            problems.append(f"{a['id']} and {b['id']}: closer than {NEAR_DUPLICATE_M} m with similar names")
    return problems, _counts(sites, counties)


def _placement_problems(site: dict, counties: dict[int, dict]) -> list[str]:
    def km(county: dict) -> float:
        return haversine_m(site["lat"], site["lon"], county["lat"], county["lon"]) / 1000

    own = km(counties[site["county_adcode"]])
    problems = []
    if own > MAX_FROM_OWN_CENTRE_KM:
        problems.append(f"{site['id']}: {own:.0f} km from its county's centre (limit {MAX_FROM_OWN_CENTRE_KM})")
    nearest = min(counties.values(), key=km)
    if nearest["adcode"] != site["county_adcode"] and own - km(nearest) > OTHER_CENTRE_MARGIN_KM:
        problems.append(f"{site['id']}: {own - km(nearest):.0f} km nearer to {nearest['name_zh']}'s centre "
                        "than to its own county's")
    return problems


def _counts(sites: list[dict], counties: dict[int, dict]) -> dict:
    per_county = {c["name_zh"]: {"red": 0, "eco": 0, "both": 0} for c in counties.values()}
    for site in sites:
        per_county[counties[site["county_adcode"]]["name_zh"]][site["category"]] += 1
    return {
        "sites": len(sites),
        "red_culture": sum(s["category"] in ("red", "both") for s in sites),
        "ecological": sum(s["category"] in ("eco", "both") for s in sites),
        "precise_500m": sum(s["coord_precision_m"] <= 500 for s in sites),
        "hidden": sum(s["hidden"] for s in sites),
        "per_county": per_county,
    }
