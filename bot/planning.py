"""Running the planner for the bot: in worker processes, under a time limit, a few plans a minute per user.

The optimiser is pure Python and holds the GIL, so it runs in a process pool: one user's plan never stalls the
event loop that answers everybody else. Workers open the database themselves (read-only use) and return the
itinerary dict, or the InputError as a dict (exceptions with several constructor arguments do not pickle).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import os
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from planner.errors import InputError

log = logging.getLogger(__name__)


class PlanError(Exception):
    """The planner refused the request (bad input) or could not run; `.en` / `.zh` say why."""

    def __init__(self, en: str, zh: str, kind: str = "input"):
        super().__init__(en)
        self.en, self.zh, self.kind = en, zh, kind

    def message(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def trip_request(request: dict, time_limit: float, iterations: int | None = None):
    from planner.trip import TripRequest, for_a_server

    origin = request["origin"]
    end = request.get("end")
    return for_a_server(TripRequest(
        origin=tuple(origin) if isinstance(origin, list | tuple) else origin,
        days=int(request["days"]),
        start_date=dt.date.fromisoformat(request["start_date"]) if request.get("start_date") else None,
        end=tuple(end) if isinstance(end, list | tuple) else end,
        interests=dict(request.get("interests") or {"red": 1.0, "eco": 1.0}),
        themes=list(request.get("themes") or []),
        pace=request.get("pace") or "normal",
        must=list(request.get("must") or []),
        avoid=list(request.get("avoid") or []),
        time_limit=time_limit,
        destination=request.get("destination") or None,
        party=list(request.get("party") or []),
        arrive_at=dt.time.fromisoformat(request["arrive_at"]) if request.get("arrive_at") else None,
        pin={str(k): int(v) for k, v in (request.get("pin") or {}).items()},
        seed=int(request.get("seed") or 0),
        only_must=bool(request.get("only_must")),
    ), iterations)


def solve(db_path: str, request: dict, time_limit: float, iterations: int | None = None) -> dict:
    """Runs in a worker process: {"itinerary": ...} or {"error": {"en": ..., "zh": ...}}."""
    from planner import db as sitedb
    from planner.trip import solve_trip

    db = sitedb.connect(db_path, migrate_schema=False)
    try:
        return {"itinerary": solve_trip(db, trip_request(request, time_limit, iterations))}
    except InputError as e:
        return {"error": {"en": e.message("en"), "zh": e.message("zh")}}
    finally:
        db.conn.close()


def _watch_parent(parent_pid: int) -> None:
    """Worker initializer: exit when the bot process is gone (killed, crashed), instead of lingering."""
    def watch() -> None:
        while True:
            time.sleep(1)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _warm_up() -> bool:
    from planner.toptw import warm_up  # imports numpy and the optimiser once per worker, loads its kernels

    warm_up()
    return True


class Planner:
    """A small process pool with a per-plan deadline."""

    def __init__(self, db_path: str, time_limit: float = 2.0, workers: int = 2, iterations: int | None = None):
        self.db_path, self.time_limit, self.workers, self.iterations = str(db_path), time_limit, workers, iterations
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["planner.trip"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                             initializer=_watch_parent, initargs=(os.getpid(),))
        return self._pool

    async def warm_up(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(self._executor(), _warm_up), 60)
        except Exception:  # noqa: BLE001  (a slow start is not fatal: the first plan waits instead)
            log.warning("planner workers did not warm up", exc_info=True)

    async def plan(self, request: dict) -> dict:
        loop = asyncio.get_running_loop()
        # the search's own safety cap, then model building and process start-up
        deadline = trip_request(request, self.time_limit).time_limit * 2 + 20
        try:
            future = loop.run_in_executor(self._executor(), solve, self.db_path, request, self.time_limit,
                                          self.iterations)
            result = await asyncio.wait_for(future, deadline)
        except TimeoutError:
            raise PlanError("planning took too long", "规划超时", "timeout") from None
        except BrokenProcessPool:
            self.close()
            raise PlanError("the planner stopped unexpectedly", "规划进程意外停止", "broken") from None
        if "error" in result:
            raise PlanError(result["error"]["en"], result["error"]["zh"])
        return result["itinerary"]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class RateLimiter:
    """At most `limit` plans per `period` seconds per user (a sliding window, kept in memory)."""

    def __init__(self, limit: int = 3, period: float = 60.0, clock=time.monotonic):
        self.limit, self.period, self.clock = limit, period, clock
        self._seen: dict[int, deque[float]] = {}

    def check(self, user_id: int) -> int:
        """0 and count this plan if allowed; otherwise the seconds to wait."""
        now = self.clock()
        seen = self._seen.setdefault(user_id, deque())
        while seen and now - seen[0] >= self.period:
            seen.popleft()
        if len(seen) >= self.limit:
            return max(1, int(self.period - (now - seen[0]) + 0.999))
        seen.append(now)
        return 0

    @classmethod
    def from_text(cls, text: str | None) -> RateLimiter:
        """'3/60' -> 3 plans per 60 seconds."""
        try:
            limit, _, period = (text or "3/60").partition("/")
            return cls(max(1, int(limit)), float(period or 60))
        except ValueError:
            return cls()
