import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.geo import bd09_to_gcj02, bd09_to_wgs84, gcj02_to_wgs84, haversine_m, to_wgs84, wgs84_to_gcj02

# (wgs lat, wgs lon, gcj lat, gcj lon) from googollee/eviltransform's test suite.
EVILTRANSFORM_POINTS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]


@pytest.mark.parametrize("wlat,wlon,glat,glon", EVILTRANSFORM_POINTS)
def test_wgs84_to_gcj02_matches_published_points(wlat, wlon, glat, glon):
    assert wgs84_to_gcj02(wlat, wlon) == pytest.approx((glat, glon), abs=1e-9)


@pytest.mark.parametrize("wlat,wlon,glat,glon", EVILTRANSFORM_POINTS)
def test_gcj02_to_wgs84_recovers_published_points(wlat, wlon, glat, glon):
    assert gcj02_to_wgs84(glat, glon) == pytest.approx((wlat, wlon), abs=1e-8)


def test_gcj02_to_wgs84_agrees_with_gcoord():
    # hujiulong/gcoord test: GCJ02 [123, 45] -> WGS84 [122.99395597, 44.99804071] (to 5 decimals there).
    assert gcj02_to_wgs84(45, 123) == pytest.approx((44.99804071, 122.99395597), abs=1e-6)


def test_bd09_agrees_with_published_points():
    # gcoord: GCJ02 [123, 45] -> BD09 [123.00636499, 45.00636899]; we invert it.
    assert haversine_m(*bd09_to_gcj02(45.00636899, 123.00636499), 45, 123) < 1
    # eviltransform's own BD-09 inverse is a coarser approximation; we agree with it to ~10 m.
    lat, lon = bd09_to_wgs84(29.199786, 120.019809)
    assert haversine_m(lat, lon, 29.196131605295484, 120.00877901149691) < 15


@given(st.floats(25.0, 29.6), st.floats(112.5, 115.1))
def test_round_trip_in_the_zone_is_below_a_millimetre(lat, lon):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))
    assert haversine_m(lat, lon, *back) < 0.001


def test_offset_in_the_zone_is_hundreds_of_metres():
    # The reason we convert at all: in Jinggangshan the two systems differ by ~500 m.
    glat, glon = wgs84_to_gcj02(26.57, 114.16)
    assert 200 < haversine_m(26.57, 114.16, glat, glon) < 900


def test_outside_china_is_unchanged_and_unknown_system_is_refused():
    assert wgs84_to_gcj02(48.85, 2.35) == (48.85, 2.35)
    with pytest.raises(ValueError):
        to_wgs84(26.0, 114.0, "osgb36")


def test_haversine_one_degree_of_latitude():
    assert haversine_m(26, 114, 27, 114) == pytest.approx(111_195, rel=1e-3)
