"""Tests for planner.toptw (the TOPTW optimiser) and planner.benchmarks (reader, checker, runner)."""

from __future__ import annotations

import itertools
import math
import random
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.benchmarks import (
    check_routes,
    family,
    gap_table,
    read_bks,
    read_instance,
    run_toptw,
    toptw_problem,
)
from planner.toptw import Params, Problem, Route, Visit, _Engine, route_travel, schedule, solve

DATA = Path(__file__).parent / "data" / "toptw"
BENCH = Path(__file__).parent.parent / "bench" / "toptw"

# deterministic, fast settings for small problems: a fixed number of iterations, no OR-Tools pass
FAST = Params(max_iterations=300, polish=False)
# time limits given together with an iteration budget are safety caps, far above what the budget needs even
# on a loaded machine: results then depend only on the seed (solve's docstring), never on the clock
CAP = 60.0


def line_problem(windows, service=None, score=None, latest=100, travel=None, mandatory=frozenset()):
    """Depot 0 plus stops 1..k on a line at x = 10 * i (travel = |dx|) unless a matrix is given."""
    n = len(windows) + 1
    if travel is None:
        travel = [[abs(10 * i - 10 * j) for j in range(n)] for i in range(n)]
    return Problem(
        travel=travel,
        service=service or [0] + [5] * (n - 1),
        score=score or [0] + [10] * (n - 1),
        windows=[[]] + list(windows),
        routes=[Route(0, 0, 0, latest)],
        mandatory=frozenset(mandatory),
    )


# ---------------------------------------------------------------------------------------------- schedule


def test_schedule_waits_for_the_window_to_open():
    p = line_problem([[(30, 40)]])
    v = schedule(p, 0, [1])
    assert v == [Visit(0, 0, 0, 0), Visit(1, 10, 30, 35), Visit(0, 45, 45, 45)]


def test_schedule_rejects_a_missed_window():
    p = line_problem([[(0, 9)]])
    assert schedule(p, 0, [1]) is None  # arrives at 10, window closed at 9
    assert schedule(line_problem([[(0, 10)]]), 0, [1]) is not None  # closing time itself is allowed


def test_schedule_multiple_windows_uses_the_earliest_open_interval():
    p = line_problem([[(0, 5), (20, 25), (40, 50)]])
    v = schedule(p, 0, [1])
    assert v[1] == Visit(1, 10, 20, 25)  # missed the first interval, waits for the second
    p2 = line_problem([[(0, 5)], [(0, 5), (30, 35), (60, 70)]])
    # 1: arrive 10 -> missed; make 2 alone: arrive 20, interval (30, 35)
    assert schedule(p2, 0, [1]) is None
    assert schedule(p2, 0, [2])[1] == Visit(2, 20, 30, 35)
    # unsorted intervals are fine too
    p3 = line_problem([[(40, 50), (0, 5), (20, 25)]])
    assert schedule(p3, 0, [1])[1].start == 20


def test_schedule_end_deadline():
    p = line_problem([[(0, 100)]], latest=25)
    assert schedule(p, 0, [1])[-1] == Visit(0, 25, 25, 25)  # 10 + 5 service + 10 back, exactly on time
    assert schedule(line_problem([[(0, 100)]], latest=24), 0, [1]) is None
    assert schedule(line_problem([[(0, 100)]], latest=24), 0, []) is not None


def test_schedule_rejects_invalid_stops():
    p = line_problem([[(0, 100)], [(0, 100)]])
    assert schedule(p, 0, [1, 1]) is None
    assert schedule(p, 0, [0]) is None  # the depot is not a stop
    assert schedule(p, 0, [7]) is None
    assert schedule(line_problem([[]]), 0, [1]) is None  # no window at all


