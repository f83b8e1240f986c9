"""Compiled inner loops of planner.toptw (numba) for routes whose stops each have one usable window.

On the benchmarks a route has 20-80 stops and an insertion is evaluated for about 100 candidates at a time:
sizes at which numpy's per-call overhead, not the arithmetic, dominated the time.  build_route and
evaluate_insertions compute exactly what the numpy code computed (the same answers at a fixed budget);
fill_routes is the engine's whole greedy fill, with its random numbers taken from a buffer the engine
draws.  tests/test_toptw.py checks the schedules against `schedule`, every slack against a forward pass,
and the insertion costs against numpy's evaluation (_Engine._shifts).  Compiled code is cached beside this
file (numba's ``cache=True``), so only the first use on a machine pays the compilation (about 4 s);
``planner.toptw.warm_up`` does it up front.
"""

from __future__ import annotations

import numpy as np
from numba import njit

BIG = 1 << 50  # toptw._BIG: "infinite" time


@njit(cache=True)
def schedule_into(q, k, T, S, OPEN, CLOSE, earliest, latest, arr, st, slack, dep):
    """Earliest-start schedule of the node sequence q[:k] (start node, stops, end node) on one route, written
    into arr, st, slack and dep; returns (feasible, travel).  start_i = max(open_i, arrival_i), slack_i =
    latest feasible start_i - arrival_i (the latest start is min(close_i, latest start_{i+1} - service_i -
    travel_i)), dep_i = start_i + service_i for every position but the last."""
    arr[0] = st[0] = earliest
    travel = 0
    for i in range(1, k):
        leg = T[q[i - 1], q[i]]
        travel += leg
        dep[i - 1] = st[i - 1] + S[q[i - 1]]
        a = dep[i - 1] + leg
        arr[i] = a
        if i == k - 1:
            if a > latest:
                return False, travel
            st[i] = a
        else:
            s = max(a, OPEN[q[i]])
            if s > CLOSE[q[i]]:
                return False, travel
            st[i] = s
    late = latest
    slack[k - 1] = latest - arr[k - 1]
    for i in range(k - 2, -1, -1):
        close = earliest if i == 0 else CLOSE[q[i]]
        late = min(close, late - S[q[i]] - T[q[i], q[i + 1]])
        slack[i] = late - arr[i]
    return True, travel


@njit(cache=True)
def build_route(q, T, S, OPEN, CLOSE, earliest, latest):
    """schedule_into on new arrays: (feasible, arrival, start, slack, departure, travel)."""
    k = len(q)
    arr, st, slack, dep = np.empty(k, np.int64), np.empty(k, np.int64), np.empty(k, np.int64), np.empty(k - 1, np.int64)
    ok, travel = schedule_into(q, k, T, S, OPEN, CLOSE, earliest, latest, arr, st, slack, dep)
    return ok, arr, st, slack, dep, travel


@njit(cache=True)
def _evaluate_one(u, q, k, arr, slack, dep, T, S, OPEN, CLOSE):
    """(least time shift, gap) of inserting u into the route q[:k] (gap p: between q[p] and q[p + 1]); BIG
    and 0 where it fits nowhere.  The first of equal gaps wins, as with numpy's argmin."""
    opens, closes, service = OPEN[u], CLOSE[u], S[u]
    best, at = BIG, 0
    for p in range(k - 1):
        start = max(dep[p] + T[q[p], u], opens)
        if start > closes:
            continue
        shift = start + service + T[u, q[p + 1]] - arr[p + 1]
        if shift <= slack[p + 1] and shift < best:
            best, at = shift, p
    return best, at


@njit(cache=True)
def _evaluate_one_at_random(u, q, k, arr, slack, dep, T, S, OPEN, CLOSE, pos_noise, uniforms, used):
    """_evaluate_one for "wild" iterations: the gap is the least shift * (1 + pos_noise * U) + 0.5 * U (U
    uniform, one per feasible gap), which also breaks ties at random; returns (shift there, gap, uniforms
    used)."""
    opens, closes, service = OPEN[u], CLOSE[u], S[u]
    best, at, least = BIG, 0, np.inf
    for p in range(k - 1):
        start = max(dep[p] + T[q[p], u], opens)
        if start > closes:
            continue
        shift = start + service + T[u, q[p + 1]] - arr[p + 1]
        if shift > slack[p + 1]:
            continue
        perturbed = shift + (abs(shift) * pos_noise + 0.5) * uniforms[used]
        used += 1
        if perturbed < least:
            best, at, least = shift, p, perturbed
    return best, at, used


@njit(cache=True)
def _key(weight, best, monotone, factor):
    """toptw._Engine._key for one candidate: weight (score^2) / (shift + 1) * factor; -1 where it fits nowhere."""
    if best >= BIG:
        return -1.0
    return weight / ((best if monotone else max(best, 0)) + 1.0) * factor


