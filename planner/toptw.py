"""Team orienteering with time windows (TOPTW): the optimiser behind multi-day itineraries and the benchmarks.

Problem: routes (days) with their own start/end nodes and time budgets; nodes with a score, a service time
and one or more time windows for the START of service; maximise the total score, then minimise travel;
mandatory nodes count as a huge score; of each "exclusive" group at most one node is visited (the
product's towns for one night).  `solve` is the optimiser, `schedule` the independent timing that callers
and tests use to re-check any answer.

Pipeline (all integer arithmetic):

1. Preprocessing.  Windows are merged into sorted disjoint intervals.  Per route, a node keeps only the
   intervals it could use at all (shortest-path bounds from the route's start and to its end); a node with
   one usable interval on a route is a *single-window* node there (the benchmarks: always; the product,
   where one route spans the whole trip: night nodes).  If travel[a][v] <= travel[a][u] + service[u] +
   travel[u][v] for all candidates u, an infeasible insertion stays infeasible as the route fills up, and
   the insertion loop skips re-evaluating it.
2. Bookkeeping.  Each route keeps its earliest-start schedule and, per position, the slack (= wait + max
   shift of Vansteenwegen et al.): how much the arrival there may slip.  Routes without multi-window stops
   are rebuilt by a compiled loop (planner.toptw_kernels, numba), the others by a forward pass that
   starts where the change does.
3. Insertion evaluation, O(1) per (gap, candidate) pair: the time shift a candidate causes at the next
   stop must not exceed that stop's slack.  On problems whose routes can only hold single-window nodes and
   that have no pinned nodes or exclusive groups (the benchmarks), the whole greedy fill (step 4's loop)
   runs compiled: kernels.fill_routes, 3-3.7x the iterations per second of the numpy version it replaced
   (issue 10).  Otherwise numpy evaluates all pairs of a route at once.  Multi-window
   candidates get the first interval still open on arrival (vectorised).  Multi-window stops already in a
   route make its slack conservative (a delay may push such a stop into a later interval); pairs that fail
   the conservative test but pass an upper bound get an exact forward pass.
   A stop whose window is a single instant (the product's night nodes) is *pinned*: no delay crosses it,
   so the insertion costs of each stretch between pinned stops depend only on that stretch's stops and are
   memoised by content.  After an insertion only one stretch is evaluated again, and the schedule of a
   multi-window route is rebuilt from its previous state (the benchmarks have no pinned stops).
4. Construction: greedy insertion by score^2 / (shift + 1) (Vansteenwegen et al. 2009), mandatory nodes
   first.
5. Search: ruin and recreate with simulated-annealing acceptance.  Each iteration removes 1 .. 2 + 25 %
   of the visited stops ("shaw": close in travel and service-start time to a random stop; "slice": served
   at about the same time on any route) or, in 10 % of iterations, moves one stop to a random feasible
   place (reordering; another day in the product), then re-inserts greedily with the key times
   U(0.4, 1.6) at the least-shift position (in 10 % of iterations: key times U(0, 2), position by least
   shift times U(1, 1.3), and mandatory nodes in a random feasible place, which in the product tries
   another town for a night: mean bench-plans score +0.4 %).
   Temperature: 1.0 -> 0.1 mean candidate scores, geometric over the time budget; after 25 % of the budget
   without a new best the walk restarts, reheated, from the best solution.  It stops early when every
   reachable node is visited (the score is then optimal).  workers > 1 runs independent chains in forked
   processes and keeps the best.
6. OR-Tools (last 10 % of the budget): the same problem as an OR-Tools routing model (time dimension with
   waiting as slack, windows as cumul domains, one disjunction per node with penalty K * score, K above any
   travel, so the objective is the same lexicographic one), seeded with the best solution and improved by
   guided local search.  Its answer is re-checked with `schedule` and kept only if strictly better.

Determinism (what tests and planner.trip rely on): with a budget, Params(max_iterations=N) or max_evals,
the answer depends only on the problem, seed, workers and params.  Every chain runs its whole budget
(the "stop, someone reached the upper bound" signal between chains exists only without a budget), the
main process waits for all chains, chains are combined by value with ties to the lowest chain index,
and the OR-Tools pass is a plain descent to its first local optimum (guided local search ends only on a
clock).  The time limit is then a safety cap; stats["capped"] says whether it cut anything short.

Why this design, with the figures it was chosen on (mean gap to best known, 1 s per instance, this 2-core
machine, one process; families c/r/rc = Solomon m = 1, pr = Cordeau pr01-pr10 with m = 1/2/3/4):

- OR-Tools alone (the model of step 6, its own first solution, guided local search, 1 s): c 3.9 %,
  r 15.8 %, rc 16.8 %, pr 18.3 / 12.4 / 13.7 / 11.2 %.  Too weak to be the main search.
- First numpy version: greedy ratio insertion + random / segment ("shake") / related removal, accepting
  only non-worse solutions, i.e. close to Vansteenwegen et al.'s ILS: c 0.5, r 0.8, rc 3.9, pr 4.0 / 4.3 /
  4.6 / 4.2 %.  Annealing acceptance instead: c 0.0, r 0.0, rc 0.0, pr 2.6 / 2.8 / 3.0 / 3.5 %.  Then
  shaw + slice removal, cached per-route evaluations, the monotone skip, vectorised schedules (pr10 m = 4:
  580 -> 1100 iterations/s) and the stall restart give the figures in the benchmark report below.
- OR-Tools pass: 0.9 s search + 0.1 s OR-Tools versus the same 0.9 s search alone, all 67 pairs: the score
  improved on 8 pairs (+1..+3), the travel on 19 more (mean -0.5 %, up to -11 % on pr01 m = 4); giving the
  search those 0.1 s instead gains about 0.1 % score.  On tiny adversarial multi-window instances found by
  hypothesis (a mandatory stop that must take its later window) the annealing alone misses the optimum and
  the OR-Tools pass finds it (tests/test_toptw.py).  So OR-Tools is the polishing stage and the
  cross-check model.
- Tried and dropped: CP-SAT set packing over the pool of routes seen during the search (Hu & Lim's route
  recombination): +6 on pr10 m = 4, 0 elsewhere, and importing cp_model alone takes 0.25 s; a "replace"
  local search (swap a stop for an unvisited node), an insertion key that discounts waiting, score-first
  re-insertion, destroying on a subset of routes: no gain at equal time.
- Product trips (planner.trip: one route over all days, ~170 sites with one window per open day, night
  nodes): 10-day trip 7 -> ~380 iterations/s once multi-window candidates were vectorised and the exact
  checks bounded.  The annealing temperature is in mean scores of ordinary (not mandatory) nodes: while
  the product's night nodes counted in it (score 1e9), it accepted almost any loss, and 7-day trips
  scored about 5 % lower.  Then the pinned-stretch memo, the exclusive groups (the other towns of a
  night that already has one are not evaluated), mandatory-first insertion, incremental multi-window
  schedules and exact checks only for a candidate's best gap: iterations/s (one chain, 2 s) 3-day trip
  1800 -> 2600, 5-day 950 -> 1600, 7-day 650 -> 1360 and 380 -> 990 (packed pace).  Tried on trips and
  dropped (no gain in `hongtu bench plans` scores, 3 seeds per request): destroying a whole day, 4-8
  greedy starts, a second chain with other temperatures or from a fresh randomised construction, and
  other temperature / destroy size / wild / relocate settings.

Benchmark report of the numpy version (before the compiled kernels; mean gap % to best known; every
answer re-checked by planner.benchmarks.check_routes; longest solve 1.011 s at a 1 s limit, 10.01 s at 10 s):

    limit  workers  c     r          rc         pr m=1     m=2        m=3        m=4        pr all
    1 s    1        0.00  0.00-0.07  0.29-0.89  0.52-1.08  1.14-1.72  1.79-2.26  2.65-3.07  1.67-1.91  (3 runs)
    1 s    2        0.00  0.00-0.07  0.00       0.29-0.65  0.89-1.01  1.26-1.78  2.15-2.49  1.23-1.42  (3 runs)
    10 s   1        0.00  0.00       0.00       0.19       0.71       0.83       1.20       0.73
    10 s   2        0.00  0.00       0.00       0.05       0.40       0.90       0.97       0.58

(rc at 1 s, one chain: rc104 sometimes stays at 283 of 301).  run_toptw and the product
(planner.trip.default_chains) default to two chains.

Generalisation (issue 10): Cordeau's pr11-pr20 (bench/toptw: the customers of pr01-pr10 with wide
windows, so routes of 40-80 stops), never used for tuning.  At 1 s, two chains, while other jobs shared
the 2 cores: mean gap 3.37 / 3.71 / 3.08 / 3.84 % for m = 1 / 2 / 3 / 4 (3.50 % overall, worst pr19
m = 1 at 13 %), against 0.3-2.5 % on pr01-pr10.  It closes slowly with more search, not by itself: at
10000 iterations (one chain, about 6 s) pr16/pr19/pr20 still average 3.8 % at m = 1.  Tried on
deterministic budgets (one chain, no OR-Tools pass; "n its, k seeds" = mean gap over pr11-pr20 x m = 1..4):
- 2-opt (Params.two_opt: reverse the stretch that shortens a route most while feasible, on candidates
  about to be accepted, then re-fill): 1400 its, 3 seeds: 3.68 % against 3.94 % without, but 21 % more
  time per iteration; on pr01-pr10, 1400 its, 2 seeds: 1.97 against 2.14 % for 25 % more time; at 1 s
  (wall clock, loaded machine, one run) no clear gain, nor on the hardest four (pr15/16/19/20, 3 seeds):
  5.21 % at 1400 its with it, 5.38 % at 1700 its without, in the same time.  Applied after every
  re-insertion it cost 75 % more time per iteration.  Kept as an option, off by default.
- segment or random removal as a third operator, destroy_frac 0.15 / 0.4, relocate 0.25, temperature
  2.0 or 0.5 -> 0.05, wild 0.25, noise 0.3, insertion key score / shift instead of score^2 / shift,
  a 0.4 s OR-Tools share at 1 s: none better beyond the spread between seeds (800-1400 its, 1-3 seeds).
Later (issue 10, part 2): iterations matter most there (pr11-pr20, one chain, no OR-Tools pass, 2 seeds: 3.57 %
at 1500 its, 2.84 % at 3000 its), so evaluation and schedule building now make fewer numpy calls (same
answers at a budget; 1.2x iterations/s on pr19 m = 1, pr20 m = 4, pr10 m = 4, pr16 m = 2).  At 1 s, two
chains, 2 runs each of old / new code back to back (load about 2 from the two chains): pr11-pr20 2.45 /
2.37 % -> 2.26 / 2.42 % (m = 1: 2.42 / 2.08 -> 1.91 / 1.83 %; m = 2-4 still 2.2-2.8 %), pr01-pr10 1.42 /
1.37 -> 1.56 / 1.41 % (m = 4: 2.3-2.6 % either way), Solomon c / r / rc 0.00 / 0.00-0.06 / 0.00 %:
within the spread between runs.  Tried without gain (1500-1800 its, 2-3 seeds, pr11-pr20 x m = 1..4,
baseline 3.3-3.6 %): travel in the annealing delta (0.1 / 0.5 / 1.0 score per unit of route time:
3.47 / 3.83 / 4.75 %), destroy sizes skewed small (q_max * U^2: 4.02 % for 15 % less time) or large
(U^0.6 / U^0.4: 3.35 / 3.61 % for 17 / 33 % more time), 2-opt on the changed routes only (3.39 % for 21 %
more time), stall restart after 10 % / 50 % (3.70 / 3.33 % against 3.31 %), one 2-D gather instead of two
takes (slower).  The OR-Tools descent still pays at 1500 its (3.32 -> 3.26 % for about 0.1 s).
Third look (one chain, no OR-Tools pass, pr11-pr20 x m = 1..4, 2 seeds): 3000 its 2.84 %, 6000 its 2.21 %
(m = 1 / 2 / 3 / 4: 2.58 / 2.34 / 1.80 / 2.13 %).  The worst pair at every m is pr16 (4-6 %), and there
more search does not help: pr16 m = 1 (best known 674) ends at 609-643 after 3000 its (12 seeds),
565-650 after 1500 its and 640-642 after 30000 its (4 seeds); no setting tried moved its 8-seed best past
650 (noise 1.0, wild 0.5, destroy_frac 0.5, temp_start 3, temp_end 0.3, relocate 0.3, pos_noise 1.0,
stall 0, 2-opt, a "worst removal" operator (least score per time spent), banning 30-50 % of the best's
stops for a while after each stall restart).  OR-Tools guided local search from our 643 for 60 s finds
nothing better, from scratch 549; its travel re-optimisation of our 33 stops saves 0.2 %, so the orders
are tight and the stop set is what differs.  Racing (4-8 short chains, then the best one continued)
gave 2.56-2.93 % against 2.84 %, within the spread.  A giant-tour "select" (Vidal et al.: every node in
one tour, then the best feasible subsequence by labels; the unvisited nodes placed among our 643 route's
stops by window opening, midpoint or a random time in the window) returns the same 643 (up to 200 labels
per node; 30 labels lose the route: 520-641), so that route is optimal for its order-compatible tours.
Then compiled kernels (same session): schedule building, insertion evaluation and then the whole greedy
fill in numba (planner.toptw_kernels).  The first two give the same answers as numpy at a fixed budget;
iterations per second (one chain, 2000 iterations): pr16 m = 1 0.59 -> 0.21 s, pr20 m = 4 1.88 -> 0.47 s,
pr10 m = 4 1.46 -> 0.42 s, pr19 m = 2 0.83 -> 0.23 s.  Tried inside the kernel without gain: skipping gaps
by time (break / continue on departure and latest start: 20-30 % slower, the branches cost more than the
skipped pairs), a branch-free pair test, the transposed matrix for travel into the candidate, int32
travel; lazy re-evaluation of stale keys (re-evaluate only the candidate about to be inserted: no faster,
the argmax is repeated per stale key); a 3 % OR-Tools share at 1 s.  At 1 s, two chains, quiet machine,
seeds 0 / 1 / 2 (`hongtu bench toptw ... --seed N`), mean gap % per m = 1 / 2 / 3 / 4:

    pr11-pr20   1.38 2.05 1.71 1.91 | 1.30 1.95 1.68 2.02 | 1.39 1.52 1.36 1.87   mean 1.36 1.84 1.58 1.93
    pr01-pr10   0.25 0.79 0.96 1.37 | 0.35 0.66 0.89 1.24 | 0.12 0.77 1.17 1.53   mean 0.24 0.74 1.01 1.38
    Solomon c / r / rc (m = 1): 0.00 in every run

So the 2 % target holds for the mean of three seeds in every family and m, and in 22 of the 24 single
runs (pr11-pr20 m = 2 seed 0: 2.05 %, m = 4 seed 1: 2.02 %).  Five more pr11-pr20 runs (seeds 0-4 again):
1.78 1.83 1.54 1.86 | 1.31 1.79 1.66 1.95 | 1.63 1.61 1.62 1.54 | 1.62 2.18 1.79 1.62 | 1.78 1.91 1.60 1.81,
so over all eight runs 1.52 / 1.86 / 1.62 / 1.82 %, 3 of 32 single runs over 2 %.  pr16 remains the hardest
instance (3-5 %).

Limitation: like every insertion method it cannot build a route whose stops are only reachable together
(possible when travel violates the triangle inequality); such stops stay unvisited.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from planner import toptw_kernels as kernels

__all__ = ["Params", "Problem", "Route", "Solution", "Visit", "route_travel", "schedule", "solve", "warm_up"]


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
    exclusive: Sequence[Sequence[int]] = ()  # groups of nodes of which at most one is visited (the product:
    # the towns for one night)
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
    travel: int  # total travel time of all routes (start -> stops -> end, empty routes included)
    status: str  # "optimal" | "feasible" | "timeout-initial" | "infeasible" (see solve)
    seconds: float
    missing_mandatory: list[int]
    iterations: int = 0
    stats: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Params:
    """Search settings (the defaults are what the module docstring's figures were measured with)."""

    temp_start: float = 1.0  # simulated-annealing temperature at the start, in mean candidate scores
    temp_end: float = 0.1  # ... and at the deadline (geometric cooling over the time budget)
    noise: float = 0.6  # insertion ratio multiplied by U(1 - noise, 1 + noise)
    destroy_frac: float = 0.25  # removes 1 .. 2 + destroy_frac * (visited stops) stops per iteration
    pos_noise: float = 0.3  # in "wild" iterations: insertion position by least shift * U(1, 1 + pos_noise)
    wild: float = 0.1  # share of iterations with noise 1.0 (insertion keys times U(0, 2))
    stall: float = 0.25  # restart from the best (reheated) after this share of the budget without a new best
    relocate: float = 0.1  # share of iterations that move one stop to a random feasible place instead
    two_opt: bool = False  # straighten candidates that would be accepted (2-opt), then re-fill: see docstring
    operators: tuple[str, ...] = ("shaw", "slice")
    polish: bool = True  # OR-Tools routing pass on the best solution at the end (see module docstring)
    polish_share: float = 0.1  # share of the time budget reserved for it
    max_iterations: int = 0  # > 0: stop after this many iterations per chain (deterministic, see solve)
    max_evals: int = 0  # > 0: stop after this many route evaluations per chain (deterministic, see solve)

    @property
    def budgeted(self) -> bool:
        """True when the search stops on a count, not a clock: the answer then depends only on the seed."""
        return bool(self.max_iterations or self.max_evals)


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
    return sum(problem.travel[a][b] for a, b in zip(path, path[1:], strict=False))


# --------------------------------------------------------------------------------------------------
# Search engine


def _merge_windows(windows) -> list[tuple[int, int]]:
    """Sorted, disjoint intervals (overlapping or touching ones merged): closes are then increasing."""
    out: list[list[int]] = []
    for a, b in sorted((int(a), int(b)) for a, b in windows if a <= b):
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]