def test_schedule_asymmetric_travel():
    travel = [[0, 1, 50], [50, 0, 1], [1, 50, 0]]  # cheap 0 -> 1 -> 2 -> 0, expensive the other way
    p = line_problem([[(0, 100)], [(0, 100)]], service=[0, 0, 0], latest=10, travel=travel)
    assert schedule(p, 0, [1, 2])[-1].arrive == 3
    assert schedule(p, 0, [2, 1]) is None


# ---------------------------------------------------------------------------------------------- solve


def brute_force(p: Problem):
    """Best (mandatory visited, score, -travel) over all assignments of stops to routes (at most one stop
    of each exclusive group)."""
    terminals = {r.start for r in p.routes} | {r.end for r in p.routes}
    cands = [u for u in range(len(p.travel)) if u not in terminals and (p.score[u] > 0 or u in p.mandatory)]
    per_route = []
    for r in range(len(p.routes)):
        best: dict[frozenset, int] = {}
        for k in range(len(cands) + 1):
            for perm in itertools.permutations(cands, k):
                if schedule(p, r, perm) is not None:
                    key = frozenset(perm)
                    t = route_travel(p, r, perm)
                    if t < best.get(key, math.inf):
                        best[key] = t
        per_route.append(best)

    def value(sets, travel):
        nodes = set().union(*sets)
        return (len(nodes & p.mandatory), sum(p.score[u] for u in nodes), -travel)

    top = None
    for combo in itertools.product(*[list(d.items()) for d in per_route]):
        sets = [s for s, _ in combo]
        if sum(len(s) for s in sets) != len(set().union(*sets)):
            continue
        if any(len(set().union(*sets) & set(group)) > 1 for group in p.exclusive):
            continue
        v = value(sets, sum(t for _, t in combo))
        if top is None or v > top:
            top = v
    return top


@st.composite
def tiny_problems(draw):
    m = draw(st.integers(1, 2))
    k = draw(st.integers(1, 5 if m == 1 else 4))
    n = k + 1 + (m == 2)  # with two routes, the second one ends at a different node ("hotel change")
    travel = [[0 if i == j else draw(st.integers(1, 30)) for j in range(n)] for i in range(n)]
    # asymmetric, but shortest-path closed (triangle inequality), like real travel-time matrices; without
    # it a stop can be unreachable alone yet reachable via another stop, which no insertion method handles
    for via in range(n):
        for i in range(n):
            for j in range(n):
                travel[i][j] = min(travel[i][j], travel[i][via] + travel[via][j])
    windows = [[]]
    for _ in range(k):
        ivs = []
        for _ in range(draw(st.integers(1, 2))):
            a = draw(st.integers(0, 80))
            ivs.append((a, a + draw(st.sampled_from([0, *range(31)]))))  # single instants: "pinned" stops
        windows.append(ivs)
    if m == 2:
        windows.append([])
    service = [0] + [draw(st.integers(0, 10)) for _ in range(k)] + [0] * (m == 2)
    score = [0] + [draw(st.integers(0, 9)) for _ in range(k)] + [0] * (m == 2)
    routes = [Route(0, 0, 0, draw(st.integers(20, 120)))]
    if m == 2:
        routes.append(Route(0, n - 1, draw(st.integers(0, 30)), draw(st.integers(60, 140))))
    mandatory = frozenset(u for u in range(1, k + 1) if draw(st.integers(0, 5)) == 0)
    exclusive = [draw(st.sets(st.integers(1, k), min_size=2, max_size=3))] if k >= 2 and draw(st.booleans()) else []
    return Problem(travel, service, score, windows, routes, mandatory, [sorted(g) for g in exclusive])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_problems(), st.integers(0, 3))
