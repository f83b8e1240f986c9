import datetime as dt

import pytest

from planner.errors import InputError
from planner.hours import format_hours, parse_hours, parse_seasons, windows_on


def test_closed_on_mondays():
    hours = parse_hours("tue-sun 09:00-17:00")
    assert hours["mon"] == []
    assert hours["sun"] == [["09:00", "17:00"]]
    assert format_hours(hours) == "tue-sun 09:00-17:00"


def test_several_groups_and_windows_round_trip():
    text = "mon-fri 08:30-12:00,14:30-17:30; sat-sun 09:00-17:00"
    hours = parse_hours(text)
    assert hours["wed"] == [["08:30", "12:00"], ["14:30", "17:30"]]
    assert format_hours(hours) == text
    assert parse_hours(format_hours(hours)) == hours


def test_wrapping_day_range_and_always():
    assert parse_hours("sat-mon 10:00-16:00")["tue"] == []
    assert parse_hours("sat-mon 10:00-16:00")["mon"] == [["10:00", "16:00"]]
    assert format_hours(parse_hours("always")) == "always"


def test_json_form_is_accepted_and_checked():
    good = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert parse_hours(good) == good
    assert parse_hours('{"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}')["mon"] == []


@pytest.mark.parametrize("bad", ["25:00-26:00", "daily 25:00-26:00", "daily 17:00-09:00", "funday 09:00-10:00",
                                 "daily 09:00-12:00,11:00-13:00", "", "daily 9-5", {"mon": []}])
def test_malformed_hours_name_the_field(bad):
    with pytest.raises(InputError) as info:
        parse_hours(bad)
    assert info.value.field == "hours"


def test_seasons_override_hours_and_wrap_the_new_year():
    hours = parse_hours("daily 07:30-17:30")
    seasons = parse_seasons([{"from": "11-16", "to": "02-28", "hours": "daily 08:00-17:00"}])
    assert windows_on(dt.date(2026, 7, 1), hours, seasons) == [(450, 1050)]
    assert windows_on(dt.date(2027, 1, 10), hours, seasons) == [(480, 1020)]
    with pytest.raises(InputError):
        parse_seasons([{"from": "13-01", "to": "02-28", "hours": "daily 08:00-17:00"}])
