"""Travel time between points: an embedded estimate, or an OSRM server when one is configured.

`RoadEstimate` turns great-circle distance into road distance with a circuity factor, then into minutes with
speeds by distance band (the first kilometres are slow town and mountain roads, long legs use expressways).
The constants:
- CIRCUITY 1.35: road networks are typically 1.2-1.4 times the straight line (Ballou, Rahardja & Sakai,
  "Selected country circuity factors for road travel distance estimation", Transportation Research A 36,
  2002); this hilly zone sits at the high end. `hongtu bench travel` compares the estimate with published
  road distances and drive times in data/road_distances.csv.
- Speed bands 35 / 60 / 80 km/h: between the design speeds of China's class-3 roads (30-40 km/h), class-2
  and class-1 highways (60-80) and expressways (80-120) in the national Technical Standard of Highway
  Engineering (JTG B01-2014), biased low because tourists drive mountain roads slowly.
- 5 minutes per leg for parking and walking to the entrance.
`honest_legs` then corrects any matrix for two things the points alone hide:
- Imprecise points (a county-centre or township estimate, `coord_precision_m`): two sites sharing one
  estimated point are not 0 km apart. A leg is at least the road distance (x CIRCUITY) of the mean of the
  two precision radii (each true location lies somewhere within its radius; the mean is a floor, not an
  expectation), so no leg is ever 0 minutes or 0 km; exact points are still MIN_SEPARATION_KM apart.
- Legs between two sites of one ticketed scenic area climb mountain roads (or ride the area's shuttle):
  MOUNTAIN_CIRCUITY 1.8 and MOUNTAIN_SPEED_KMH 30 instead of 1.35 and the speed bands. ASSUMPTION, not
  measured: hairpin roads such as 茨坪-黄洋界 wind well above the 1.2-1.4 lowland range of Ballou et al.;
  the sightseeing buses run at about town speed. data/road_distances.csv has no pair inside an area yet to
  calibrate them.
`OsrmTable` asks an OSRM server's table service (`/table/v1/driving/...`) for real road durations and
distances; any failure falls back to the estimate, and `Matrix.source` says which was used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import numpy as np

from planner.geo import EARTH_RADIUS_M

CIRCUITY = 1.35
SPEED_BANDS_KMH = ((10.0, 35.0), (50.0, 60.0), (math.inf, 80.0))  # (up to road km, speed)
LEG_OVERHEAD_MIN = 5.0
MOUNTAIN_CIRCUITY = 1.8  # assumption, see the module docstring
MOUNTAIN_SPEED_KMH = 30.0  # assumption, see the module docstring
MIN_SEPARATION_KM = 0.05  # two distinct stops with exact points: at least a short walk apart


@dataclass
class Matrix:
    minutes: np.ndarray  # integer minutes, [i][j]
    km: np.ndarray  # road kilometres, [i][j]
    source: str  # "estimate", "osrm" or "estimate (OSRM failed: …)"


def great_circle_km(points: Sequence[tuple[float, float]]) -> np.ndarray:
    lat = np.radians([p[0] for p in points])
    lon = np.radians([p[1] for p in points])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M / 1000 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def drive_minutes(road_km: np.ndarray) -> np.ndarray:
    """Minutes to drive `road_km`, each band of the distance at its own speed, plus the per-leg overhead."""
    minutes = np.zeros_like(road_km, dtype=float)
    lower = 0.0
    for upper, speed in SPEED_BANDS_KMH:
        in_band = np.clip(road_km - lower, 0, upper - lower)
        minutes += in_band / speed * 60
        lower = upper
    return minutes + LEG_OVERHEAD_MIN


class RoadEstimate:
    name = "estimate"

    def matrix(self, points: Sequence[tuple[float, float]]) -> Matrix:
        km = great_circle_km(points) * CIRCUITY
        minutes = np.ceil(drive_minutes(km)).astype(np.int64)
        np.fill_diagonal(minutes, 0)
        return Matrix(minutes, km, "estimate")


class OsrmTable:
    """OSRM's table service: https://project-osrm.org/docs/v5.24.0/api/#table-service"""

    def __init__(self, base_url: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.fallback = RoadEstimate()

    def matrix(self, points: Sequence[tuple[float, float]]) -> Matrix:
        try:
            return self._query(points)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
            estimate = self.fallback.matrix(points)
            estimate.source = f"estimate (OSRM failed: {type(e).__name__}: {str(e)[:120]})"
            return estimate

    def _query(self, points: Sequence[tuple[float, float]]) -> Matrix:
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
        url = f"{self.base_url}/table/v1/driving/{coords}"
        response = httpx.get(url, params={"annotations": "duration,distance"}, timeout=self.timeout)
        response.raise_for_status()
        body = response.json()
        if body.get("code") != "Ok":
            raise ValueError(f"OSRM answered {body.get('code')}: {body.get('message', '')}")
        durations = np.array(body["durations"], dtype=float)
        distances = np.array(body["distances"], dtype=float)
        n = len(points)
        if durations.shape != (n, n) or distances.shape != (n, n) or np.isnan(durations).any():
            raise ValueError("OSRM table has the wrong shape or unreachable pairs")
        minutes = np.ceil(durations / 60 + LEG_OVERHEAD_MIN).astype(np.int64)
        np.fill_diagonal(minutes, 0)
        return Matrix(minutes, distances / 1000, "osrm")


def honest_legs(matrix: Matrix, points: Sequence[tuple[float, float]], precision_m: Sequence[float],
                area_of: Sequence[str | None], ids: Sequence[str | None]) -> Matrix:
    """`matrix` with leg floors for imprecise points and mountain roads inside scenic areas (see the module
    docstring). Only ever lengthens a leg between two different places (`ids`: the same id twice, e.g. a
    trip that ends where it starts, is one place: 0 minutes apart)."""
    n = len(points)
    straight = great_circle_km(points)
    radius_km = np.asarray(precision_m, dtype=float) / 1000
    floor_km = np.maximum((radius_km[:, None] + radius_km[None, :]) / 2, MIN_SEPARATION_KM) * CIRCUITY
    km = np.maximum(matrix.km, floor_km)
    minutes = np.maximum(matrix.minutes, np.ceil(drive_minutes(floor_km)).astype(np.int64))
    areas = np.array([a or "" for a in area_of], dtype=object)
    same_area = (areas[:, None] == areas[None, :]) & (areas[:, None] != "")
    if same_area.any() and matrix.source.startswith("estimate"):  # OSRM knows the mountain roads itself
        mountain_km = np.maximum(straight, floor_km / CIRCUITY) * MOUNTAIN_CIRCUITY
        mountain_min = np.ceil(mountain_km / MOUNTAIN_SPEED_KMH * 60 + LEG_OVERHEAD_MIN).astype(np.int64)
        km = np.where(same_area, np.maximum(km, mountain_km), km)
        minutes = np.where(same_area, np.maximum(minutes, mountain_min), minutes)
    keys = np.array([i if i is not None else f"#{k}" for k, i in enumerate(ids)], dtype=object)
    same_place = keys[:, None] == keys[None, :]
    minutes = np.where(same_place, 0, minutes)
    km = np.where(same_place, 0.0, km)
    np.fill_diagonal(minutes, 0)
    np.fill_diagonal(km, 0.0)
    assert minutes.shape == (n, n)
    return Matrix(minutes, km, matrix.source)


def provider_from_env(environ) -> RoadEstimate | OsrmTable:
    url = environ.get("HONGTU_OSRM_URL")
    return OsrmTable(url) if url else RoadEstimate()