def test_solve_matches_brute_force(p, seed):
    # the full pipeline: a fixed number of annealing iterations, then the OR-Tools pass (0.2 s).  The
    # annealing alone misses a few adversarial multi-window cases that hypothesis finds (a mandatory stop
    # that must take its later window); the OR-Tools pass repairs them.
    sol = solve(p, time_limit=CAP, seed=seed, params=Params(max_iterations=300))
    assert not sol.stats["capped"]
    for r, stops in enumerate(sol.routes):
        assert schedule(p, r, stops) is not None
    visited = [u for rr in sol.routes for u in rr]
    assert len(visited) == len(set(visited))
    assert all(len(set(visited) & set(group)) <= 1 for group in p.exclusive)
    assert sol.score == sum(p.score[u] for u in visited)
    assert sol.travel == sum(route_travel(p, r, rr) for r, rr in enumerate(sol.routes))
    best = brute_force(p)
    got = (len(set(visited) & p.mandatory), sol.score, -sol.travel)
    assert got[:2] == best[:2]
    assert got[2] <= best[2]  # travel cannot beat the optimum (it is a heuristic tie-break)
    assert sorted(p.mandatory - set(visited)) == sol.missing_mandatory


def multi_day_problem(days: int, sites: int, towns: int, seed: int) -> Problem:
    """Shaped like planner.trip's trips: one route over several days, sites open every day (one window a
    day), and per night one node per town whose window is the single instant of that evening."""
    rng = random.Random(seed)
    points = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(1 + towns + sites)]
    nodes = [0, *[1 + t for t in range(towns)] * (days - 1), *range(1 + towns, 1 + towns + sites)]
    travel = [[round(math.dist(points[a], points[b])) for b in nodes] for a in nodes]
    day, evening = 1440, 600
    windows = [[]] + [[(night * day + evening,) * 2] for night in range(days - 1) for _ in range(towns)]
    for _ in range(sites):
        opens, closes = rng.randint(0, 200), rng.randint(300, 560)
        windows.append([(d * day + opens, d * day + closes) for d in range(days)])
    service = [0] + [day - evening] * (towns * (days - 1)) + [rng.randint(10, 60) for _ in range(sites)]
    score = [0] + [10**6] * (towns * (days - 1)) + [rng.randint(1, 30) for _ in range(sites)]
    nights = [list(range(1 + n * towns, 1 + (n + 1) * towns)) for n in range(days - 1)]
    return Problem(travel, service, score, windows, [Route(0, 0, 0, (days - 1) * day + evening)],
                   mandatory=frozenset(u for group in nights for u in group), exclusive=nights)


@pytest.mark.parametrize("seed", range(3))
def test_memoised_insertion_costs_match_a_full_evaluation(seed):
    # Night nodes are pinned (single-instant windows): insertion costs are kept per stretch between them,
    # and schedules are rebuilt from the previous one.  Along a ruin-and-recreate walk, both must equal an
    # evaluation of the whole route from scratch every time.
    p = multi_day_problem(days=4, sites=40, towns=5, seed=seed)
    eng = _Engine(p, seed)
    assert eng.any_pinned
    eng.fill()
    for step in range(60):
        eng.destroy(("shaw", "slice", "random")[step % 3], 1 + step % 6)
        eng.fill(noise=0.5)
        U = np.nonzero(eng.unvisited & eng.reach[0])[0]
        fresh, kept = eng._build(0, eng.routes[0].seq), eng.routes[0]  # kept: built from the previous state
        for name in ("arr", "st", "slack", "dep", "slack_ub"):
            assert (getattr(fresh, name) == getattr(kept, name)).all(), name
        assert (fresh.travel, fresh.n_multi, fresh.last_multi) == (kept.travel, kept.n_multi, kept.last_multi)
        best, pos = eng._best_by_segment(0, U)
        full = eng._shifts(0, U)
        assert (best == full.min(axis=0)).all()
        assert (full[pos, np.arange(len(U))] == best).all()
    stops = eng.stops()[0]
    assert schedule(p, 0, stops) is not None
    assert sum(u in stops for u in p.mandatory) == 3  # a town for each night


