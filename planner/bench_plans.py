"""`hongtu bench plans`: realistic requests over sites.db, timed, and scored against a long solve."""

from __future__ import annotations

import datetime as dt
import statistics
import time

import sqlite_utils

from planner.toptw import warm_up
from planner.trip import TripRequest, solve_trip, today_in_china

# (origin, days, pace, interests, end): several origins, 1-7 days, each pace.
REQUESTS = [
    ("井冈山市", 1, "relaxed", {"red": 1.0, "eco": 1.0}, None),
    ("长沙南站", 1, "packed", {"red": 1.0, "eco": 0.0}, None),
    ("萍乡北站", 1, "normal", {"red": 1.0, "eco": 1.0}, None),
    ("浏阳市", 2, "normal", {"red": 2.0, "eco": 1.0}, None),
    ("长沙南站", 2, "relaxed", {"red": 1.0, "eco": 1.0}, "井冈山机场"),
    ("茨坪", 2, "packed", {"red": 0.0, "eco": 1.0}, None),
    ("吉安西站", 3, "normal", {"red": 1.0, "eco": 1.0}, None),
    ("醴陵站", 3, "packed", {"red": 1.0, "eco": 0.5}, None),
    ("宜春站", 3, "relaxed", {"red": 0.5, "eco": 1.0}, None),
    ("长沙黄花国际机场", 5, "normal", {"red": 1.0, "eco": 1.0}, "井冈山机场"),
    ("郴州西站", 5, "relaxed", {"red": 1.0, "eco": 1.0}, None),
    ("萍乡北站", 7, "normal", {"red": 1.0, "eco": 1.0}, None),
    ("长沙南站", 7, "packed", {"red": 2.0, "eco": 1.0}, None),
]


def _request(origin, days, pace, interests, end, start: dt.date, limit: float | None) -> TripRequest:
    """limit None: the product's default (a seeded iteration budget); otherwise a search of `limit` seconds
    (an iteration budget too large to finish first), the reference."""
    if limit is None:
        return TripRequest(origin=origin, days=days, start_date=start, end=end, interests=interests, pace=pace)
    return TripRequest(origin=origin, days=days, start_date=start, end=end, interests=interests, pace=pace,
                       time_limit=limit, iterations=1_000_000)


def run_plan_benchmark(db: sqlite_utils.Database, reference_limit: float = 30.0) -> dict:
    start = today_in_china() + dt.timedelta(days=7)
    warm_up()  # as the web server and the bot do before their first plan
    rows = []
    for origin, days, pace, interests, end in REQUESTS:
        began = time.perf_counter()
        quick = solve_trip(db, _request(origin, days, pace, interests, end, start, None))
        latency = time.perf_counter() - began
        reference = solve_trip(db, _request(origin, days, pace, interests, end, start, reference_limit))
        best = max(reference["score"], quick["score"])
        rows.append({"origin": origin, "days": days, "pace": pace, "latency_s": round(latency, 3),
                     "score": quick["score"], "reference_score": reference["score"],
                     "ratio": round(quick["score"] / best, 4) if best else 1.0,
                     "stops": sum(len(d["stops"]) for d in quick["days"])})
    latencies = sorted(r["latency_s"] for r in rows)
    return {
        "start_date": start.isoformat(),
        "reference_limit_s": reference_limit,
        "requests": rows,
        "median_latency_s": round(statistics.median(latencies), 3),
        "p95_latency_s": round(latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))], 3),
        "mean_ratio": round(statistics.mean(r["ratio"] for r in rows), 4),
        "min_ratio": min(r["ratio"] for r in rows),
    }


def format_report(report: dict) -> str:
    lines = [f"{'origin':<14}{'days':>5} {'pace':<8}{'latency s':>10}{'score':>9}{'30 s score':>11}{'ratio':>8}"]
    for r in report["requests"]:
        lines.append(f"{r['origin']:<14}{r['days']:>5} {r['pace']:<8}{r['latency_s']:>10.3f}{r['score']:>9.1f}"
                     f"{r['reference_score']:>11.1f}{r['ratio']:>8.3f}")
    lines.append(f"median latency {report['median_latency_s']} s, p95 {report['p95_latency_s']} s, "
                 f"mean ratio {report['mean_ratio']}, worst {report['min_ratio']} "
                 f"(reference: {report['reference_limit_s']} s per request, start {report['start_date']})")
    return "\n".join(lines)