_BIG = 1 << 50  # "infinite" time (int64 safe when a few are added)


class _RouteState:
    """Earliest-start schedule of one route (immutable once built; snapshots share these objects).

    Arrays are indexed by position: 0 = start node, last = end node.  ``slack[i]`` is how much the arrival
    at position i may be delayed without breaking the rest of the route (= wait + max shift of the
    literature).  For stops with several windows it is conservative (a delay into a later interval is not
    counted); routes holding such stops get an exact forward-pass check in _Engine._exact_ok.
    """

    __slots__ = ("seq", "q", "arr", "st", "slack", "dep", "travel", "n_multi", "last_multi", "slack_ub", "_np",
                 "_lists", "_segments")

    def __init__(self, seq, q, arr, st, slack, dep, travel, n_multi, last_multi, slack_ub=None):
        self.seq = seq  # list[int], with start and end
        self.q = q  # same as np.int64 array
        self.arr = arr
        self.st = st
        self.slack = slack
        self.dep = dep  # departure from positions 0 .. k
        self.travel = travel
        self.n_multi = n_multi
        self.last_multi = last_multi
        self.slack_ub = slack_ub  # multi-window routes: upper bound on the delay any position can absorb
        self._np = None
        self._lists = None
        self._segments = None

    def views(self):
        """(prev nodes, next nodes, departure of prev, arrival at next, slack at next) per insertion gap."""
        if self._np is None:
            q = self.q
            self._np = (q[:-1], q[1:], self.dep[:, None], self.arr[1:, None], self.slack[1:, None])
        return self._np

    def lists(self) -> tuple[list[int], list[int]]:
        if self._lists is None:
            self._lists = (self.arr.tolist(), self.st.tolist())
        return self._lists

    def slack_lists(self) -> tuple[list[int], list[int]]:
        """slack and slack_ub per position (slack_ub of position 0, never used, as 0), for _build_multi."""
        return self.slack.tolist(), [0, *self.slack_ub[:, 0].tolist()]

    def segments(self, pinned: np.ndarray) -> list[tuple[int, int]]:
        """(first, last) positions of the stretches between pinned stops (see _Engine._best_by_segment)."""
        if self._segments is None:
            cuts = [0, *(np.nonzero(pinned.take(self.q[1:-1]))[0] + 1).tolist(), len(self.seq) - 1]
            self._segments = list(zip(cuts, cuts[1:], strict=False))
        return self._segments