def _fits_with_arrival(p: Problem, route: int, seq: list[int], i: int, arrival: int) -> bool:
    """Whether the rest of the node sequence seq (start, stops, end) stays on time if position i is reached
    at ``arrival``: a plain forward pass, independent of the optimiser's slack bookkeeping."""
    rt, t = p.routes[route], arrival
    if i == len(seq) - 1:
        return arrival <= rt.latest
    for k in range(i, len(seq) - 1):
        if k > i:
            t += p.travel[seq[k - 1]][seq[k]]
        if k == 0:
            t = max(t, rt.earliest)
            if t > rt.earliest:
                return False
            continue
        (lo, hi), = p.windows[seq[k]]
        t = max(t, lo)
        if t > hi:
            return False
        t += p.service[seq[k]]
    return t + p.travel[seq[-2]][seq[-1]] <= rt.latest


@pytest.mark.parametrize(("name", "m"), [("pr13", 2), ("pr11", 1)])
def test_compiled_kernels_match_the_numpy_evaluation_and_an_independent_schedule(name, m):
    # Routes without multi-window stops are timed and evaluated by planner.toptw_kernels.  Along a
    # ruin-and-recreate walk: schedules equal `schedule`, every slack is the largest delay the rest of the
    # route absorbs, and the compiled insertion costs equal numpy's full evaluation (_shifts).
    path = DATA / f"{name}.txt" if (DATA / f"{name}.txt").exists() else BENCH / f"{name}.txt"
    p = toptw_problem(path, m)
    eng = _Engine(p, 0)
    assert not any(eng.multi)
    eng.fill()
    for step in range(40):
        eng.destroy(("shaw", "slice", "random")[step % 3], 1 + step % 7)
        eng.fill(noise=0.5)
        for r in range(m):
            rs = eng.routes[r]
            visits = schedule(p, r, rs.seq[1:-1])
            assert [v.arrive for v in visits] == rs.arr.tolist()
            assert [v.start for v in visits] == rs.st.tolist()
            assert rs.travel == route_travel(p, r, rs.seq[1:-1])
            for i in range(1, len(rs.seq)):
                slack = int(rs.slack[i])
                assert _fits_with_arrival(p, r, rs.seq, i, int(rs.arr[i]) + slack)
                assert not _fits_with_arrival(p, r, rs.seq, i, int(rs.arr[i]) + slack + 1)
            U = np.nonzero(eng.unvisited & eng.reach[r])[0]
            eng._evaluate(r, U)
            full = eng._shifts(r, U)
            assert (eng.cost[r][U] == full.min(axis=0)).all()
            assert (eng.pos[r][U] == full.argmin(axis=0)).all()


def test_polish_keeps_solutions_feasible_with_multiple_windows():
    # three stops on a line, each with two daily windows; two "days" (routes) with their own horizons
    windows = [[(10, 20), (110, 120)], [(20, 30), (120, 130)], [(30, 45), (130, 145)]]
    p = line_problem(windows, latest=200)
    p.routes = [Route(0, 0, 0, 60), Route(0, 0, 100, 170)]
    # day 1 fits 1 and 2 but not 3 (back at 75 > 60); 3 fits only on day 2 (back at 170)
    sol = solve(p, time_limit=CAP, params=Params(max_iterations=50))
    assert sol.score == 30 and sol.status == "optimal"
    assert 3 in sol.routes[1]
    p.routes = [Route(0, 0, 0, 60), Route(0, 0, 100, 160)]  # now 3 fits nowhere
    sol = solve(p, time_limit=CAP, params=Params(max_iterations=50))
    assert sol.score == 20 and sol.status == "optimal"
    for r, stops in enumerate(sol.routes):
        assert schedule(p, r, stops) is not None


def test_mandatory_node_is_kept_at_the_expense_of_score():
    # 1 and 2 are at the same place/time: only one of them fits; 2 is mandatory although worth less
    travel = [[0, 10, 10], [10, 0, 0], [10, 0, 0]]
    p = Problem(
        travel=travel,
        service=[0, 10, 10],
        score=[0, 50, 1],
        windows=[[], [(10, 10)], [(10, 10)]],
        routes=[Route(0, 0, 0, 40)],
        mandatory=frozenset({2}),
    )
    sol = solve(p, time_limit=CAP, params=FAST)
    assert sol.routes == [[2]] and sol.missing_mandatory == []
    assert solve(Problem(**{**p.__dict__, "mandatory": frozenset()}), CAP, params=FAST).routes == [[1]]


