"""The OpenAPI 3.1 description of the JSON API (served at /api/openapi.json)."""

from __future__ import annotations

from planner.sitedata import CATEGORIES, DESIGNATIONS, FIELDS, THEMES
from planner.trip import MAX_DAYS, MAX_SEED, PACES, PARTY

# Curators' working notes: kept in the curator area, never in public pages or the public API.
INTERNAL_FIELDS = ("hidden", "coord_source", "importance_basis", "ticket_note")

_ERROR = {"description": "Bad input: the body names the field", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}}
_NOT_FOUND = {"description": "No such item", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}}


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _site_schema() -> dict:
    string_list = {"type": "array", "items": {"type": "string"}}
    props = {
        "id": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
        "name_zh": {"type": "string"}, "name_en": {"type": "string"}, "aliases": string_list,
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "themes": {"type": "array", "items": {"type": "string", "enum": list(THEMES)}},
        "county_adcode": {"type": "integer"},
        "lat": {"type": "number", "description": "WGS-84"}, "lon": {"type": "number", "description": "WGS-84"},
        "coord_precision_m": {"type": "integer", "description": "how far off the point may be, in metres"},
        "approximate": {"type": "boolean", "description": "true when the point may be more than 1 km off"},
        "visit_minutes": {"type": "integer"},
        "hours": {"type": "object", "description": "per weekday (mon..sun) a list of [open, close] HH:MM pairs; "
                  "an empty list is closed", "additionalProperties": {"type": "array"}},
        "seasons": {"type": "array", "items": {"type": "object"}},
        "ticket_cny": {"type": ["number", "null"], "description": "0 is free, null unknown"},
        "designations": {"type": "array", "items": {"type": "string", "enum": list(DESIGNATIONS)}},
        "summary_zh": {"type": "string"}, "summary_en": {"type": "string"},
        "history_zh": {"type": "string"}, "history_en": {"type": "string"},
        "importance": {"type": "integer", "minimum": 20, "maximum": 100},
        "sources": {"type": "array", "description": "published sources (web pages) of the site's facts",
                    "items": {"type": "object", "properties": {"url": {"type": "string"},
                                                               "title": {"type": "string"}}}},
        "unverified": {**string_list, "description": "facts not yet confirmed: any of coords, hours, ticket, "
                       "visit_minutes, history, summary, designations, seasons"},
        "unverified_text": {"type": "object", "description": "the same in words",
                            "properties": {"zh": string_list, "en": string_list}},
        "last_verified": {"type": "string", "format": "date"},
        "version": {"type": "integer", "description": "raised by one on every change"},
        "area": {"type": ["string", "null"], "description": "id of the ticketed scenic area the site is inside"},
        "guide_mentions": {"type": "integer", "description": "published itineraries that visit the site"},
    }
    assert set(FIELDS) - set(INTERNAL_FIELDS) <= set(props)
    return {"type": "object", "properties": props,
            "required": [f for f in FIELDS if f not in INTERNAL_FIELDS and f in props]}


def _endpoint_schema() -> dict:
    return {"type": "object", "properties": {
        "name": {"type": "string"}, "name_zh": {"type": "string"}, "name_en": {"type": "string"},
        "kind": {"type": "string"}, "lat": {"type": "number"}, "lon": {"type": "number"},
        "time": {"type": "string", "description": "local time (Asia/Shanghai) YYYY-MM-DDTHH:MM"},
        "travel_minutes": {"type": "integer"}, "distance_km": {"type": "number"}}}


def _stop_schema() -> dict:
    stamp = {"type": "string", "description": "local time (Asia/Shanghai) YYYY-MM-DDTHH:MM"}
    return {"type": "object", "properties": {
        "site_id": {"type": "string"}, "name_zh": {"type": "string"}, "name_en": {"type": "string"},
        "lat": {"type": "number"}, "lon": {"type": "number"}, "arrive": stamp, "visit_start": stamp,
        "depart": stamp, "travel_minutes": {"type": "integer"}, "distance_km": {"type": "number"},
        "visit_minutes": {"type": "integer"}, "category": {"type": "string"},
        "summary_zh": {"type": "string"}, "summary_en": {"type": "string"},
        "ticket_cny": {"type": ["number", "null"]}, "importance": {"type": "integer"},
        "precision_m": {"type": "integer", "description": "how far off the point may be, in metres"},
        "approximate": {"type": "boolean", "description": "precision worse than 1 km: show 'approximate "
                        "location' and navigate by name, not to the point"},
        "area": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/AreaRef"}]},
        "outdoor": {"type": "boolean", "description": "an outdoor visit: planned to end before sunset"},
        "ticket_in_area": {"type": "boolean", "description": "covered by the area's ticket, listed once in "
                           "the itinerary's tickets"},
        "by_area_bus": {"type": "boolean", "description": "the leg to this stop runs between two stops of the "
                        "scenic area's sightseeing bus"}}}