class _Engine:
    def __init__(self, problem: Problem, seed: int):
        self.p = problem
        self.rng = random.Random(seed)
        self.nprng = np.random.default_rng(seed)
        n = len(problem.travel)
        self.n = n
        self.m = m = len(problem.routes)
        T = np.array(problem.travel, dtype=np.int64).reshape(n, n)
        self.T = T
        self.TT = np.ascontiguousarray(T.T)
        self.Tflat = T.ravel()
        self.Tl = T.tolist()
        terminals = _terminals(problem)
        self.terminals = terminals
        S = np.array(problem.service, dtype=np.int64).reshape(n)
        S[list(terminals)] = 0  # a route leaves its start at `earliest`; no service at start/end nodes
        self.S = S
        self.Sl = S.tolist()
        self.TTS = self.TT + S[None, :]
        self.columns = np.arange(n)  # TTS[b, u] = service of u + travel u -> b
        base = [max(int(s), 0) for s in problem.score]
        mand = {u for u in problem.mandatory if 0 <= u < n and u not in terminals}
        self.big = sum(base) + 1
        self.mand = mand
        self.mand_mask = np.zeros(n, dtype=bool)
        self.mand_mask[list(mand)] = True
        eff = [base[u] + (self.big if u in mand else 0) for u in range(n)]
        self.base = base
        self.effl = eff
        self.eff = np.array(eff, dtype=np.float64)
        self.eff2 = self.eff * self.eff
        wins = [_merge_windows(w) for w in problem.windows]
        cand = np.array([u not in terminals and eff[u] > 0 and bool(wins[u]) for u in range(n)], dtype=bool)
        # Lower bounds on travel between nodes (shortest paths; direct travel is used if the matrix is
        # large) decide which window intervals of a node are usable on a route at all.
        D = None
        if n <= 400:
            D = T.copy()
            for k in range(n):
                np.minimum(D, D[:, k : k + 1] + D[k : k + 1, :], out=D)
        # "Service triangle inequality" travel[a][v] <= travel[a][u] + service[u] + travel[u][v] for all
        # candidates u: then an insertion that is infeasible stays infeasible after further insertions in
        # that route, and fill() skips re-evaluating it (a large saving once routes are nearly full).
        s_min = int(S[cand].min()) if cand.any() else 0
        if D is not None and int((T - D).max()) <= s_min:
            # travel[a][u] + service[u] + travel[u][v] >= D[a][v] + s_min >= travel[a][v]
            self.monotone = True
        elif D is None:
            self.monotone = False  # not worth an O(n^3) check
        else:
            self.monotone = True
            idx = np.nonzero(cand)[0]
            for k0 in range(0, len(idx), 32):
                ks = idx[k0 : k0 + 32]
                via = (T[:, ks].T[:, :, None] + S[ks][:, None, None] + T[ks][:, None, :]).min(axis=0)
                if (via < T).any():
                    self.monotone = False
                    break
        self.OPEN = np.full((m, n), _BIG, dtype=np.int64)
        self.CLOSE = np.full((m, n), -_BIG, dtype=np.int64)
        self.multi: list[dict[int, list[tuple[int, int]]]] = [dict() for _ in range(m)]
        self.is_multi = np.zeros((m, n), dtype=bool)
        self.reach = np.zeros((m, n), dtype=bool)
        self.route_ok = [True] * m
        cand_list = np.nonzero(cand)[0].tolist()
        for r, rt in enumerate(problem.routes):
            a, b, e, lt = rt.start, rt.end, rt.earliest, rt.latest
            if e + self.Tl[a][b] > lt:
                self.route_ok[r] = False
                continue
            lb_in = (D[a] if D is not None else T[a]).tolist()
            lb_out = (D[:, b] if D is not None else T[:, b]).tolist()
            for u in cand_list:
                lo_t = e + (lb_in[u] if D is not None else 0)
                hi_t = lt - self.Sl[u] - (lb_out[u] if D is not None else 0)
                rel = [(o, c) for o, c in wins[u] if c >= lo_t and o <= hi_t]
                if not rel:
                    continue
                self.reach[r, u] = True
                self.OPEN[r, u] = rel[0][0]
                self.CLOSE[r, u] = rel[0][1]
                if len(rel) > 1:
                    self.multi[r][u] = rel
                    self.is_multi[r, u] = True
        self.cand = cand & self.reach.any(axis=0)
        self.reach_list = [np.nonzero(self.reach[r] & self.cand)[0] for r in range(m)]
        # A stop whose window is a single instant on a route (the product's night nodes) is "pinned": its
        # start never moves, so a change on one side of it cannot affect insertions on the other side.
        self.pinned = (self.OPEN == self.CLOSE) & ~self.is_multi & self.reach
        self.any_pinned = bool(self.pinned.any())
        self.pinned_list = self.pinned.tolist()
        self.segment_memo: dict = {}
        self.OPENl = self.OPEN.tolist()
        self.CLOSEl = self.CLOSE.tolist()
        # padded interval tables of the multi-window nodes per route (pad: open = close = _BIG)
        self.WO: list[np.ndarray | None] = []
        self.WC: list[np.ndarray | None] = []
        for r in range(m):
            if not self.multi[r]:
                self.WO.append(None)
                self.WC.append(None)
                continue
            K = max(len(v) for v in self.multi[r].values()) + 1
            WO = np.full((n, K), _BIG, dtype=np.int64)
            WC = np.full((n, K), _BIG, dtype=np.int64)
            for u, ivs in self.multi[r].items():
                WO[u, : len(ivs)] = [o for o, _ in ivs]
                WC[u, : len(ivs)] = [c for _, c in ivs]
            self.WO.append(WO)
            self.WC.append(WC)
        # state
        self.routes: list[_RouteState] = [
            self._build(r, [rt.start, rt.end]) if self.route_ok[r] else None for r, rt in enumerate(problem.routes)
        ]
        self.live = [r for r in range(m) if self.route_ok[r]]
        # "unvisited" = a candidate that is not visited and whose exclusive group has no visited member
        self.group_of = np.full(n, -1, dtype=np.int64)
        self.group_members: list[np.ndarray] = []
        for members in problem.exclusive:
            members = np.array(sorted({int(u) for u in members} - terminals), dtype=np.int64)
            if len(members) > 1:
                self.group_of[members] = len(self.group_members)
                self.group_members.append(members)
        self.unvisited = self.cand.copy()
        # Problems whose routes can only hold single-window nodes, without pinned nodes or exclusive groups (the
        # benchmarks), are filled by the compiled kernels.fill_routes on a table of padded route rows.
        self.compiled_fill = not (self.any_pinned or self.group_members or any(self.multi))
        cap = int(self.cand.sum()) + 2
        self.table = [np.zeros((m, cap), dtype=np.int64) for _ in range(5)]  # seqs, arr, st, slack, dep
        self.table_lens = np.zeros(m, dtype=np.int64)
        self.table_travel = np.zeros(m, dtype=np.int64)
        self.table_holds: list[_RouteState | None] = [None] * m  # the state each row was copied from
        self.live_mask = np.array(self.route_ok)
        self.earliest = np.array([rt.earliest for rt in problem.routes], dtype=np.int64)
        self.latest = np.array([rt.latest for rt in problem.routes], dtype=np.int64)
        self.uniforms, self.uniforms_used = np.empty(0), 0
        self.cost = np.full((m, n), _BIG, dtype=np.int64)
        self.pos = np.zeros((m, n), dtype=np.int64)
        self.computed = np.zeros((m, n), dtype=bool)
        # selection key of inserting node u into route r: score^2 / (shift + 1) times a random factor drawn
        # when (r, u) is evaluated; -1 when infeasible or u is already visited
        self.ratio = np.full((m, n), -1.0)
        self.noise = 0.0
        self.pos_noise = 0.0
        self.stats: dict = {}
        self.evals = 0
        ub = float(self.eff[self.cand & (self.group_of < 0)].sum())
        ub += sum(float(self.eff[g[self.cand[g]]].max(initial=0.0)) for g in self.group_members)
        self.upper_bound = int(ub)
        plain = self.eff[self.cand & (self.eff < self.big)]  # temperatures are in ordinary scores
        self.mean_score = float(plain.mean()) if len(plain) and plain.mean() > 0 else 1.0

    # ---- route schedule -------------------------------------------------------------------------
    def _build(self, r: int, seq: list[int], old: _RouteState | None = None) -> _RouteState | None:
        """Schedule of a stop sequence on route r; None if infeasible.  Routes without multi-window stops
        (every benchmark route) are timed by the compiled kernels.build_route, the others by _build_multi."""
        q = np.array(seq, dtype=np.int64)
        if self.multi[r] and self.is_multi[r].take(q[1:-1]).any():
            return self._build_multi(r, seq, q, old if old is not None and old.slack_ub is not None else None)
        rt = self.p.routes[r]
        ok, arr, st, slack, dep, travel = kernels.build_route(
            q, self.T, self.S, self.OPEN[r], self.CLOSE[r], rt.earliest, rt.latest)
        return _RouteState(seq, q, arr, st, slack, dep, travel, 0, 0) if ok else None

    def _build_multi(self, r: int, seq: list[int], q: np.ndarray, old: _RouteState | None = None
                     ) -> _RouteState | None:
        """Plain forward pass for routes holding stops with several usable windows.

        Given the route's previous state ``old``, the stops both share at the front keep their times, the
        pass stops where a shared stop at the back starts as before, and the backward slack pass stops at
        a pinned stop in front of the change (whose slack is its own wait): after one insertion in a trip,
        only that day is passed over.
        """
        rt = self.p.routes[r]
        Tl, Sl = self.Tl, self.Sl
        OP, CL = self.OPENl[r], self.CLOSEl[r]
        multi = self.multi[r]
        k = len(seq)
        front, back, off = 1, k, 0  # seq[:front] == old.seq[:front]; seq[back:] == old.seq[back + off:]
        if old is None:
            arr, st = [rt.earliest], [rt.earliest]
        else:
            oseq = old.seq
            off = len(oseq) - k
            while front < min(k, len(oseq)) - 1 and seq[front] == oseq[front]:
                front += 1
            while back > front and seq[back - 1] == oseq[back - 1 + off]:
                back -= 1
            old_arr, old_st = old.lists()
            arr, st = old_arr[:front], old_st[:front]
        t = st[-1] + Sl[seq[front - 1]]
        prev = seq[front - 1]
        same_from = k  # first position from which the old schedule holds again
        for i in range(front, k - 1):
            u = seq[i]
            a = t + Tl[prev][u]
            ivs = multi.get(u)
            if ivs is None:
                o = OP[u]
                s = a if a >= o else o
                if s > CL[u]:
                    return None
            else:
                for o, c in ivs:
                    if a <= c:
                        s = a if a >= o else o
                        break
                else:
                    return None
            arr.append(a)
            st.append(s)
            if i >= back and s == old_st[i + off]:
                arr.extend(old_arr[i + 1 + off :])
                st.extend(old_st[i + 1 + off :])
                same_from = i + 1
                break
            t = s + Sl[u]
            prev = u
        else:
            a = t + Tl[prev][seq[-1]]
            if a > rt.latest:
                return None
            arr.append(a)
            st.append(a)
        slack = [0] * k
        ub = [0] * k
        if same_from < k:
            old_slack, old_ub = old.slack_lists()
            slack[same_from:] = old_slack[same_from + off :]
            ub[same_from:] = old_ub[same_from + off :]
            nxt, nub = slack[same_from], ub[same_from]
        else:
            nxt = nub = rt.latest - arr[k - 1]
            slack[k - 1] = ub[k - 1] = nxt
        pinned = self.pinned_list[r]
        for i in range(min(same_from, k - 1) - 1, 0, -1):
            u = seq[i]
            w = st[i] - arr[i]
            ivs = multi.get(u)
            if ivs is None:
                close = c = CL[u]
            else:
                c = next(c for o, c in ivs if st[i] <= c)  # the interval the visit starts in
                close = c
                # a delay past the current interval may still fit a later one, but only one that opens
                # before the rest of the route (at most nub later) stops absorbing the delay
                for o, c2 in ivs:
                    if o > st[i] + nub:
                        break
                    close = c2
            x = w + nxt
            y = c - arr[i]
            nxt = x if x < y else y
            slack[i] = nxt
            x = w + nub
            y = close - arr[i]
            nub = x if x < y else y
            ub[i] = nub
            if i < front and pinned[u]:  # no change reaches past a pinned stop: the rest is as before
                old_slack, old_ub = old.slack_lists()
                slack[:i] = old_slack[:i]
                ub[:i] = old_ub[:i]
                break
        else:
            slack[0] = nxt
        is_multi = np.flatnonzero(self.is_multi[r].take(q[1:-1]))
        st_a = np.array(st, dtype=np.int64)
        dep = st_a[:-1] + self.S.take(q[:-1])
        return _RouteState(
            seq, q, np.array(arr, dtype=np.int64), st_a, np.array(slack, dtype=np.int64), dep,
            int(self.Tflat.take(q[:-1] * self.n + q[1:]).sum()), len(is_multi),
            int(is_multi[-1]) + 1 if len(is_multi) else 0, np.array(ub[1:], dtype=np.int64)[:, None],
        )

    # ---- insertion evaluation -------------------------------------------------------------------
    def _evaluate(self, r: int, U: np.ndarray) -> None:
        """Best insertion position (least time shift) of every node in U into route r."""
        if self.noise >= 1.0:  # "wild" iterations: position by a randomly perturbed shift (breaks ties too)
            shift = self._shifts(r, U, every_gap=True)
            jitter = self.nprng.random(shift.shape)
            pos = (shift + (np.abs(shift) * self.pos_noise + 0.5) * jitter).argmin(axis=0)
            best = shift[pos, np.arange(len(U))]
        elif self.any_pinned and len(self.routes[r].seq) > 2:
            best, pos = self._best_by_segment(r, U)
        elif not self.multi[r]:  # no multi-window node on this route: the compiled loop does it all
            rs = self.routes[r]
            self.evals += 1
            kernels.evaluate_insertions(rs.q, rs.arr, rs.slack, rs.dep, U, self.T, self.S, self.OPEN[r],
                                        self.CLOSE[r], self.eff2, self._key_factors(len(U)), self.monotone,
                                        self.cost[r], self.pos[r], self.computed[r], self.ratio[r])
            return
        else:
            shift = self._shifts(r, U)
            pos = shift.argmin(axis=0)
            best = shift[pos, self.columns[: len(U)]]
        self.cost[r][U] = best
        self.pos[r][U] = pos
        self.computed[r][U] = True
        self.ratio[r][U] = self._key(U, best)

    def _best_by_segment(self, r: int, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Least shift and its gap for each node of U, combined from the stretches between pinned stops.

        A stretch's insertion costs depend only on its stops (the pinned stops at its ends keep their
        times), so they are memoised by content: after an insertion only the changed stretch is evaluated,
        and a restored solution's stretches are usually known already.
        """
        rs = self.routes[r]
        best = np.full(len(U), _BIG, dtype=np.int64)
        pos = np.zeros(len(U), dtype=np.int64)
        memo = self.segment_memo
        seq = rs.seq
        for first, last in rs.segments(self.pinned[r]):
            key = (r, *seq[first : last + 1])
            entry = memo.get(key)
            if entry is not None:
                cost, at = entry[0].take(U), entry[1].take(U)
            elif 4 * len(U) < len(self.reach_list[r]):  # a few nodes (mandatory ones): not worth keeping
                shift = self._shifts(r, U, first, last)
                cost, at = shift.min(axis=0), shift.argmin(axis=0)
            else:
                if len(memo) >= 4000:
                    memo.clear()
                everyone = self.reach_list[r]
                shift = self._shifts(r, everyone, first, last)
                entry = memo[key] = (np.full(self.n, _BIG, dtype=np.int64), np.zeros(self.n, dtype=np.int64))
                entry[0][everyone] = shift.min(axis=0)
                entry[1][everyone] = shift.argmin(axis=0)  # gap within the stretch
                cost, at = entry[0].take(U), entry[1].take(U)
            better = cost < best
            best[better] = cost[better]
            pos[better] = at[better] + first
        return best, pos

    def _shifts(self, r: int, U: np.ndarray, first: int = 0, last: int | None = None, every_gap: bool = False
                ) -> np.ndarray:
        """Time shift of inserting each node of U (columns) in each gap of route r (rows) between positions
        first and last, _BIG where infeasible; O(1) per pair from the wait / max-shift bookkeeping.  Unless
        every_gap, only each column's least shift is exact (a costlier feasible gap may read infeasible)."""
        rs = self.routes[r]
        A, B, dep, arrB, slB = rs.views()
        if first or last is not None:
            A, B, dep, arrB, slB = (x[first:last] for x in (A, B, dep, arrB, slB))
        self.evals += 1
        start = self.T.take(A, axis=0).take(U, axis=1)
        start += dep
        np.maximum(start, self.OPEN[r].take(U), out=start)
        closeU = self.CLOSE[r].take(U)
        if self.multi[r]:
            cols = np.nonzero(self.is_multi[r].take(U))[0]
            if len(cols):
                uc = U[cols]
                a = dep + self.T.take(A, axis=0).take(uc, axis=1)  # arrival, P x len(cols)
                WC = self.WC[r].take(uc, axis=0)  # len(cols) x K, increasing closes
                pick = (a[:, :, None] > WC[None, :, :]).sum(axis=2)  # first interval still open on arrival
                opens = self.WO[r].take(uc, axis=0)[np.arange(len(uc))[None, :], pick]
                start[:, cols] = np.maximum(a, opens)  # _BIG (infeasible) past the last interval
                closeU[cols] = _BIG - 1
        shift = self.TTS.take(B, axis=0).take(U, axis=1)
        shift += start
        shift -= arrB
        late = start > closeU
        bad = shift > slB
        lim = min(rs.last_multi, len(rs.seq) - 1 if last is None else last) - first
        if rs.n_multi and lim > 0:
            # exact forward pass where the conservative slack rejected an insertion that the upper bound
            # allows, before a multi-window stop (a delay may move such a stop into a later interval)
            ub = rs.slack_ub[first : first + lim]
            maybe = bad[:lim] & ~late[:lim] & (shift[:lim] <= ub)
            if not every_gap:  # only pairs that would beat their column's best certainly feasible gap
                maybe &= shift[:lim] < np.where(bad | late, _BIG, shift).min(axis=0)
            if maybe.any():
                rows, cols = np.nonzero(maybe)
                done = set()
                for i in np.lexsort((shift[rows, cols], cols)).tolist():  # by column, then least shift first
                    p, j = int(rows[i]), int(cols[i])
                    if j not in done and self._exact_ok(r, rs, first + p, int(U[j]), int(start[p, j])):
                        bad[p, j] = False
                        if not every_gap:
                            done.add(j)
        bad |= late
        np.putmask(shift, bad, _BIG)
        return shift

    def _key(self, U: np.ndarray, cost: np.ndarray) -> np.ndarray:
        """Insertion priority: score^2 / (shift + 1) (Vansteenwegen et al.), times U(1 - noise, 1 + noise)."""
        key = self.eff2.take(U) / ((cost if self.monotone else np.maximum(cost, 0)) + 1.0)  # monotone: shift >= 0
        if self.noise:
            key *= self._key_factors(len(U))
        np.putmask(key, cost >= _BIG, -1.0)
        return key

    def _key_factors(self, count: int) -> np.ndarray:
        """The random factors U(1 - noise, 1 + noise) of `count` insertion keys."""
        if not self.noise:
            return np.ones(count)
        return self.nprng.uniform(1.0 - self.noise, 1.0 + self.noise, size=count)

    def _exact_ok(self, r: int, rs: _RouteState, p: int, u: int, s_u: int) -> bool:
        """Forward pass after inserting u (service start s_u) behind position p."""
        Tl, Sl = self.Tl, self.Sl
        seq = rs.seq
        arr, st = rs.lists()
        t = s_u + Sl[u]
        prev = u
        OP, CL = self.OPENl[r], self.CLOSEl[r]
        multi = self.multi[r]
        for i in range(p + 1, len(seq) - 1):
            v = seq[i]
            a = t + Tl[prev][v]
            if a <= arr[i]:
                return True  # no later than before: the rest is unchanged
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
            if s <= st[i]:
                return True
            t = s + Sl[v]
            prev = v
        return t + Tl[prev][seq[-1]] <= self.p.routes[r].latest

    def _refresh(self, only: np.ndarray | None = None) -> None:
        for r in self.live:
            self._refresh_row(r, only)

    def _refresh_row(self, r: int, only: np.ndarray | None = None) -> None:
        row = self.reach[r] & self.unvisited
        row &= ~self.computed[r]
        if only is not None:
            row &= only
        U = row.nonzero()[0]
        if len(U):
            self._evaluate(r, U)

    def _mark_visited(self, u: int) -> None:
        g = self.group_of[u]
        closed = self.group_members[g] if g >= 0 else u
        self.unvisited[closed] = False
        self.ratio[:, closed] = -1.0

    def _mark_unvisited(self, v: int) -> None:
        g = self.group_of[v]
        opened = self.group_members[g][self.cand[self.group_members[g]]] if g >= 0 else v
        self.unvisited[opened] = True
        self.computed[:, opened] = False

    # ---- moves ------------------------------------------------------------------------------------
    def _set(self, r: int, rs: _RouteState) -> None:
        self.routes[r] = rs
        self.computed[r] = False
        self.ratio[r] = -1.0

    def insert(self, r: int, u: int, p: int) -> bool:
        seq = self.routes[r].seq
        rs = self._build(r, seq[: p + 1] + [u] + seq[p + 1 :], self.routes[r])
        if rs is None:
            return False
        self.routes[r] = rs
        if self.monotone and not rs.n_multi:
            self.computed[r] &= self.cost[r] >= _BIG
        else:
            self.computed[r] = False
        self.ratio[r] = -1.0
        self._mark_visited(u)
        return True

    def fill(self, noise: float = 0.0, deadline: float = math.inf) -> int:
        """Greedy insertion by score^2 / time shift times a random factor, until nothing fits; mandatory
        nodes first (they outweigh the rest anyway, and evaluating only them is cheaper)."""
        if not self.live:
            return 0
        self.noise = noise
        added = 0
        if (self.mand_mask & self.unvisited).any():
            added = self._fill_from(self.mand_mask, deadline)
        if self.compiled_fill:
            return added + self._fill_compiled()
        return added + self._fill_from(None, deadline)

    def _fill_compiled(self) -> int:
        """fill's loop in kernels.fill_routes (see compiled_fill); it ignores the deadline: a fill of a
        benchmark takes well under a millisecond there."""
        seqs, arr, st, slack, dep = self.table
        for r in self.live:
            rs = self.routes[r]
            if self.table_holds[r] is not rs:
                k = len(rs.seq)
                for row, values in zip(self.table, (rs.q, rs.arr, rs.st, rs.slack, rs.dep), strict=True):
                    row[r, : len(values)] = values
                self.table_lens[r], self.table_travel[r], self.table_holds[r] = k, rs.travel, rs
        lens_before = self.table_lens.copy()
        added = 0
        while True:
            inserted, evaluations, self.uniforms_used, finished = kernels.fill_routes(
                seqs, self.table_lens, arr, st, slack, dep, self.table_travel, self.live_mask, self.earliest,
                self.latest, self.T, self.S, self.OPEN, self.CLOSE, self.reach, self.unvisited, self.eff2,
                self.monotone, self.cost, self.pos, self.computed, self.ratio, self.uniforms, self.uniforms_used,
                self.noise, self.noise >= 1.0, self.pos_noise)
            added += inserted
            self.evals += evaluations
            if finished:
                break
            self.uniforms, self.uniforms_used = self.nprng.random(1 << 15), 0
        for r in np.nonzero(self.table_lens != lens_before)[0].tolist():
            k = int(self.table_lens[r])
            q = seqs[r, :k].copy()
            self.routes[r] = self.table_holds[r] = _RouteState(
                q.tolist(), q, arr[r, :k].copy(), st[r, :k].copy(), slack[r, :k].copy(), dep[r, : k - 1].copy(),
                int(self.table_travel[r]), 0, 0)
        return added

    def _fill_from(self, only: np.ndarray | None, deadline: float) -> int:
        added = 0
        self._refresh(only)
        ratio = self.ratio.ravel() if only is None else np.where(only, self.ratio, -1.0).ravel()
        n = self.n
        while True:
            if only is not None and self.noise >= 1.0:  # "wild": any feasible mandatory insertion (explores towns)
                feasible = np.flatnonzero(ratio >= 0)
                if not len(feasible):
                    return added
                k = int(feasible[self.rng.randrange(len(feasible))])
            else:
                k = int(ratio.argmax())
                if ratio[k] < 0:
                    return added
            r, u = divmod(k, n)
            if self.insert(r, u, int(self.pos[r, u])):
                added += 1
            else:  # cannot happen with exact bookkeeping; never loop on it (the route is unchanged)
                self.computed[r, u] = True
                self.ratio[r, u] = -1.0
            if time.perf_counter() > deadline:
                return added
            self._refresh_row(r, only)
            if only is not None:
                ratio = np.where(only, self.ratio, -1.0).ravel()

    def remove(self, r: int, drop: set[int]) -> bool:
        seq = self.routes[r].seq
        new = [v for v in seq[1:-1] if v not in drop]
        if len(new) == len(seq) - 2:
            return False
        rs = self._build(r, [seq[0], *new, seq[-1]], self.routes[r])
        if rs is None:  # non-metric travel: removing made the route longer; keep it
            return False
        self._set(r, rs)
        for v in seq[1:-1]:
            if v in drop:
                self._mark_unvisited(v)
        return True

    # ---- solution bookkeeping -----------------------------------------------------------------------
    def value(self) -> tuple[int, int]:
        eff = self.effl
        score = sum(eff[v] for r in self.live for v in self.routes[r].seq[1:-1])
        return score, -sum(self.routes[r].travel for r in self.live)

    def snapshot(self) -> list[_RouteState]:
        return list(self.routes)

    def restore(self, snap: list[_RouteState]) -> None:
        changed = False
        for r in self.live:
            if self.routes[r] is not snap[r]:
                self._set(r, snap[r])
                changed = True
        if changed:
            self._reset_unvisited()

    def _reset_unvisited(self) -> None:
        unv = self.cand.copy()
        for r in self.live:
            visited = self.routes[r].q[1:-1]
            unv[visited] = False
            groups = self.group_of.take(visited)
            for g in groups[groups >= 0].tolist():
                unv[self.group_members[g]] = False
        self.computed[:, unv & ~self.unvisited] = False
        self.ratio[:, ~unv] = -1.0
        self.unvisited = unv

    def load(self, routes: Sequence[Sequence[int]]) -> None:
        """Start from given stop lists, dropping stops that are invalid or break feasibility."""
        used: set[int] = set()
        for r in [r for r in self.live if r < len(routes)]:
            rt = self.p.routes[r]
            keep = [rt.start, rt.end]
            for v in routes[r]:
                v = int(v)
                if not (0 <= v < self.n) or v in used or not self.reach[r, v]:
                    continue
                trial = keep[:-1] + [v, keep[-1]]
                if self._build(r, trial) is not None:
                    keep = trial
                    g = self.group_of[v]
                    used.update(self.group_members[g].tolist() if g >= 0 else [v])
            self._set(r, self._build(r, keep))
        self._reset_unvisited()

    def stops(self, snap: list[_RouteState] | None = None) -> list[list[int]]:
        snap = self.routes if snap is None else snap
        return [list(rs.seq[1:-1]) if rs is not None else [] for rs in snap]

    def two_opt(self, r: int, tries: int = 8) -> bool:
        """Reverse the stretch of route r that shortens its travel most while the schedule stays feasible
        (first improving move among the ``tries`` best, repeated until none): insertion at least shift
        leaves crossing legs on long routes with wide windows, and the time they waste is time for more
        stops.  Returns whether the route changed."""
        changed = False
        T = self.T
        while True:
            rs = self.routes[r]
            q = rs.q
            k = len(q)
            if k < 4:  # fewer than two stops: nothing to reverse
                return changed
            fwd = T[q[:-1], q[1:]]  # leg p: q[p] -> q[p + 1]
            bwd = T[q[1:], q[:-1]]
            F = np.concatenate(([0], np.cumsum(fwd)))
            G = np.concatenate(([0], np.cumsum(bwd)))
            idx = np.arange(1, k - 1)
            i, j = idx[:, None], idx[None, :]  # reverse positions i..j (i < j)
            delta = (T[q[i - 1], q[j]] + T[q[i], q[j + 1]] - fwd[i - 1] - fwd[j]
                     + (G[j] - G[i]) - (F[j] - F[i]))
            delta = np.where(j > i, delta, 0)
            flat = np.argsort(delta, axis=None, kind="stable")[:tries]
            moved = False
            for f in flat.tolist():
                a, b = divmod(f, k - 2)
                if delta[a, b] >= 0:
                    break
                a, b = a + 1, b + 1
                seq = rs.seq
                new = self._build(r, seq[:a] + seq[a : b + 1][::-1] + seq[b + 1 :], rs)
                if new is not None:
                    self._set(r, new)
                    moved = changed = True
                    break
            if not moved:
                return changed

    def relocate(self) -> None:
        """Move a random stop to a random other feasible place (any route): reorders stops and, in the
        product's one-route trips, moves a site to another day, which least-shift re-insertion rarely does."""
        rng = self.rng
        live = [r for r in self.live if len(self.routes[r].seq) > 2]
        if not live:
            return
        r0 = live[rng.randrange(len(live))]
        seq = self.routes[r0].seq
        i = rng.randrange(1, len(seq) - 1)
        u = seq[i]
        if not self.remove(r0, {u}):
            return
        options = []
        col = np.array([u], dtype=np.int64)
        for r in self.live:
            if self.reach[r, u]:
                sh = self._shifts(r, col, every_gap=True)[:, 0]
                options.extend((r, p) for p in np.nonzero(sh < _BIG)[0].tolist() if (r, p) != (r0, i - 1))
        if options:
            r, p = options[rng.randrange(len(options))]
            self.insert(r, u, p)

    # ---- destroy operators ----------------------------------------------------------------------------
    def destroy(self, kind: str, q: int) -> None:
        """Remove about q stops: 'shaw' = close to a random stop in travel + service-start time, 'slice' =
        served at about the same time (across routes), 'random', 'segment' = a block of consecutive stops
        per route (the "shake" of Vansteenwegen et al.)."""
        live = [r for r in self.live if len(self.routes[r].seq) > 2]
        if not live:
            return
        rng = self.rng
        drop: dict[int, set[int]] = {}
        if kind == "segment":
            for r in live:
                seq = self.routes[r].seq
                k = len(seq) - 2
                length = rng.randint(1, max(1, min(k, q // len(live) + 1)))
                s = rng.randint(1, k - length + 1)
                drop[r] = set(seq[s : s + length])
        else:
            nodes = np.concatenate([self.routes[r].q[1:-1] for r in live])
            owner = np.concatenate([np.full(len(self.routes[r].seq) - 2, r) for r in live])
            if kind == "random":
                chosen = self.nprng.choice(len(nodes), size=min(q, len(nodes)), replace=False)
            else:
                starts = np.concatenate([self.routes[r].st[1:-1] for r in live])
                j = rng.randrange(len(nodes))
                key = np.abs(starts - starts[j])
                if kind == "shaw":
                    seed = int(nodes[j])
                    key = key + self.T[seed].take(nodes) + self.TT[seed].take(nodes)
                chosen = np.argsort(key, kind="stable")[:q]
            for i in chosen.tolist():
                drop.setdefault(int(owner[i]), set()).add(int(nodes[i]))
        for r, d in drop.items():
            self.remove(r, d)


# --------------------------------------------------------------------------------------------------


def _anneal(
    eng: _Engine, deadline: float, params: Params, t_begin: float, stop=None
) -> tuple[list[_RouteState], int, bool]:
    """Ruin-and-recreate with simulated-annealing acceptance; returns (best snapshot, iterations, whether
    the deadline stopped it).  With an iteration / evaluation budget and no ``stop`` event, the walk
    depends only on the engine's seeds, unless the deadline (then a safety cap) cuts it short."""
    best = eng.snapshot()
    best_val = cur_val = eng.value()
    rng = eng.rng
    eng.pos_noise = params.pos_noise
    ops = params.operators
    span = max(deadline - t_begin, 1e-9)
    t_hi = params.temp_start * eng.mean_score
    t_lo = params.temp_end * eng.mean_score
    it = 0
    seg = last_gain = 0.0  # progress (0..1) at the last restart / the last new best
    timed_out = False
    while best_val[0] < eng.upper_bound:
        now = time.perf_counter()
        if now >= deadline:
            timed_out = True
            break
        if params.max_iterations:
            if it >= params.max_iterations:
                break
            progress = it / params.max_iterations
        elif params.max_evals:
            if eng.evals >= params.max_evals:
                break
            progress = eng.evals / params.max_evals
        else:
            progress = (now - t_begin) / span
        if params.stall and progress - last_gain > params.stall and progress < 0.9:
            # stuck: restart the annealing (reheated) from the best solution
            eng.restore(best)
            cur_val = best_val
            seg = last_gain = progress
        temp = t_hi * (t_lo / t_hi) ** ((progress - seg) / (1.0 - seg))
        it += 1
        nvis = sum(len(eng.routes[r].seq) - 2 for r in eng.live)
        q = rng.randint(1, max(1, min(nvis, 2 + int(nvis * params.destroy_frac))))
        prev = eng.snapshot()
        if rng.random() < params.relocate:
            eng.relocate()
        else:
            eng.destroy(ops[rng.randrange(len(ops))], q)
        noise = params.noise if rng.random() >= params.wild else 1.0
        eng.fill(noise=noise, deadline=deadline)
        val = eng.value()
        # only candidates about to be accepted as no worse are straightened (it costs as much as a fill)
        if params.two_opt and val >= cur_val and any([eng.two_opt(r) for r in eng.live]):
            eng.fill(noise=noise, deadline=deadline)  # the time saved may fit more stops
            val = eng.value()
        if val > best_val:
            best_val = val
            best = eng.snapshot()
            last_gain = progress
            if best_val[0] >= eng.upper_bound and stop is not None:
                stop.set()
        if stop is not None and (it & 15) == 0 and stop.is_set():
            break
        if val >= cur_val or rng.random() < math.exp((val[0] - cur_val[0]) / temp):
            cur_val = val
        else:
            eng.restore(prev)
    return best, it, timed_out


def solve(
    problem: Problem,
    time_limit: float,
    initial: list[list[int]] | None = None,
    seed: int = 0,
    params: Params | None = None,
    workers: int = 1,
) -> Solution:
    """Maximise total score (then minimise total travel) within ``time_limit`` seconds.

    workers > 1 runs that many independent annealing chains (different seeds) in forked processes and
    keeps the best (ties: the lowest chain index); it falls back to one chain where fork is unavailable.

    Determinism: with a budget (``params.max_iterations`` or ``max_evals``, per chain) the answer depends
    only on the problem, ``seed``, ``workers`` and ``params``, whatever the machine load: every chain runs
    its whole budget (no early stop signalled between chains), the main process waits for all of them, and
    the OR-Tools pass is a plain descent to a local optimum (guided local search has no end but a
    clock).  ``time_limit`` is then only a safety cap; ``stats["capped"]`` says whether it cut anything
    short (the answer is then still feasible but may differ between runs).  Without a budget the search
    runs until the time limit.

    status: "optimal" when every node that can be visited at all is visited (score optimal; travel is
    only heuristically minimised), "infeasible" when some route cannot even go from its start to its end
    in time (that route stays empty, the others are still planned), "timeout-initial" when the time ran
    out during the initial greedy construction, "feasible" otherwise.  Mandatory nodes that could not be
    placed are listed in missing_mandatory.
    """
    params = params or Params()
    t0 = time.perf_counter()
    deadline = t0 + max(0.0, time_limit)
    eng = _Engine(problem, seed)
    if initial:
        eng.load(initial)
    eng.fill(deadline=deadline)
    status = "feasible"
    capped = False
    if time.perf_counter() > deadline:
        status = "timeout-initial"
        capped = True
    search_deadline = deadline - (params.polish_share * time_limit if params.polish else 0.0)
    best, iterations = eng.snapshot(), 0
    if status == "feasible" and eng.value()[0] < eng.upper_bound:
        children, stop = _fork_chains(eng, search_deadline, params, seed, workers - 1)
        best, iterations, capped = _anneal(eng, search_deadline, params, time.perf_counter(), stop)
        if stop is not None:
            stop.set()
        candidates = [eng.stops(best)]  # chain 0 first: max() keeps the first of equal values
        # with a budget, wait for every chain (up to the cap): a chain dropped for being slow would make
        # the answer depend on the machine's load
        until = deadline if params.budgeted else search_deadline + 0.05
        answers = list(_collect(children, until))
        capped |= len(answers) < len(children)
        for routes, its, timed_out in answers:
            candidates.append(routes)
            iterations += its
            capped |= timed_out
        routes = max(candidates, key=lambda rr: _value(problem, eng, rr))
    else:
        routes = eng.stops(best)
    if params.polish and status != "timeout-initial":
        t_pol = time.perf_counter()
        polish_until = deadline if params.budgeted else min(deadline, t_pol + params.polish_share * time_limit)
        better = _polish(problem, eng, routes, polish_until, descent=params.budgeted)
        if params.budgeted and time.perf_counter() >= polish_until - 0.01:
            capped = True  # the OR-Tools descent ran into the cap before its local optimum
        if (
            better is not None
            and all(schedule(problem, r, rr) is not None for r, rr in enumerate(better))
            and _value(problem, eng, better) > _value(problem, eng, routes)
        ):
            routes = better
        eng.stats["polish_seconds"] = round(time.perf_counter() - t_pol, 4)
        eng.stats["polish_improved"] = routes is better
    eng.stats["capped"] = capped
    return _finish(problem, eng, routes, status, t0, iterations)


def warm_up() -> None:
    """Compile the kernels (or load them from numba's cache) now rather than inside the first timed solve."""
    travel = [[0, 2, 2], [2, 0, 2], [2, 2, 0]]
    problem = Problem(travel, [0, 1, 1], [0, 1, 1], [[(0, 99)], [(0, 9)], [(0, 9)]], [Route(0, 0, 0, 99)],
                      mandatory=frozenset({1}))  # a mandatory node: the uncompiled fill's evaluation kernel too
    solve(problem, 5.0, params=Params(max_iterations=3, polish=False, noise=0.5))


def _value(problem: Problem, eng: _Engine, routes: list[list[int]]) -> tuple[int, int]:
    eff = eng.effl
    score = sum(eff[v] for rr in routes for v in rr)
    return score, -sum(route_travel(problem, r, rr) for r, rr in enumerate(routes))


def _fork_chains(eng: _Engine, deadline: float, params: Params, seed: int, count: int) -> list:
    """Start ``count`` more chains in forked processes.  The stop event (set by a chain that reaches the
    upper bound, so the others end early) exists only without a budget: it depends on timing."""
    if count <= 0:
        return [], None
    try:
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        stop = None if params.budgeted else ctx.Event()
    except (ImportError, ValueError, OSError):
        return [], None
    children = []
    for k in range(1, count + 1):
        recv, send = ctx.Pipe(duplex=False)

        def run(send=send, k=k):
            eng.rng = random.Random(seed * 7919 + k)
            eng.nprng = np.random.default_rng(seed * 7919 + k)
            snap, its, timed_out = _anneal(eng, deadline - 0.01, params, time.perf_counter(), stop)
            send.send((eng.stops(snap), its, timed_out))
            send.close()

        proc = ctx.Process(target=run, daemon=True)
        proc.start()
        send.close()
        children.append((proc, recv))
    return children, stop


def _collect(children: list, until: float):
    for proc, recv in children:
        try:
            if recv.poll(max(0.0, until - time.perf_counter())):
                yield recv.recv()
        except (EOFError, OSError):
            pass
        finally:
            recv.close()
            if proc.is_alive():
                proc.terminate()
            proc.join(0.05)


class _OrtoolsModel:
    """The same problem as an OR-Tools routing model: one vehicle per live route, a time dimension
    (cumul = service start, transit = service + travel, waiting as slack), node windows as cumul domains,
    allowed vehicles from per-route reachability, and one disjunction per candidate with penalty
    K * score, K > any possible total travel, so the objective travel + penalties is lexicographic
    (score first, then travel), like ours."""

    def __init__(self, problem: Problem, eng: _Engine):
        self.ok = False
        live = eng.live
        if not live:
            return
        rts = [problem.routes[r] for r in live]
        cand = np.nonzero(eng.cand)[0].tolist()
        terms = sorted({rt.start for rt in rts} | {rt.end for rt in rts})
        nodes = terms + cand
        if min([rt.earliest for rt in rts] + [o for u in cand for o, _ in problem.windows[u]]) < 0:
            return  # cumul variables are non-negative
        index_of = {v: i for i, v in enumerate(nodes)}
        Tm = eng.T[np.ix_(nodes, nodes)]
        manager = pywrapcp.RoutingIndexManager(
            len(nodes), len(live), [index_of[rt.start] for rt in rts], [index_of[rt.end] for rt in rts]
        )
        routing = pywrapcp.RoutingModel(manager)
        travel_cb = routing.RegisterTransitMatrix(Tm.tolist())
        time_cb = routing.RegisterTransitMatrix((Tm + eng.S[nodes][:, None]).tolist())
        routing.SetArcCostEvaluatorOfAllVehicles(travel_cb)
        horizon = max(rt.latest for rt in rts)
        routing.AddDimension(time_cb, horizon, horizon, False, "time")
        dim = routing.GetDimensionOrDie("time")
        for v, rt in enumerate(rts):
            dim.CumulVar(routing.Start(v)).SetRange(rt.earliest, rt.latest)
            dim.CumulVar(routing.End(v)).SetRange(rt.earliest, rt.latest)
        K = sum(rt.latest - rt.earliest for rt in rts) + 1
        for u in cand:
            idx = manager.NodeToIndex(index_of[u])
            ivs = sorted((o, min(c, horizon)) for o, c in problem.windows[u] if o <= c and o <= horizon)
            var = dim.CumulVar(idx)
            var.SetRange(ivs[0][0], max(c for _, c in ivs))
            hi = ivs[0][1]
            for o, c in ivs[1:]:
                if o > hi + 1:
                    var.RemoveInterval(hi + 1, o - 1)
                hi = max(hi, c)
            allowed = [v for v, r in enumerate(live) if eng.reach[r, u]]
            if len(allowed) < len(live):
                routing.VehicleVar(idx).SetValues([-1, *allowed])
            routing.AddDisjunction([idx], int(K * eng.effl[u]))
        for members in eng.group_members:
            inside = [manager.NodeToIndex(index_of[u]) for u in members.tolist() if u in index_of]
            if len(inside) > 1:
                routing.AddDisjunction(inside, 0, 1)  # at most one of the group, at no cost
        self.routing, self.manager, self.nodes, self.index_of, self.live = routing, manager, nodes, index_of, live
        self.m = len(problem.routes)
        self.ok = True

    def solve(self, deadline: float, routes: list[list[int]] | None = None, descent: bool = False
              ) -> list[list[int]] | None:
        """Guided local search until ``deadline``, from ``routes`` if given (else OR-Tools' own start).

        descent: a plain descent to the first local optimum instead, which ends by itself, so its result
        does not depend on the machine (the time limits of its insertion sub-searches are raised out of
        the way; ``deadline`` stays as a safety cap)."""
        left = deadline - time.perf_counter()
        if not self.ok or left <= 0.005:
            return None
        routing = self.routing
        params = pywrapcp.DefaultRoutingSearchParameters()
        heuristic = routing_enums_pb2.LocalSearchMetaheuristic
        params.local_search_metaheuristic = heuristic.GREEDY_DESCENT if descent else heuristic.GUIDED_LOCAL_SEARCH
        params.time_limit.FromMilliseconds(max(1, int(left * 1000)))
        if descent:
            params.lns_time_limit.FromMilliseconds(max(1, int(left * 1000)))
        if routes is None:
            sol = routing.SolveWithParameters(params)
        else:
            routing.CloseModelWithParameters(params)
            to_index = self.manager.NodeToIndex
            seed_routes = [[to_index(self.index_of[v]) for v in routes[r]] for r in self.live]
            init = routing.ReadAssignmentFromRoutes(seed_routes, True)
            if init is None:
                return None
            sol = routing.SolveFromAssignmentWithParameters(init, params)
        if sol is None:
            return None
        out: list[list[int]] = [[] for _ in range(self.m)]
        for v, r in enumerate(self.live):
            idx = sol.Value(routing.NextVar(routing.Start(v)))
            while not routing.IsEnd(idx):
                out[r].append(self.nodes[self.manager.IndexToNode(idx)])
                idx = sol.Value(routing.NextVar(idx))
        return out


def _polish(problem: Problem, eng: _Engine, routes: list[list[int]], deadline: float, descent: bool = False
            ) -> list[list[int]] | None:
    """OR-Tools local search seeded with our best routes (see module docstring for its value)."""
    if deadline - time.perf_counter() <= 0.005:
        return None
    return _OrtoolsModel(problem, eng).solve(deadline, routes, descent)


def _finish(problem: Problem, eng: _Engine, routes: list[list[int]], status: str, t0: float, iterations: int):
    score = sum(problem.score[v] for rr in routes for v in rr)
    travel = sum(route_travel(problem, r, rr) for r, rr in enumerate(routes) if eng.route_ok[r])
    visited = {v for rr in routes for v in rr}
    missing = sorted(u for u in eng.mand if u not in visited)
    eff = sum(eng.effl[v] for v in visited)
    if not all(eng.route_ok):
        status = "infeasible"
    elif status == "feasible" and eff >= eng.upper_bound:
        status = "optimal"
    return Solution(
        routes=routes,
        score=score,
        travel=travel,
        status=status,
        seconds=time.perf_counter() - t0,
        missing_mandatory=missing,
        iterations=iterations,
        stats={"evals": eng.evals, **eng.stats},
    )
