"""Team orienteering with time windows (TOPTW): the optimiser behind multi-day itineraries and the benchmarks.

DOCSTRING-PLACEHOLDER
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Problem", "Route", "Solution", "Visit", "schedule", "solve", "route_travel"]


@dataclass(frozen=True)
class Route:
    """One route (one day in the product)."""

    start: int  # node index the route leaves from (not a visitable stop)
    end: int  # node index it must end at (may equal start)
    earliest: int  # time the route may leave start
    latest: int  # time by which it must reach end


@dataclass
class Problem:
    travel: Sequence[Sequence[int]]  # travel[i][j] integer time units, may be asymmetric
    service: Sequence[int]  # visit duration per node
    score: Sequence[int]  # >= 0 per node
    windows: Sequence[Sequence[tuple[int, int]]]  # per node: allowed intervals for the START of service
    routes: Sequence[Route]
    mandatory: frozenset[int] = frozenset()  # visited if at all feasible
    # nodes that are a start/end of some route are never stops


@dataclass(frozen=True)
class Visit:
    node: int
    arrive: int
    start: int
    depart: int


@dataclass
class Solution:
    routes: list[list[int]]  # stops of each route in order, excluding start/end
    score: int  # sum of problem.score over the visited stops
    travel: int  # total travel time of all routes (start -> stops -> end)
    status: str  # "optimal" | "feasible" | "timeout-initial" | "infeasible"
    seconds: float
    missing_mandatory: list[int]
    iterations: int = 0
    stats: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# Independent timing (used by callers and tests; the solver has its own incremental bookkeeping)


def _terminals(problem: Problem) -> set[int]:
    return {r.start for r in problem.routes} | {r.end for r in problem.routes}


def schedule(problem: Problem, route: int, stops: Sequence[int]) -> list[Visit] | None:
    """Earliest-start timing of ``stops`` on route number ``route``; None if infeasible.

    The result has len(stops) + 2 visits: the route's start (arrive = start = depart = earliest), the stops,
    and the route's end (arrive = start = depart = arrival time).  Waiting happens before the service start;
    service starts in the earliest window interval that is still open on arrival.  Stops must be distinct,
    in range and not a start/end node of any route.
    """
    r = problem.routes[route]
    travel = problem.travel
    n = len(travel)
    terminals = _terminals(problem)
    visits = [Visit(r.start, r.earliest, r.earliest, r.earliest)]
    seen: set[int] = set()
    t = r.earliest
    here = r.start
    for v in stops:
        if not 0 <= v < n or v in terminals or v in seen:
            return None
        seen.add(v)
        arrive = t + travel[here][v]
        begin = None
        for lo, hi in sorted(problem.windows[v]):
            if arrive <= hi and lo <= hi:
                begin = max(arrive, lo)
                break
        if begin is None:
            return None
        t = begin + problem.service[v]
        visits.append(Visit(v, arrive, begin, t))
        here = v
    arrive = t + travel[here][r.end]
    if arrive > r.latest:
        return None
    visits.append(Visit(r.end, arrive, arrive, arrive))
    return visits


def route_travel(problem: Problem, route: int, stops: Sequence[int]) -> int:
    r = problem.routes[route]
    path = [r.start, *stops, r.end]
    return sum(problem.travel[a][b] for a, b in zip(path, path[1:]))


# --------------------------------------------------------------------------------------------------
# Solver engine

_BIG = 1 << 50  # "infinite" time (int64 safe when a few are added)


class _RouteState:
    """Earliest-start schedule of one route with the classic wait / max-shift bookkeeping.

    Position 0 is the start node, the last position the end node.  ``slack[i]`` is how much the arrival
    at position i may be delayed without making the rest of the route infeasible (= wait + max shift);
    for nodes with several windows it is conservative (delays into a later interval are not counted),
    which is why such routes fall back to an exact forward pass.
    """

    __slots__ = ("seq", "arr", "st", "slack", "travel", "n_multi", "last_multi", "_np")

    def __init__(self, seq, arr, st, slack, travel, n_multi, last_multi):
        self.seq = seq
        self.arr = arr
        self.st = st
        self.slack = slack
        self.travel = travel
        self.n_multi = n_multi
        self.last_multi = last_multi
        self._np = None


class _Engine:
    def __init__(self, problem: Problem, seed: int):
        self.p = problem
        self.rng = random.Random(seed)
        self.nprng = np.random.default_rng(seed)
        n = len(problem.travel)
        self.n = n
        self.m = len(problem.routes)
        T = np.array(problem.travel, dtype=np.int64).reshape(n, n)
        self.T = T
        self.Tl = T.tolist()
        self.TT = np.ascontiguousarray(T.T)
        self.S = np.array(problem.service, dtype=np.int64).reshape(n)
        self.Sl = self.S.tolist()
        terminals = _terminals(problem)
        self.terminals = terminals
        base = [int(s) for s in problem.score]
        mand = {u for u in problem.mandatory if u not in terminals and 0 <= u < n}
        self.big = sum(max(s, 0) for s in base) + 1
        self.mand = mand
        eff = [max(base[u], 0) + (self.big if u in mand else 0) for u in range(n)]
        self.base = base
        self.effl = eff
        self.eff = np.array(eff, dtype=np.float64)
        self.eff2 = self.eff * self.eff
        cand = np.zeros(n, dtype=bool)
        for u in range(n):
            if u not in terminals and eff[u] > 0 and problem.windows[u]:
                cand[u] = True
        # lower bounds on travel between nodes (shortest paths; cheap bound if the matrix is large)
        if n <= 600:
            D = T.copy()
            for k in range(n):
                np.minimum(D, D[:, k : k + 1] + D[k : k + 1, :], out=D)
        else:
            D = None
        mask_off = ~np.eye(n, dtype=bool)
        min_in = np.where(mask_off, T, _BIG).min(axis=0) if n > 1 else np.zeros(n, dtype=np.int64)
        min_out = np.where(mask_off, T, _BIG).min(axis=1) if n > 1 else np.zeros(n, dtype=np.int64)
        # per-route relevant window (single interval = O(1) fast path) and reachability
        m = self.m
        self.OPEN = np.full((m, n), _BIG, dtype=np.int64)
        self.CLOSE = np.full((m, n), -_BIG, dtype=np.int64)
        self.multi: list[dict[int, list[tuple[int, int]]]] = [dict() for _ in range(m)]
        self.reach = np.zeros((m, n), dtype=bool)
        self.route_ok = [True] * m
        wins = [sorted((int(a), int(b)) for a, b in w if a <= b) for w in problem.windows]
        for r, rt in enumerate(problem.routes):
            a, b, e, lt = rt.start, rt.end, rt.earliest, rt.latest
            if e + self.Tl[a][b] > lt or e > lt:
                self.route_ok[r] = False
                continue
            if D is not None:
                lb_in = D[a]
                lb_out = D[:, b]
            else:
                lb_in = np.minimum(T[a], min_out[a] + min_in)
                lb_out = np.minimum(T[:, b], min_out + min_in[b])
            for u in np.nonzero(cand)[0].tolist():
                lo_t = e + int(lb_in[u])
                hi_t = lt - self.Sl[u] - int(lb_out[u])
                rel = [(o, c) for o, c in wins[u] if c >= lo_t and o <= hi_t]
                if not rel:
                    continue
                self.reach[r, u] = True
                self.OPEN[r, u] = rel[0][0]
                self.CLOSE[r, u] = rel[0][1]
                if len(rel) > 1:
                    self.multi[r][u] = rel
        self.cand = cand & self.reach.any(axis=0)
        self.OPENl = self.OPEN.tolist()
        self.CLOSEl = self.CLOSE.tolist()
        self.multi_arr = [np.array(sorted(d), dtype=np.int64) for d in self.multi]
        # state
        self.routes: list[_RouteState] = [self._build(r, [rt.start, rt.end]) for r, rt in enumerate(problem.routes)]
        self.unvisited = self.cand.copy()
        self.cost = np.full((m, n), _BIG, dtype=np.int64)
        self.pos = np.zeros((m, n), dtype=np.int64)
        self.computed = np.zeros((m, n), dtype=bool)
        self.evals = 0

    # ---- route schedule -------------------------------------------------------------------------
    def _build(self, r: int, seq: list[int]) -> _RouteState | None:
        """Forward pass + backward slack; None if infeasible."""
        rt = self.p.routes[r]
        Tl, Sl = self.Tl, self.Sl
        OP, CL = self.OPENl[r], self.CLOSEl[r]
        multi = self.multi[r]
        t = rt.earliest
        prev = seq[0]
        arr = [t]
        st = [t]
        cl = [rt.latest]
        trav = 0
        n_multi = 0
        last_multi = 0
        for i in range(1, len(seq) - 1):
            u = seq[i]
            d = Tl[prev][u]
            a = t + d
            trav += d
            ivs = multi.get(u) if multi else None
            if ivs is None:
                o = OP[u]
                c = CL[u]
                s = a if a >= o else o
                if s > c:
                    return None
            else:
                n_multi += 1
                last_multi = i
                for o, c in ivs:
                    if a <= c:
                        s = a if a >= o else o
                        break
                else:
                    return None
            arr.append(a)
            st.append(s)
            cl.append(c)
            t = s + Sl[u]
            prev = u
        d = Tl[prev][seq[-1]]
        a = t + d
        trav += d
        if a > rt.latest:
            return None
        arr.append(a)
        st.append(a)
        cl.append(rt.latest)
        k = len(seq)
        slack = [0] * k
        nxt = rt.latest - a
        slack[k - 1] = nxt
        for i in range(k - 2, 0, -1):
            x = st[i] - arr[i] + nxt
            y = cl[i] - arr[i]
            nxt = x if x < y else y
            slack[i] = nxt
        slack[0] = nxt
        return _RouteState(seq, arr, st, slack, trav, n_multi, last_multi)

    def _np(self, rs: _RouteState):
        if rs._np is None:
            seq = rs.seq
            Sl = self.Sl
            dep = [rs.st[0]] + [rs.st[i] + Sl[seq[i]] for i in range(1, len(seq) - 1)]
            rs._np = (
                np.array(seq[:-1], dtype=np.int64),
                np.array(seq[1:], dtype=np.int64),
                np.array(dep, dtype=np.int64),
                np.array(rs.arr[1:], dtype=np.int64),
                np.array(rs.slack[1:], dtype=np.int64),
            )
        return rs._np

    def _set(self, r: int, rs: _RouteState) -> None:
        self.routes[r] = rs
        self.computed[r] = False

    # ---- insertion evaluation -------------------------------------------------------------------
    def _evaluate(self, r: int, U: np.ndarray) -> None:
        """Best insertion position (min time shift) of every node in U into route r."""
        rs = self.routes[r]
        A, B, dep, arrB, slB = self._np(rs)
        T = self.T
        self.evals += 1
        arrU = dep[:, None] + T.take(A, axis=0).take(U, axis=1)
        start = np.maximum(arrU, self.OPEN[r, U][None, :])
        closeU = self.CLOSE[r, U]
        if self.multi[r]:
            ma = self.multi_arr[r]
            cols = np.nonzero(np.isin(U, ma))[0]
            for j in cols.tolist():
                u = int(U[j])
                a = arrU[:, j]
                s = np.full(a.shape, _BIG, dtype=np.int64)
                for o, c in reversed(self.multi[r][u]):
                    s = np.where(a <= c, np.maximum(a, o), s)
                start[:, j] = s
                closeU[j] = _BIG - 1  # closeU is a fancy-indexed copy
        newB = start + self.S[U][None, :] + self.TT.take(B, axis=0).take(U, axis=1)
        shift = newB - arrB[:, None]
        local = start <= closeU[None, :]
        ok = local & (shift <= slB[:, None])
        if rs.n_multi:
            # exact forward pass where the conservative slack rejected an insertion before a multi-window stop
            lim = rs.last_multi  # insertion at position p (between p and p+1) with p < last_multi
            sub = local[:lim] & ~ok[:lim]
            for p, j in zip(*np.nonzero(sub)):
                if self._exact_ok(r, rs, int(p), int(U[j]), int(start[p, j])):
                    ok[p, j] = True
        cost = np.where(ok, shift, _BIG)
        pos = cost.argmin(axis=0)
        self.cost[r, U] = cost[pos, np.arange(len(U))]
        self.pos[r, U] = pos
        self.computed[r, U] = True

    def _exact_ok(self, r: int, rs: _RouteState, p: int, u: int, s_u: int) -> bool:
        """Forward pass after inserting u (service start s_u) behind position p."""
        Tl, Sl = self.Tl, self.Sl
        seq = rs.seq
        t = s_u + Sl[u]
        prev = u
        OP, CL = self.OPENl[r], self.CLOSEl[r]
        multi = self.multi[r]
        for i in range(p + 1, len(seq) - 1):
            v = seq[i]
            a = t + Tl[prev][v]
            if a <= rs.arr[i]:
                return True  # no later than before: rest unchanged
            ivs = multi.get(v)
            if ivs is None:
                s = a if a >= OP[v] else OP[v]
                if s > CL[v]:
                    return False
            else:
                for o, c in ivs:
                    if a <= c:
                        s = a if a >= o else o
                        break
                else:
                    return False
            if s <= rs.st[i]:
                return True
            t = s + Sl[v]
            prev = v
        return t + Tl[prev][seq[-1]] <= self.p.routes[r].latest

    def _refresh(self) -> None:
        need_any = self.unvisited
        for r in range(self.m):
            if not self.route_ok[r]:
                continue
            need = need_any & self.reach[r] & ~self.computed[r]
            if need.any():
                self._evaluate(r, np.nonzero(need)[0])

    # ---- moves ------------------------------------------------------------------------------------
    def insert(self, r: int, u: int, p: int) -> bool:
        seq = self.routes[r].seq
        rs = self._build(r, seq[: p + 1] + [u] + seq[p + 1 :])
        if rs is None:
            return False
        self._set(r, rs)
        self.unvisited[u] = False
        return True

    def fill(self, noise: float = 0.0, alpha: float = 2.0, deadline: float = math.inf) -> int:
        """Greedy insertion by score^alpha / time shift (with multiplicative noise) until nothing fits."""
        added = 0
        m, n = self.m, self.n
        w = self.eff2 if alpha == 2.0 else self.eff**alpha
        while True:
            self._refresh()
            C = self.cost
            feas = (C < _BIG) & self.unvisited[None, :]
            if not feas.any():
                return added
            ratio = w[None, :] / np.maximum(C, 1)
            if noise:
                ratio *= self.nprng.uniform(1.0 - noise, 1.0 + noise, size=(m, n))
            ratio[~feas] = -1.0
            idx = int(ratio.argmax())
            r, u = divmod(idx, n)
            if not self.insert(r, u, int(self.pos[r, u])):
                # should not happen; drop the stale evaluation and go on
                self.computed[r] = False
                self.cost[r, u] = _BIG
            else:
                added += 1
            if time.perf_counter() > deadline:
                return added

    def remove(self, r: int, drop: set[int]) -> bool:
        seq = self.routes[r].seq
        new = [v for v in seq[1:-1] if v not in drop]
        if len(new) == len(seq) - 2:
            return False
        rs = self._build(r, [seq[0], *new, seq[-1]])
        if rs is None:  # non-metric travel: removing made the route longer; keep it
            return False
        self._set(r, rs)
        for v in seq[1:-1]:
            if v in drop:
                self.unvisited[v] = True
        return True

    # ---- solution bookkeeping -----------------------------------------------------------------------
    def score(self) -> int:
        eff = self.effl
        return sum(eff[v] for rs in self.routes for v in rs.seq[1:-1])

    def travel(self) -> int:
        return sum(rs.travel for rs in self.routes)

    def snapshot(self) -> list[_RouteState]:
        return list(self.routes)

    def restore(self, snap: list[_RouteState]) -> None:
        changed = False
        for r in range(self.m):
            if self.routes[r] is not snap[r]:
                self._set(r, snap[r])
                changed = True
        if changed:
            unv = self.cand.copy()
            for rs in self.routes:
                unv[rs.seq[1:-1]] = False
            self.unvisited = unv

    def load(self, routes: Sequence[Sequence[int]]) -> None:
        """Start from given stop lists, dropping stops that are invalid or break feasibility."""
        used: set[int] = set()
        for r in range(min(self.m, len(routes))):
            if not self.route_ok[r]:
                continue
            rt = self.p.routes[r]
            keep = [rt.start, rt.end]
            for v in routes[r]:
                v = int(v)
                if not (0 <= v < self.n) or v in used or not self.reach[r, v]:
                    continue
                trial = keep[:-1] + [v, keep[-1]]
                rs = self._build(r, trial)
                if rs is not None:
                    keep = trial
                    used.add(v)
            self._set(r, self._build(r, keep))
        unv = self.cand.copy()
        for rs in self.routes:
            unv[rs.seq[1:-1]] = False
        self.unvisited = unv

    def stops(self) -> list[list[int]]:
        return [list(rs.seq[1:-1]) for rs in self.routes]

    # ---- destroy operators ----------------------------------------------------------------------------
    def visited(self) -> list[tuple[int, int]]:
        return [(r, v) for r, rs in enumerate(self.routes) for v in rs.seq[1:-1]]

    def destroy(self, kind: str, q: int) -> None:
        rng = self.rng
        vis = self.visited()
        if not vis:
            return
        drop: dict[int, set[int]] = {}
        if kind == "segment":
            for r, rs in enumerate(self.routes):
                k = len(rs.seq) - 2
                if k == 0 or rng.random() < 0.3:
                    continue
                length = rng.randint(1, max(1, min(k, q)))
                s = rng.randint(1, k - length + 1)
                drop[r] = set(rs.seq[s : s + length])
        elif kind == "random":
            for r, v in rng.sample(vis, min(q, len(vis))):
                drop.setdefault(r, set()).add(v)
        elif kind == "related":
            r0, seed = rng.choice(vis)
            T = self.Tl
            key = sorted(vis, key=lambda rv: T[seed][rv[1]] + T[rv[1]][seed])
            for r, v in key[:q]:
                drop.setdefault(r, set()).add(v)
        for r, d in drop.items():
            self.remove(r, d)


# --------------------------------------------------------------------------------------------------


def solve(
    problem: Problem,
    time_limit: float,
    initial: list[list[int]] | None = None,
    seed: int = 0,
) -> Solution:
    t0 = time.perf_counter()
    deadline = t0 + max(0.0, time_limit)
    eng = _Engine(problem, seed)
    if initial:
        eng.load(initial)
    eng.fill(deadline=deadline)
    status = "feasible"
    if time.perf_counter() > deadline:
        status = "timeout-initial"
    best = eng.snapshot()
    best_val = (eng.score(), -eng.travel())
    cur_val = best_val
    rng = eng.rng
    it = 0
    since = 0
    import os
    P = {k: float(v) for k, v in (x.split("=") for x in os.environ.get("TWP", "").split(",") if x)}
    t_start, t_end = P.get("t0", 0.3), P.get("t1", 0.01)
    noise = P.get("noise", 0.3)
    restart = P.get("restart", 1e9)
    qfrac = P.get("qfrac", 0.25)
    plateau = P.get("plateau", 0)
    mean_score = float(eng.eff[eng.cand].mean()) if eng.cand.any() else 1.0
    start_loop = time.perf_counter()
    stat_imp, stat_n, stat_q = {}, {}, {}
    span = max(deadline - start_loop, 1e-9)
    while status == "feasible":
        now = time.perf_counter()
        if now >= deadline:
            break
        frac = (now - start_loop) / span
        temp = mean_score * t_start * (t_end / t_start) ** frac
        it += 1
        nvis = sum(len(rs.seq) - 2 for rs in eng.routes)
        q = rng.randint(1, max(1, min(nvis, 2 + int(nvis * qfrac))))
        kind = rng.choice(("segment", "random", "related"))
        prev = eng.snapshot()
        eng.destroy(kind, q)
        eng.fill(noise=noise, deadline=deadline)
        val = (eng.score(), -eng.travel())
        if val > cur_val:
            stat_imp[kind] = stat_imp.get(kind, 0) + 1
            stat_q[min(q, 30) // 3] = stat_q.get(min(q, 30) // 3, 0) + 1
        stat_n[kind] = stat_n.get(kind, 0) + 1
        if val > best_val:
            best_val = val
            best = eng.snapshot()
            since = 0
        else:
            since += 1
        if val >= cur_val or (plateau and val[0] == cur_val[0]) or rng.random() < math.exp((val[0] - cur_val[0]) / temp):
            cur_val = val
        else:
            eng.restore(prev)
        if since > restart:
            eng.restore(best)
            cur_val = best_val
            since = 0
    eng.restore(best)
    routes = eng.stops()
    score = sum(problem.score[v] for rr in routes for v in rr)
    travel = sum(route_travel(problem, r, rr) for r, rr in enumerate(routes))
    visited = {v for rr in routes for v in rr}
    missing = sorted(u for u in eng.mand if u not in visited)
    if not all(eng.route_ok):
        status = "infeasible"
    return Solution(
        routes=routes,
        score=score,
        travel=travel,
        status=status,
        seconds=time.perf_counter() - t0,
        missing_mandatory=missing,
        iterations=it,
        stats={"evals": eng.evals, "imp": stat_imp, "n": stat_n, "q": sorted(stat_q.items())},
    )