def _plan_request_schema() -> dict:
    place = {"oneOf": [{"type": "string", "maxLength": 100, "description": "station, airport, town or site name "
                        "(Chinese, English or pinyin), or 'lat,lon'"},
                       {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                        "description": "[lat, lon] in WGS-84"}]}
    ids = {"oneOf": [{"type": "array", "items": {"type": "string"}, "maxItems": 30},
                     {"type": "string", "description": "comma-separated site ids"}]}
    return {"type": "object", "additionalProperties": False, "required": ["origin", "days"], "properties": {
        "origin": place, "end": {**place, "description": "where the trip ends (default: the origin)"},
        "days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
        "start_date": {"type": "string", "format": "date", "description": "default: today in China"},
        "interests": {"oneOf": [
            {"type": "string", "examples": ["red,eco", "red:2,eco:1"]},
            {"type": "array", "items": {"type": "string", "enum": ["red", "eco"]}},
            {"type": "object", "properties": {"red": {"type": "number", "minimum": 0, "maximum": 10},
                                              "eco": {"type": "number", "minimum": 0, "maximum": 10}},
             "additionalProperties": False}]},
        "themes": {"type": "array", "items": {"type": "string", "enum": list(THEMES)}},
        "pace": {"type": "string", "enum": list(PACES), "default": "normal"},
        "must": ids, "avoid": ids,
        "destination": {"type": "string", "maxLength": 100, "description": "where the trip should focus: a "
                        "town, county, scenic area, site or theme (default: wherever is best from the origin)"},
        "party": {"type": "array", "items": {"type": "string", "enum": list(PARTY)}},
        "arrive_at": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
                      "description": "HH:MM when the traveller is at the origin on day 1 (a train's arrival)"},
        "pin": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0},
                "description": "site id -> day index from 0 (0 is the first day): visit that site that day"},
        "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED, "default": 0,
                 "description": "the same request with the same seed gives the same plan"},
        "only_must": {"type": "boolean", "default": False,
                      "description": "visit the must-see and pinned sites only, add no others"},
        "time_limit": {"type": "number", "minimum": 0.1, "maximum": 5, "default": 1.0,
                       "description": "seconds for the optimiser"},
        "share": {"type": "boolean", "default": False,
                  "description": "store the itinerary and return its permanent link as share_url"},
    }}