def test_unreachable_mandatory_node_is_reported():
    p = line_problem([[(0, 100)], [(500, 600)]], mandatory={2})
    sol = solve(p, time_limit=CAP, params=FAST)
    assert sol.routes == [[1]]
    assert sol.missing_mandatory == [2]


def test_asymmetric_travel_direction_matters():
    # 0 -> 1 -> 2 -> 0 takes 15, the other way round 30 (triangle inequality holds)
    travel = [[0, 5, 10], [10, 0, 5], [5, 10, 0]]
    p = line_problem([[(0, 100)]] * 2, service=[0, 0, 0], latest=20, travel=travel)
    sol = solve(p, time_limit=CAP, params=FAST)
    assert sol.routes == [[1, 2]] and sol.travel == 15 and sol.status == "optimal"
    reverse = [list(row) for row in zip(*travel, strict=True)]  # transposed matrix: only [2, 1] works
    sol = solve(line_problem([[(0, 100)]] * 2, service=[0, 0, 0], latest=20, travel=reverse), CAP, params=FAST)
    assert sol.routes == [[2, 1]]


def test_status_infeasible_route_and_timeout():
    p = line_problem([[(0, 100)]])
    p.routes = [Route(0, 0, 0, 100), Route(0, 0, 50, 40)]  # second route ends before it starts
    sol = solve(p, time_limit=CAP, params=FAST)
    assert sol.status == "infeasible" and sol.routes == [[1], []]
    big = toptw_problem(DATA / "pr01.txt", 2)
    sol = solve(big, time_limit=0.0)
    assert sol.status == "timeout-initial"
    assert check_routes(big, sol.routes) == sol.score


def test_initial_solution_is_repaired_and_used():
    p = line_problem([[(0, 100)], [(0, 100)], [(0, 5)]])
    # 3 cannot be reached in its window, 1 is duplicated: both dropped, the rest kept and completed
    sol = solve(p, time_limit=CAP, initial=[[2, 1, 3, 1]], params=FAST)
    assert sol.score == 20
    assert sorted(sol.routes[0]) == [1, 2]


@pytest.mark.parametrize("workers", [1, 2])
def test_same_seed_and_budget_give_the_same_routes(workers):
    # what planner.trip relies on for "the same request gives the same plan": chains combined by a fixed
    # rule, every chain runs its whole budget, the OR-Tools pass stops on a solution count
    p = toptw_problem(DATA / "pr02.txt", 2)
    budget = Params(max_iterations=150)
    first = solve(p, time_limit=CAP, seed=5, workers=workers, params=budget)
    second = solve(p, time_limit=CAP, seed=5, workers=workers, params=budget)
    assert not first.stats["capped"] and not second.stats["capped"]
    assert first.routes == second.routes and (first.score, first.travel) == (second.score, second.travel)
    assert first.iterations == second.iterations == 150 * workers
    assert check_routes(p, first.routes) == first.score


def test_two_chains_keep_the_better_chain():
    # chain 0 of a two-chain run is the one-chain run with the same seed (its result is a candidate), so
    # before the OR-Tools pass two chains can only do as well or better
    p = toptw_problem(DATA / "pr03.txt", 3)
    budget = Params(max_iterations=100, polish=False)
    one = solve(p, time_limit=CAP, seed=2, workers=1, params=budget)
    two = solve(p, time_limit=CAP, seed=2, workers=2, params=budget)
    assert (two.score, -two.travel) >= (one.score, -one.travel)


