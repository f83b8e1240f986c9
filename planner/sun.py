"""Sunset for a date and place: the NOAA solar calculator's equations.

Source: NOAA Global Monitoring Laboratory, "General Solar Position Calculations" and its spreadsheet
(https://gml.noaa.gov/grad/solcalc/calcdetails.html), which follow Jean Meeus, "Astronomical Algorithms".
Sunset is when the sun's upper limb touches an unobstructed horizon, with standard refraction (zenith
90.833 degrees); NOAA quotes about one minute's accuracy for latitudes between +/-72 degrees. Mountains and
valleys make real daylight end earlier, which is why the planner ends outdoor visits at this time, not after.
"""

from __future__ import annotations

import datetime as dt
import math

CHINA_UTC_OFFSET_H = 8  # Asia/Shanghai has no daylight saving time
_ZENITH_SUNSET_DEG = 90.833


def sunset_minutes(date: dt.date, lat: float, lon: float, utc_offset_h: float = CHINA_UTC_OFFSET_H) -> int:
    """Local sunset as minutes after midnight (rounded down: a visit ending by then ends in daylight)."""
    noon, half_day = _solar_noon_and_half_day(date, lat, lon, utc_offset_h)
    return int(math.floor(noon + half_day))


def sunrise_minutes(date: dt.date, lat: float, lon: float, utc_offset_h: float = CHINA_UTC_OFFSET_H) -> int:
    noon, half_day = _solar_noon_and_half_day(date, lat, lon, utc_offset_h)
    return int(math.ceil(noon - half_day))


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _solar_noon_and_half_day(date: dt.date, lat: float, lon: float, utc_offset_h: float) -> tuple[float, float]:
    """Solar noon and half the day length, both in local minutes (the spreadsheet's columns X and W x 4)."""
    julian_day = date.toordinal() + 1721424.5 + 0.5 - utc_offset_h / 24  # local noon, as UT
    t = (julian_day - 2451545.0) / 36525.0  # Julian centuries since J2000.0
    mean_long = (280.46646 + t * (36000.76983 + t * 0.0003032)) % 360
    mean_anom = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    eccent = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    m = math.radians(mean_anom)
    centre = (math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t)) + math.sin(2 * m) * (0.019993 - 0.000101 * t)
              + math.sin(3 * m) * 0.000289)
    omega = math.radians(125.04 - 1934.136 * t)
    apparent_long = mean_long + centre - 0.00569 - 0.00478 * math.sin(omega)
    mean_obliquity = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60
    obliquity = math.radians(mean_obliquity + 0.00256 * math.cos(omega))
    declination = math.asin(math.sin(obliquity) * math.sin(math.radians(apparent_long)))
    y = math.tan(obliquity / 2) ** 2
    l0 = math.radians(mean_long)
    equation_of_time = 4 * math.degrees(
        y * math.sin(2 * l0) - 2 * eccent * math.sin(m) + 4 * eccent * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0) - 1.25 * eccent * eccent * math.sin(2 * m))
    phi = math.radians(lat)
    cos_hour_angle = (math.cos(math.radians(_ZENITH_SUNSET_DEG)) / (math.cos(phi) * math.cos(declination))
                      - math.tan(phi) * math.tan(declination))
    hour_angle = math.degrees(math.acos(max(-1.0, min(1.0, cos_hour_angle))))
    noon = 720 - 4 * lon - equation_of_time + utc_offset_h * 60
    return noon, 4 * hour_angle