@njit(cache=True)
def evaluate_insertions(q, arr, slack, dep, U, T, S, OPEN, CLOSE, weight, factor, monotone,
                        cost, pos, computed, key):
    """For each candidate u in U (the j-th): its least insertion shift and gap into the route q (with its
    schedule arr, slack, dep) into cost[u] and pos[u], and its insertion key weight[u] / (shift + 1) *
    factor[j] into key[u] (-1 where it fits nowhere); computed[u] becomes True.  cost, pos, computed and key
    are one route's rows of the engine's tables, written in place."""
    for j in range(len(U)):
        u = U[j]
        best, at = _evaluate_one(u, q, len(q), arr, slack, dep, T, S, OPEN, CLOSE)
        cost[u], pos[u], computed[u] = best, at, True
        key[u] = _key(weight[u], best, monotone, factor[j])


@njit(cache=True)
def _enough_uniforms(uniforms, used, n, k, noise, wild):
    """Whether one evaluation of a route of k positions can draw its random numbers (at most one per
    candidate, and in wild fills one more per candidate and gap)."""
    return not noise or used + n * (k if wild else 1) <= len(uniforms)


@njit(cache=True)
def fill_routes(seqs, lens, arr, st, slack, dep, travel, live, earliest, latest, T, S, OPEN, CLOSE, reach,
                unvisited, weight, monotone, cost, pos, computed, key, uniforms, used, noise, wild, pos_noise):
    """Greedy insertion (the engine's fill, for routes that hold only single-window nodes and problems
    without exclusive groups) until nothing fits or the random numbers run out.

    Route r is the node sequence seqs[r, :lens[r]] with its schedule in the rows of arr, st, slack, dep and
    its travel in travel[r]; every table is updated in place.  Candidate j of an evaluation takes the key
    factor 1 - noise + 2 * noise * uniforms[used + j]; in wild fills the gap is drawn too
    (_evaluate_one_at_random).  Returns (stops inserted, routes evaluated, uniforms used, finished): not
    finished means call again with fresh uniforms (the tables are consistent between insertions).
    """
    m, n = key.shape
    added = evaluations = 0
    stale = live.copy()  # routes whose candidates may need evaluating
    while True:
        for r in range(m):
            if stale[r]:
                if not _enough_uniforms(uniforms, used, n, lens[r], noise, wild):
                    return added, evaluations, used, False
                used, evaluated = _refresh_route(r, seqs, lens, arr, slack, dep, reach, unvisited, T, S, OPEN,
                                                 CLOSE, weight, monotone, cost, pos, computed, key, uniforms, used,
                                                 noise, wild, pos_noise)
                evaluations += evaluated
                stale[r] = False
        best, r, u = -1.0, 0, 0
        for rr in range(m):
            for uu in range(n):
                if key[rr, uu] > best:
                    best, r, u = key[rr, uu], rr, uu
        if best < 0:
            return added, evaluations, used, True
        k, p = lens[r], pos[r, u]
        seqs[r, p + 2:k + 1] = seqs[r, p + 1:k].copy()
        seqs[r, p + 1] = u
        ok, t = schedule_into(seqs[r], k + 1, T, S, OPEN[r], CLOSE[r], earliest[r], latest[r], arr[r], st[r],
                              slack[r], dep[r])
        if ok:
            lens[r], travel[r] = k + 1, t
            added += 1
            for v in range(n):
                if not monotone or cost[r, v] < BIG:  # monotone: an infeasible insertion stays infeasible
                    computed[r, v] = False
                key[r, v] = -1.0
            unvisited[u] = False
            key[:, u] = -1.0
        else:  # cannot happen with exact bookkeeping; never loop on it (the route is restored)
            seqs[r, p + 1:k] = seqs[r, p + 2:k + 1].copy()
            schedule_into(seqs[r], k, T, S, OPEN[r], CLOSE[r], earliest[r], latest[r], arr[r], st[r], slack[r],
                          dep[r])
            computed[r, u] = True
            key[r, u] = -1.0
        stale[r] = True


@njit(cache=True)
def _refresh_route(r, seqs, lens, arr, slack, dep, reach, unvisited, T, S, OPEN, CLOSE, weight, monotone, cost,
                   pos, computed, key, uniforms, used, noise, wild, pos_noise):
    """Evaluate route r for every reachable, unvisited candidate not yet evaluated on it; returns (the new
    count of uniforms used, whether any candidate was evaluated)."""
    q, k = seqs[r], lens[r]
    evaluated = False
    for u in range(len(unvisited)):
        if reach[r, u] and unvisited[u] and not computed[r, u]:
            evaluated = True
            if wild:
                best, at, used = _evaluate_one_at_random(u, q, k, arr[r], slack[r], dep[r], T, S, OPEN[r], CLOSE[r],
                                                         pos_noise, uniforms, used)
            else:
                best, at = _evaluate_one(u, q, k, arr[r], slack[r], dep[r], T, S, OPEN[r], CLOSE[r])
            cost[r, u], pos[r, u], computed[r, u] = best, at, True
            factor = 1.0
            if noise:
                factor = 1.0 - noise + 2.0 * noise * uniforms[used]
                used += 1
            key[r, u] = _key(weight[u], best, monotone, factor)
    return used, evaluated