@pytest.mark.parametrize("workers", [1, 2])
def test_time_limit_caps_a_budget_and_says_so(workers):
    # a budget far beyond the time limit: the limit stops the search, stats say so, the answer is feasible;
    # the bound on the elapsed time is generous (a loaded machine must not fail it)
    p = toptw_problem(DATA / "pr01.txt", 3)
    t = time.perf_counter()
    sol = solve(p, time_limit=0.3, workers=workers, params=Params(max_iterations=10**9))
    assert time.perf_counter() - t < 0.3 + 10
    assert sol.stats["capped"]
    assert check_routes(p, sol.routes) == sol.score
    assert sol.status == "feasible" or sol.status == "optimal"


# ---------------------------------------------------------------------------------------------- benchmarks


def test_read_instance_and_scaled_travel():
    inst = read_instance(DATA / "pr01.txt")  # CRLF file, leading spaces
    assert inst.n_customers == 48 and inst.scale == 100 and inst.tmax == 100000
    assert (inst.service[1], inst.score[1], inst.open[1], inst.close[1]) == (200, 12, 35400, 50900)
    T = inst.travel_matrix()
    d = math.dist((float(inst.x[0]), float(inst.y[0])), (float(inst.x[1]), float(inst.y[1])))
    assert T[0][1] == T[1][0] == math.floor(100 * d)
    sol = read_instance(DATA / "c101.txt")
    assert sol.scale == 10 and sol.tmax == 12360 and sol.n_customers == 100
    assert family("rc101") == "rc" and family("pr01") == "pr" and family("c101") == "c"


def test_check_routes_catches_violations():
    p = toptw_problem(DATA / "c101.txt", 1)
    good = solve(p, time_limit=CAP, params=FAST).routes
    assert check_routes(p, good) > 0
    with pytest.raises(ValueError):
        check_routes(p, [good[0] + good[0][:1]])  # duplicate
    with pytest.raises(ValueError):
        check_routes(p, [list(reversed(good[0]))])  # windows violated
    with pytest.raises(ValueError):
        check_routes(p, [[0]])  # depot as a stop
    with pytest.raises(ValueError):
        check_routes(p, [good[0], []])  # wrong number of routes


@pytest.mark.parametrize("name,m", sorted(read_bks(DATA / "bks.csv")))
def test_every_benchmark_pair_is_solved_and_rechecked(name, m):
    # short deterministic runs (200 iterations, seed 0) on every instance / m pair of bks.csv: the routes are
    # re-checked and re-scored here, not trusted.  With a fixed budget the gap is a fixed number (at most
    # 9 % when this was written), so the bound cannot flake; hongtu bench toptw measures the quality at 1 s.
    (row,) = run_toptw([DATA / f"{name}.txt"], m, time_limit=CAP, workers=1,
                       params=Params(max_iterations=200, polish=False))
    p = toptw_problem(DATA / f"{name}.txt", m)
    assert not row["capped"]
    assert len(row["route_nodes"]) == m
    assert check_routes(p, row["route_nodes"]) == row["score"] > 0
    assert row["gap"] < 0.15


@pytest.mark.parametrize("name,m", [("c101", 1), ("r102", 1), ("rc101", 1), ("pr01", 2)])
def test_benchmark_routes_are_rechecked(name, m):
    # the full pipeline (two chains, OR-Tools pass) on a deterministic budget; at 1500 iterations all of 40
    # seeds tried reach 502 on pr01 m = 2 (at 500, a third of them missed it by up to 6 %)
    (row,) = run_toptw([DATA / f"{name}.txt"], m, time_limit=CAP, params=Params(max_iterations=1500))
    p = toptw_problem(DATA / f"{name}.txt", m)
    assert check_routes(p, row["route_nodes"]) == row["score"]
    assert row["instance"] == name and row["routes"] == m and not row["capped"]
    # m = 1 best-known scores are proven optima: exceeding one would mean a modelling bug
    assert 0 < row["score"] <= row["bks"]
    assert row["gap"] == (row["bks"] - row["score"]) / row["bks"]
    assert row["gap"] < 0.05
    table = gap_table([row])
    assert family(name) in table and "mean gap" in table



