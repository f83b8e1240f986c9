"""Compiled inner loops of planner.toptw (numba) for routes whose stops each have one usable window.

They compute exactly what toptw's numpy code computes for such routes (tests/test_toptw.py runs both and
compares the answers), in one pass and without temporaries: on the benchmarks a route has 20-40 stops and an
insertion is evaluated for about 100 candidates at a time, sizes at which numpy's per-call overhead, not the
arithmetic, dominated the time.  Compiled code is cached beside this file (numba's ``cache=True``), so only
the first use on a machine pays the compilation (a few seconds); ``warm_up`` does it up front.
"""

from __future__ import annotations

import numpy as np
from numba import njit

BIG = 1 << 50  # toptw._BIG: "infinite" time


@njit(cache=True)
def build_route(q, T, S, OPEN, CLOSE, earliest, latest):
    """Earliest-start schedule of the node sequence q (start node, stops, end node) on one route.

    Returns (feasible, arrival, start, slack, departure, travel): start_i = max(open_i, arrival_i), slack_i =
    latest feasible start_i - arrival_i (the latest start is min(close_i, latest start_{i+1} - service_i -
    travel_i)), departure_i = start_i + service_i for every position but the last.
    """
    k = len(q)
    arr = np.empty(k, np.int64)
    st = np.empty(k, np.int64)
    dep = np.empty(k - 1, np.int64)
    slack = np.empty(k, np.int64)
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
                return False, arr, st, slack, dep, travel
            st[i] = a
        else:
            s = max(a, OPEN[q[i]])
            if s > CLOSE[q[i]]:
                return False, arr, st, slack, dep, travel
            st[i] = s
    late = latest
    slack[k - 1] = latest - arr[k - 1]
    for i in range(k - 2, -1, -1):
        close = earliest if i == 0 else CLOSE[q[i]]
        late = min(close, late - S[q[i]] - T[q[i], q[i + 1]])
        slack[i] = late - arr[i]
    return True, arr, st, slack, dep, travel


@njit(cache=True)
def evaluate_insertions(prev, nxt, dep, arr_next, slack_next, U, T, S, OPEN, CLOSE, weight, factor, monotone,
                        cost, pos, computed, key):
    """For each candidate u in U: the least time shift of inserting it into a gap of the route (gap p lies
    between prev[p] and nxt[p]; the first of equal gaps wins, as with numpy's argmin) into cost[u] and pos[u],
    and its insertion key weight[u] / (shift + 1) * factor[j] into key[u] (-1 and cost BIG where it fits
    nowhere); computed[u] becomes True.  cost, pos, computed and key are one route's rows of the engine's
    tables, written in place."""
    for j in range(len(U)):
        u = U[j]
        opens, closes, service = OPEN[u], CLOSE[u], S[u]
        best, at = BIG, 0
        for p in range(len(prev)):
            start = max(dep[p] + T[prev[p], u], opens)
            if start > closes:
                continue
            shift = start + service + T[u, nxt[p]] - arr_next[p]
            if shift <= slack_next[p] and shift < best:
                best, at = shift, p
        cost[u], pos[u], computed[u] = best, at, True
        if best >= BIG:
            key[u] = -1.0
        else:
            key[u] = weight[u] / ((best if monotone else max(best, 0)) + 1.0) * factor[j]


def warm_up() -> None:
    """Compile (or load from the cache) both kernels now rather than inside the first timed search."""
    q = np.array([0, 1, 0], dtype=np.int64)
    T = np.zeros((2, 2), dtype=np.int64)
    S = np.zeros(2, dtype=np.int64)
    wide = np.array([0, 10], dtype=np.int64)
    build_route(q, T, S, S, wide, 0, 10)
    rows = np.zeros(2, dtype=np.int64)
    evaluate_insertions(q[:-1], q[1:], S, S, S, q[1:2], T, S, S, wide, np.ones(2), np.ones(1), True, rows,
                        rows.copy(), np.zeros(2, dtype=np.bool_), np.zeros(2))
