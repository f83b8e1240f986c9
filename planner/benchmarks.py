"""TOPTW benchmark support: instance reader, independent route checker, runner and gap table.

Instances are the public OPTW/TOPTW files (Solomon c1/r1/rc1 and Cordeau pr01-pr20 style, KU Leuven CIB
format, see shared/benchmarks/toptw/FORMAT.md).  Times are scaled to integers: x10 for Solomon, x100 for
Cordeau (``pr*`` files), travel = floor(scale * euclidean distance) computed exactly (no floating point),
which reproduces the literature's truncated distances.
"""

from __future__ import annotations

import csv
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from planner.toptw import Params, Problem, Route, solve, warm_up


@dataclass(frozen=True)
class Instance:
    """One benchmark file, all times already scaled to integers (``scale`` units per time unit)."""

    name: str
    scale: int
    x: tuple[Decimal, ...]
    y: tuple[Decimal, ...]
    service: tuple[int, ...]
    score: tuple[int, ...]
    open: tuple[int, ...]
    close: tuple[int, ...]

    @property
    def n_customers(self) -> int:
        return len(self.x) - 1

    @property
    def tmax(self) -> int:
        """Time budget per route: the depot's closing time."""
        return self.close[0]

    def travel_matrix(self) -> list[list[int]]:
        """floor(scale * euclidean distance), exact integer arithmetic."""
        decimals = max(max(-v.as_tuple().exponent, 0) for v in self.x + self.y)
        unit = 10**decimals
        xs = [int(v * unit) for v in self.x]
        ys = [int(v * unit) for v in self.y]
        num = self.scale * self.scale
        den = unit * unit
        n = len(xs)
        out = [[0] * n for _ in range(n)]
        isqrt = math.isqrt
        for i in range(n):
            xi, yi, row = xs[i], ys[i], out[i]
            for j in range(i + 1, n):
                dx, dy = xs[j] - xi, ys[j] - yi
                d = isqrt(num * (dx * dx + dy * dy) // den)
                row[j] = d
                out[j][i] = d
        return out


def family(name: str) -> str:
    """'c101' -> 'c', 'rc104' -> 'rc', 'pr07' -> 'pr'; the wide-window sets are families of their own:
    'r205' -> 'r2', 'pr13' -> 'pr11-20' (Cordeau's pr11-pr20: the customers of pr01-pr10, wider windows)."""
    m = re.match(r"([a-zA-Z]+)(\d*)", name)
    if not m:
        return name
    letters, digits = m.group(1).lower(), m.group(2)
    if letters == "pr" and digits and int(digits) > 10:
        return "pr11-20"
    if letters in ("c", "r", "rc") and len(digits) == 3 and digits[0] == "2":
        return letters + "2"
    return letters


def default_scale(name: str) -> int:
    return 100 if family(name).startswith("pr") else 10


def _scaled(token: str, scale: int) -> int:
    return math.floor(Decimal(token) * scale)


def read_instance(path: str | Path, scale: int | None = None) -> Instance:
    """Parse a CIB-format OPTW/TOPTW file (token based; copes with CRLF and leading spaces)."""
    path = Path(path)
    name = path.stem
    if scale is None:
        scale = default_scale(name)
    lines = path.read_text().splitlines()
    header = lines[0].split()
    n_customers = int(header[2])
    rows = []
    for line in lines[2:]:
        tok = line.split()
        if len(tok) >= 9:
            rows.append(tok)
        if len(rows) == n_customers + 1:
            break
    if len(rows) != n_customers + 1:
        raise ValueError(f"{path}: expected {n_customers + 1} vertex lines, found {len(rows)}")
    for k, tok in enumerate(rows):
        if int(tok[0]) != k:
            raise ValueError(f"{path}: vertex line {k} has id {tok[0]}")
    return Instance(
        name=name,
        scale=scale,
        x=tuple(Decimal(t[1]) for t in rows),
        y=tuple(Decimal(t[2]) for t in rows),
        service=tuple(_scaled(t[3], scale) for t in rows),
        score=tuple(int(Decimal(t[4])) for t in rows),
        open=tuple(_scaled(t[-2], scale) for t in rows),
        close=tuple(_scaled(t[-1], scale) for t in rows),
    )


def instance_problem(inst: Instance, m: int) -> Problem:
    """Node 0 is the depot (start and end of all m routes, budget [open0, close0])."""
    n = len(inst.x)
    routes = [Route(start=0, end=0, earliest=inst.open[0], latest=inst.close[0]) for _ in range(m)]
    return Problem(
        travel=inst.travel_matrix(),
        service=[0] + list(inst.service[1:]),
        score=[0] + list(inst.score[1:]),
        windows=[[]] + [[(inst.open[i], inst.close[i])] for i in range(1, n)],
        routes=routes,
    )


def toptw_problem(path: str | Path, m: int) -> Problem:
    return instance_problem(read_instance(path), m)


def check_routes(problem: Problem, routes: Sequence[Sequence[int]]) -> int:
    """Re-check a solution from scratch (deliberately not using planner.toptw.schedule) and re-score it.

    Raises ValueError on any violation: wrong route count, a terminal or unknown node used as a stop, a node
    visited twice, a service start outside every window of the node, or a route ending after its deadline.
    """
    if len(routes) != len(problem.routes):
        raise ValueError(f"{len(routes)} routes given, problem has {len(problem.routes)}")
    n = len(problem.travel)
    terminals = {r.start for r in problem.routes} | {r.end for r in problem.routes}
    seen: set[int] = set()
    total = 0
    for k, (route, stops) in enumerate(zip(problem.routes, routes, strict=True)):
        t = route.earliest
        here = route.start
        for v in stops:
            if not 0 <= v < n:
                raise ValueError(f"route {k}: node {v} out of range")
            if v in terminals:
                raise ValueError(f"route {k}: node {v} is a route start/end, not a stop")
            if v in seen:
                raise ValueError(f"node {v} visited twice")
            seen.add(v)
            t += problem.travel[here][v]
            begin = None
            for lo, hi in sorted(problem.windows[v]):
                if t <= hi:
                    begin = max(t, lo)
                    break
            if begin is None:
                raise ValueError(f"route {k}: node {v} reached at {t}, after all its windows")
            t = begin + problem.service[v]
            here = v
            total += problem.score[v]
        t += problem.travel[here][route.end]
        if t > route.latest:
            raise ValueError(f"route {k}: reaches its end at {t} > latest {route.latest}")
    return total


def read_bks(path: str | Path) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            out[(row["instance"], int(row["m"]))] = int(row["bks"])
    return out


def _find_bks(paths: Sequence[Path]) -> Path | None:
    for p in paths:
        for d in (p.parent, p.parent.parent):
            cand = d / "bks.csv"
            if cand.is_file():
                return cand
    return None


def run_toptw(
    paths: Iterable[str | Path],
    m: int,
    time_limit: float,
    bks_path: str | Path | None = None,
    seed: int = 0,
    workers: int = 2,
    params: Params | None = None,
) -> list[dict]:
    """Solve every instance with m routes; each result is re-checked by check_routes before it is reported.

    workers=2 (the default, like the product's planner.trip.default_chains) runs two annealing chains in
    parallel, i.e. uses both cores of the reference machine within the same wall-clock time limit.  With a
    budget in ``params`` (max_iterations / max_evals) the scores depend only on the seed, not on the load;
    ``capped`` says whether the time limit cut a run short.
    """
    paths = [Path(p) for p in paths]
    if bks_path is None:
        bks_path = _find_bks(paths)
    bks = read_bks(bks_path) if bks_path else {}
    warm_up()  # compile the optimiser's kernels now, not inside the first timed solve
    results = []
    for path in paths:
        inst = read_instance(path)
        problem = instance_problem(inst, m)
        t0 = time.perf_counter()
        sol = solve(problem, time_limit=time_limit, seed=seed, workers=workers, params=params)
        seconds = time.perf_counter() - t0
        score = check_routes(problem, sol.routes)
        if score != sol.score:
            raise AssertionError(f"{inst.name}: solver reports {sol.score}, re-check gives {score}")
        row = {
            "instance": inst.name,
            "routes": m,
            "score": score,
            "seconds": round(seconds, 3),
            "status": sol.status,
            "iterations": sol.iterations,
            "capped": bool(sol.stats.get("capped")),
            "route_nodes": [list(r) for r in sol.routes],
        }
        key = (inst.name, m)
        if key in bks:
            row["bks"] = bks[key]
            row["gap"] = (bks[key] - score) / bks[key]
        results.append(row)
    return results


def gap_table(results: Sequence[dict]) -> str:
    """Mean gap (%) to best-known per instance family and number of routes, plus per family over all m."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in results:
        if "gap" in r:
            groups[(family(r["instance"]), str(r["routes"]))].append(r)
            groups[(family(r["instance"]), "all")].append(r)
    lines = [f"{'family':<8}{'m':>4}{'n':>5}{'mean gap %':>12}{'max gap %':>11}{'mean s':>9}"]
    for (fam, m), rows in sorted(groups.items()):
        if m == "all" and len({r["routes"] for r in rows}) < 2:
            continue
        gaps = [100 * r["gap"] for r in rows]
        secs = [r["seconds"] for r in rows]
        lines.append(
            f"{fam:<8}{m:>4}{len(rows):>5}{sum(gaps) / len(gaps):>12.2f}{max(gaps):>11.2f}"
            f"{sum(secs) / len(secs):>9.2f}"
        )
    return "\n".join(lines)