def document(server_url: str) -> dict:
    site_filters = [
        _query("county", "county adcode, e.g. 360881", {"type": "string", "pattern": "^[0-9]{6}$"}),
        _query("category", "red, eco or both", {"type": "string", "enum": list(CATEGORIES)}),
        _query("theme", "a theme id", {"type": "string", "enum": list(THEMES)}),
        _query("designation", "a designation id", {"type": "string", "enum": list(DESIGNATIONS)}),
        _query("q", "full-text search: Chinese, English or pinyin", {"type": "string", "maxLength": 100}),
        _query("page", "page number from 1", {"type": "integer", "minimum": 1, "default": 1}),
        _query("per_page", "sites per page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
    ]
    json_of = lambda ref: {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hongtu 红途 API", "version": "1.0.0",
                 "description": "Sites of red-culture and ecological tourism in the Hunan–Jiangxi border zone, "
                                "and multi-day trip plans over them. Coordinates are WGS-84."},
        "servers": [{"url": server_url}],
        "paths": {
            "/api/sites": {"get": {
                "summary": "List visible sites, filtered and paged", "operationId": "listSites",
                "parameters": site_filters,
                "responses": {"200": {"description": "A page of sites", "content": json_of("SiteList")},
                              "400": _ERROR}}},
            "/api/sites/{site_id}": {"get": {
                "summary": "One site", "operationId": "getSite",
                "parameters": [{"name": "site_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The site", "content": json_of("Site")},
                              "404": _NOT_FOUND}}},
            "/api/places": {"get": {
                "summary": "Type-ahead over stations, airports, towns and sites", "operationId": "findPlaces",
                "parameters": [
                    {**_query("q", "what the traveller typed", {"type": "string", "maxLength": 100}),
                     "required": True},
                    _query("limit", "at most this many", {"type": "integer", "minimum": 1, "maximum": 20,
                                                          "default": 8}),
                    _query("lang", "language of fuzzy suggestions", {"type": "string", "enum": ["zh", "en"]})],
                "responses": {"200": {"description": "Matching places", "content": json_of("PlaceList")},
                              "400": _ERROR}}},
            "/api/plan": {"post": {
                "summary": "Plan a multi-day trip (the same request and itinerary as `hongtu plan --json`)",
                "operationId": "planTrip",
                "requestBody": {"required": True, "content": json_of("PlanRequest")},
                "responses": {"200": {"description": "The itinerary", "content": json_of("Itinerary")},
                              "400": _ERROR,
                              "503": {"description": "The planner is busy", "content": json_of("Error")}}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["field", "en", "zh"],
                "properties": {"field": {"type": "string", "description": "the request field that is wrong"},
                               "en": {"type": "string"}, "zh": {"type": "string"},
                               "row": {"type": "integer"}}}}},
            "Site": _site_schema(),
            "SiteList": {"type": "object", "properties": {
                "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
                "pages": {"type": "integer"},
                "sites": {"type": "array", "items": {"$ref": "#/components/schemas/Site"}}}},
            "Place": {"type": "object", "properties": {
                "id": {"type": "string"}, "kind": {"type": "string",
                                                   "enum": ["station", "airport", "town", "site"]},
                "name_zh": {"type": "string"}, "name_en": {"type": "string"}, "lat": {"type": "number"},
                "lon": {"type": "number"}}},
            "PlaceList": {"type": "object", "properties": {
                "query": {"type": "string"}, "fuzzy": {"type": "boolean"},
                "places": {"type": "array", "items": {"$ref": "#/components/schemas/Place"}}}},
            "PlanRequest": _plan_request_schema(),
            "Endpoint": _endpoint_schema(),
            "Stop": _stop_schema(),
            "AreaRef": {"type": "object", "properties": {"id": {"type": "string"}, "name_zh": {"type": "string"},
                                                         "name_en": {"type": "string"}}},
            "Day": {"type": "object", "properties": {
                "date": {"type": "string", "format": "date"},
                "lunch": {"type": ["object", "null"], "description": "the lunch break", "properties": {
                    "start": {"type": "string"}, "end": {"type": "string"}, "near_zh": {"type": "string"},
                    "near_en": {"type": "string"},
                    "inside": {"type": "boolean", "description": "eaten inside a scenic area"}}},
                "day_start": {"type": "string", "description": "when the day begins (pace, arrival time, now)"},
                "sunset": {"type": "string", "description": "HH:MM local sunset: no outdoor visit after it"},
                "start": {"$ref": "#/components/schemas/Endpoint"},
                "stops": {"type": "array", "items": {"$ref": "#/components/schemas/Stop"}},
                "end": {"$ref": "#/components/schemas/Endpoint"}}},
            "Itinerary": {"type": "object", "required": ["days", "score", "unreached_must", "solver",
                                                         "travel_source", "request"], "properties": {
                "days": {"type": "array", "items": {"$ref": "#/components/schemas/Day"}},
                "score": {"type": "number"},
                "unreached_must": {"type": "array", "items": {"type": "object", "properties": {
                    "site_id": {"type": "string"}, "name_zh": {"type": "string"}, "name_en": {"type": "string"},
                    "reason_zh": {"type": "string"}, "reason_en": {"type": "string"}}}},
                "solver": {"type": "object", "properties": {"status": {"type": "string"},
                                                            "seconds": {"type": "number"}}},
                "travel_source": {"type": "string"},
                "request": {"type": "object"},
                "seed": {"type": "integer"},
                "destination": {"type": ["object", "null"], "properties": {"name_zh": {"type": "string"},
                                                                           "name_en": {"type": "string"}}},
                "tickets": {"type": "object", "description": "one line per ticketed scenic area (bought once) and "
                            "per priced site outside one; unknown prices are listed, not added", "properties": {
                    "total_cny": {"type": "number"},
                    "lines": {"type": "array", "items": {"type": "object", "properties": {
                        "kind": {"type": "string", "enum": ["area", "site"]}, "id": {"type": "string"},
                        "name_zh": {"type": "string"}, "name_en": {"type": "string"}, "cny": {"type": "number"}}}},
                    "unknown": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "name_zh": {"type": "string"}, "name_en": {"type": "string"}}}}}},
                "share_url": {"type": "string", "description": "only when the request asked for share"}}},
        }},
    }