def test_bench_toptw_command_prints_answers_and_the_family_table():
    from click.testing import CliRunner

    from planner.cli import bench_group

    files = [str(DATA / "c101.txt"), str(DATA / "pr01.txt")]
    args = ["toptw", *files, "--routes", "1,2", "--iterations", "30", "--workers", "1", "--seed", "4"]
    out = CliRunner().invoke(bench_group, args)
    assert out.exit_code == 0, out.output
    assert "seed 4, 1 chain(s), 30 iterations per chain" in out.output
    assert "c101     m=2" in out.output and "(no best known)" in out.output  # bks.csv has c101 for m = 1 only
    table = out.output[out.output.index("family"):].splitlines()
    assert [line.split()[:3] for line in table[1:]] == [["c", "1", "1"], ["pr", "1", "1"], ["pr", "2", "1"],
                                                         ["pr", "all", "2"]]
    # the same seed and budget print the same scores and routes (only the seconds may differ)
    again = CliRunner().invoke(bench_group, args).output
    assert [line for line in again.splitlines() if "routes [" in line] == [
        line for line in out.output.splitlines() if "routes [" in line]
    bad = CliRunner().invoke(bench_group, ["toptw", files[0], "--routes", "0,x"])
    assert bad.exit_code == 2 and "路线数" in bad.output and "routes" in bad.output


def test_families_and_the_instances_outside_the_tuning_set():
    assert family("pr13") == "pr11-20" and family("r205") == "r2" and family("rc201") == "rc2"
    bench = Path(__file__).parent.parent / "bench" / "toptw"
    bks = read_bks(bench / "bks.csv")
    assert sorted({name for name, _ in bks}) == [f"pr{k}" for k in range(11, 21)]
    assert {m for _, m in bks} == {1, 2, 3, 4}
    for k in range(11, 21):
        wide, narrow = read_instance(bench / f"pr{k}.txt"), read_instance(DATA / f"pr{k - 10:02d}.txt")
        assert wide.scale == 100 and wide.tmax == narrow.tmax
        # the customers of pr01-pr10 (bench/toptw/README.md), with another depot and other windows
        assert (wide.x[1:], wide.y[1:], wide.service, wide.score) == (
            narrow.x[1:], narrow.y[1:], narrow.service, narrow.score)
        assert all(0 <= o < c <= wide.tmax for o, c in zip(wide.open[1:], wide.close[1:], strict=True))
    (row,) = run_toptw([bench / "pr11.txt"], 2, time_limit=CAP, workers=1, params=Params(max_iterations=100))
    assert check_routes(toptw_problem(bench / "pr11.txt", 2), row["route_nodes"]) == row["score"] <= row["bks"]


@pytest.mark.parametrize("name,m", [("pr11", 1), ("pr13", 2)])
def test_two_opt_shortens_routes_and_keeps_them_feasible(name, m):
    p = toptw_problem(Path(__file__).parent.parent / "bench" / "toptw" / f"{name}.txt", m)
    eng = _Engine(p, 0)
    eng.fill()
    before = eng.stops()
    changed = [eng.two_opt(r) for r in eng.live]
    after = eng.stops()
    assert any(changed)  # greedy insertion leaves crossing legs on these wide-window instances
    for r in range(m):
        assert sorted(after[r]) == sorted(before[r])  # the same stops, reordered
        assert schedule(p, r, after[r]) is not None
        assert route_travel(p, r, after[r]) <= route_travel(p, r, before[r])
    assert sum(route_travel(p, r, after[r]) for r in range(m)) < sum(route_travel(p, r, before[r]) for r in range(m))
    sol = solve(p, time_limit=CAP, params=Params(max_iterations=50, two_opt=True, polish=False))
    assert check_routes(p, sol.routes) == sol.score
