"""A bounded load test of the web planner: N simulated users for D seconds against a server on loopback.

Each user (a thread with its own keep-alive connection) repeats: pick a request by weight, send it, record the
latency, then think for a random time. Requests:
  site_page   GET /sites/<id>                       a site's page (HTML)
  sites_list  GET /sites?<one filter>               the filtered list with its map (HTML)
  plan        POST /api/plan                        a 1-3 day plan from a station or county town
It prints requests per second, p50/p95/max latency per kind, and every error (non-2xx or failed request).

  hongtu serve &                       # or: python -m web
  python bench/load_web.py --url http://127.0.0.1:8000 --users 50 --duration 60

Only loopback URLs are accepted: this is for measuring this machine, not for loading anyone else's server.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
ORIGINS = ["长沙南站", "井冈山市", "浏阳市", "醴陵市", "茶陵县", "炎陵县", "平江县", "莲花县", "永新县", "遂川县",
           "Changsha South Railway Station", "pingxiang"]
INTERESTS = ["red,eco", "red", "eco", "red:2,eco:1"]
PACES = ["relaxed", "normal", "packed"]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Load:
    def __init__(self, base: str, users: int, duration: float, think: tuple[float, float], weights: dict[str, float],
                 seed: int):
        self.base, self.users, self.duration, self.think, self.weights = base, users, duration, think, weights
        self.seed = seed
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.solver: Counter = Counter()  # the optimiser's status per plan: did it get past its first solution?
        self.site_ids: list[str] = []
        self.filters: list[str] = []

    def prepare(self) -> None:
        deadline = time.monotonic() + 60  # the server may still be starting
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while True:
                try:
                    body = client.get("/api/sites", params={"per_page": 200}).raise_for_status().json()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            self.site_ids = [s["id"] for s in body["sites"]]
            counties = sorted({s["county_adcode"] for s in body["sites"]})
            themes = sorted({t for s in body["sites"] for t in s["themes"]})
        if not self.site_ids:
            raise SystemExit("the server lists no sites")
        self.filters = ([f"county={c}" for c in counties] + [f"theme={t}" for t in themes]
                        + ["category=red", "category=eco", "designation=5A", "q=jinggangshan", "q=纪念馆", "q=瀑布"])

    def request(self, client: httpx.Client, rng: random.Random) -> tuple[str, httpx.Response]:
        kind = rng.choices(list(self.weights), weights=list(self.weights.values()))[0]
        if kind == "site_page":
            return kind, client.get(f"/sites/{rng.choice(self.site_ids)}")
        if kind == "sites_list":
            return kind, client.get(f"/sites?{rng.choice(self.filters)}")
        body = {"origin": rng.choice(ORIGINS), "days": rng.randint(1, 3), "interests": rng.choice(INTERESTS),
                "pace": rng.choice(PACES)}
        return kind, client.post("/api/plan", json=body)

    def user(self, number: int, start: float) -> None:
        rng = random.Random(self.seed * 1000 + number)
        end = start + self.duration
        time.sleep(rng.uniform(0, min(2.0, self.duration / 10)))  # users arrive over the first moments
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while time.perf_counter() < end:
                began = time.perf_counter()
                kind = "?"
                try:
                    kind, response = self.request(client, rng)
                    elapsed = time.perf_counter() - began
                    with self.lock:
                        self.latencies[kind].append(elapsed)
                        if not response.is_success:
                            self.errors[f"{kind}: HTTP {response.status_code} {response.text[:120]}"] += 1
                        elif kind == "plan":
                            self.solver[response.json()["solver"]["status"]] += 1
                except httpx.HTTPError as e:
                    with self.lock:
                        self.errors[f"{kind}: {type(e).__name__}: {str(e)[:120]}"] += 1
                pause = rng.uniform(*self.think)
                if pause:
                    time.sleep(max(0.0, min(pause, end - time.perf_counter())))

    def run(self) -> dict:
        self.prepare()
        start = time.perf_counter()
        threads = [threading.Thread(target=self.user, args=(i, start), daemon=True) for i in range(self.users)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.duration + 60)
        wall = time.perf_counter() - start
        kinds = {}
        for kind, values in sorted(self.latencies.items()):
            kinds[kind] = {"requests": len(values), "per_second": round(len(values) / wall, 2),
                           "p50_ms": round(percentile(values, 50) * 1000, 1),
                           "p95_ms": round(percentile(values, 95) * 1000, 1),
                           "max_ms": round(max(values) * 1000, 1),
                           "mean_ms": round(statistics.fmean(values) * 1000, 1)}
        total = sum(len(v) for v in self.latencies.values())
        return {"url": self.base, "users": self.users, "duration_s": round(wall, 1),
                "think_s": list(self.think), "weights": self.weights, "requests": total,
                "requests_per_second": round(total / wall, 2), "errors": sum(self.errors.values()),
                "error_kinds": dict(self.errors.most_common(10)), "kinds": kinds,
                "plan_solver_status": dict(self.solver)}


def report(result: dict) -> str:
    lines = [f"{result['users']} users for {result['duration_s']} s against {result['url']} "
             f"(think {result['think_s'][0]}-{result['think_s'][1]} s, mix {result['weights']})",
             f"{result['requests']} requests, {result['requests_per_second']} requests/s, {result['errors']} errors",
             f"{'kind':12} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"]
    for kind, k in result["kinds"].items():
        lines.append(f"{kind:12} {k['requests']:8} {k['per_second']:7} {k['p50_ms']:8} {k['p95_ms']:8} {k['max_ms']:8}")
    if result["plan_solver_status"]:
        lines.append(f"plan solver status: {result['plan_solver_status']}")
    for message, count in result["error_kinds"].items():
        lines.append(f"error x{count}: {message}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--think", default="1-3", help="seconds each user waits between requests, 'min-max'")
    parser.add_argument("--mix", default="site_page:5,sites_list:2,plan:2",
                        help="weights of site_page, sites_list and plan")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname or ""
    if host not in LOOPBACK and f"[{host}]" not in LOOPBACK:
        parser.error("only loopback URLs (127.0.0.1, localhost, ::1) are allowed")
    if not 1 <= args.users <= 500 or not 1 <= args.duration <= 600:
        parser.error("users 1..500 and duration 1..600 s")
    lo, _, hi = args.think.partition("-")
    think = (float(lo), float(hi or lo))
    weights = {k: float(v) for k, v in (part.split(":") for part in args.mix.split(","))}
    if set(weights) - {"site_page", "sites_list", "plan"}:
        parser.error("mix kinds are site_page, sites_list and plan")
    result = Load(args.url.rstrip("/"), args.users, args.duration, think, weights, args.seed).run()
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else report(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
