"""`hongtu bench travel`: the embedded travel estimate against published road distances and drive times."""

from __future__ import annotations

import csv
import statistics

import sqlite_utils

from planner.db import DATA_DIR
from planner.errors import InputError
from planner.places import resolve_place
from planner.travel import RoadEstimate


def compare(db: sqlite_utils.Database, path=DATA_DIR / "road_distances.csv") -> dict:
    rows, skipped = [], []
    with open(path, encoding="utf-8") as f:
        for record in csv.DictReader(f):
            try:
                a = resolve_place(db, record["from_zh"])
                b = resolve_place(db, record["to_zh"])
            except InputError:
                skipped.append(f"{record['from_zh']} -> {record['to_zh']}")
                continue
            matrix = RoadEstimate().matrix([(a.lat, a.lon), (b.lat, b.lon)])
            published_min = float(record["drive_minutes"]) if record["drive_minutes"] else None
            rows.append({"from": record["from_zh"], "to": record["to_zh"], "from_as": a.name_zh, "to_as": b.name_zh,
                         "published_km": float(record["road_km"]), "estimate_km": round(float(matrix.km[0, 1]), 1),
                         "published_min": published_min, "estimate_min": int(matrix.minutes[0, 1])})
    km_ratios = [r["estimate_km"] / r["published_km"] for r in rows if r["published_km"]]
    min_ratios = [r["estimate_min"] / r["published_min"] for r in rows if r["published_min"]]
    return {"rows": rows, "skipped": skipped,
            "median_km_ratio": round(statistics.median(km_ratios), 3) if km_ratios else None,
            "median_minutes_ratio": round(statistics.median(min_ratios), 3) if min_ratios else None}


def format_comparison(result: dict) -> str:
    lines = [f"{'from':<16}{'to':<16}{'matched as':<26}{'pub km':>7}{'est km':>7}{'pub min':>8}{'est min':>8}"]
    for r in result["rows"]:
        matched = f"{r['from_as']}→{r['to_as']}"
        pub_min = f"{r['published_min']:.0f}" if r["published_min"] else "-"
        lines.append(f"{r['from'][:14]:<16}{r['to'][:14]:<16}{matched[:24]:<26}{r['published_km']:>7.0f}"
                     f"{r['estimate_km']:>7.0f}{pub_min:>8}{r['estimate_min']:>8}")
    lines.append(f"median estimate/published: distance {result['median_km_ratio']}, "
                 f"time {result['median_minutes_ratio']} ({len(result['rows'])} pairs, "
                 f"{len(result['skipped'])} not matched to a known place)")
    return "\n".join(lines)
