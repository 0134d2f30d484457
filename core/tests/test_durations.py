"""``gateway.durations``: LiteLLM's duration units, calendar months, and the windows durations make.

``mo`` is a calendar month (LiteLLM's ``duration_in_seconds``): the same day of the month N months
later, clamped to the month's last day; ``m`` is minutes.  Windows are counted from their anchor,
or follow the UTC calendar without one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.durations import MAX_DURATION, Duration, DurationError, add_months, parse_duration


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-31 10:30", 1, "2026-02-28 10:30"),  # February is shorter: its last day
        ("2028-01-31 10:30", 1, "2028-02-29 10:30"),  # a leap year's February has 29 days
        ("2028-02-29 08:00", 12, "2029-02-28 08:00"),  # a leap day a year later
        ("2026-12-15 23:59", 1, "2027-01-15 23:59"),  # December rolls into the next year
        ("2026-11-30 00:00", 2, "2027-01-30 00:00"),
        ("2026-03-31 12:00", -1, "2026-02-28 12:00"),
        ("2026-01-15 00:00", -1, "2025-12-15 00:00"),
        ("2026-05-31 06:00", 1, "2026-06-30 06:00"),
    ],
)
def test_months_land_on_the_same_day_or_the_months_last_day(start: str, months: int, expected: str) -> None:
    assert add_months(at(start), months) == at(expected)


def test_a_duration_after_a_moment() -> None:
    jan31 = at("2026-01-31 10:30")
    assert parse_duration("1mo").after(jan31) == at("2026-02-28 10:30")
    assert parse_duration("2mo").after(jan31) == at("2026-03-31 10:30")  # not 28 March: months add up from the start
    assert parse_duration("1mo").after(at("2026-12-31 00:00")) == at("2027-01-31 00:00")
    # m is minutes, never months
    assert parse_duration("1m").after(jan31) == at("2026-01-31 10:31")
    assert parse_duration("30m").seconds == 1800 and parse_duration("30mo").seconds is None
    assert parse_duration("2w").after(jan31) == at("2026-02-14 10:30")
    assert parse_duration("24h").after(jan31) == parse_duration("1d").after(jan31) == at("2026-02-01 10:30")
    assert parse_duration(" 45 s ").after(jan31) == jan31 + timedelta(seconds=45)


def test_a_zone_is_kept_and_a_moment_without_one_is_utc() -> None:
    paris = timezone(timedelta(hours=1))
    local = datetime(2026, 1, 31, 23, 30, tzinfo=paris)
    assert parse_duration("1mo").after(local) == datetime(2026, 2, 28, 23, 30, tzinfo=paris)
    start, end = parse_duration("1d").window(datetime(2026, 3, 14, 15, 0))
    assert (start, end) == (at("2026-03-14 00:00"), at("2026-03-15 00:00"))


@pytest.mark.parametrize(
    ("text", "now", "start", "end"),
    [
        ("1d", "2026-03-14 15:00", "2026-03-14 00:00", "2026-03-15 00:00"),  # midnight UTC
        ("30m", "2026-03-14 15:47", "2026-03-14 15:30", "2026-03-14 16:00"),
        ("1w", "2026-03-14 15:00", "2026-03-09 00:00", "2026-03-16 00:00"),  # weeks start on Monday
        ("1mo", "2026-03-14 15:00", "2026-03-01 00:00", "2026-04-01 00:00"),  # the calendar month
        ("1mo", "2026-02-01 00:00", "2026-02-01 00:00", "2026-03-01 00:00"),  # a start belongs to its window
        ("3mo", "2026-12-31 23:59", "2026-10-01 00:00", "2027-01-01 00:00"),  # quarters
        ("2mo", "2026-12-15 00:00", "2026-11-01 00:00", "2027-01-01 00:00"),
    ],
)
def test_windows_without_an_anchor_follow_the_utc_calendar(text: str, now: str, start: str, end: str) -> None:
    assert parse_duration(text).window(at(now)) == (at(start), at(end))


def test_month_windows_from_an_anchor_never_drift() -> None:
    monthly = parse_duration("1mo")
    anchor = at("2026-01-31 09:00")
    assert monthly.window(at("2026-02-10 00:00"), anchor) == (anchor, at("2026-02-28 09:00"))
    # 28 February, then 31 March again: each start is counted from the anchor, not from the last window
    assert monthly.window(at("2026-03-30 00:00"), anchor) == (at("2026-02-28 09:00"), at("2026-03-31 09:00"))
    assert monthly.window(at("2026-03-31 09:00"), anchor) == (at("2026-03-31 09:00"), at("2026-04-30 09:00"))
    assert monthly.window_starts(at("2026-03-30 00:00"), anchor, previous=1, following=2) == [
        anchor,
        at("2026-02-28 09:00"),
        at("2026-03-31 09:00"),
        at("2026-04-30 09:00"),
    ]
    # before the anchor too (a host whose clock is behind)
    assert monthly.window(at("2026-01-30 00:00"), anchor) == (at("2025-12-31 09:00"), anchor)
    # a leap year's February
    assert monthly.window(at("2028-03-01 00:00"), at("2028-01-31 09:00")) == (
        at("2028-02-29 09:00"),
        at("2028-03-31 09:00"),
    )


def test_fixed_windows_from_an_anchor() -> None:
    anchor = at("2026-03-14 10:20")
    assert parse_duration("1d").window(at("2026-03-16 08:00"), anchor) == (
        at("2026-03-15 10:20"),
        at("2026-03-16 10:20"),
    )
    assert parse_duration("1h").window(at("2026-03-14 09:00"), anchor) == (
        at("2026-03-14 08:20"),
        at("2026-03-14 09:20"),
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0d", "is not a duration"),
        ("-1h", "is not a duration"),
        ("1 fortnight", "is not a duration"),
        ("h", "is not a duration"),
        ("1y", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("36501d", "100 years"),
        ("1201mo", "100 years"),
        ("99999999999999999999s", "16 characters"),
    ],
)
def test_bad_durations_name_the_field_and_what_is_accepted(text: str, words: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text, "budget_duration")
    message = str(caught.value)
    assert message.startswith("budget_duration ") and words in message
    assert caught.value.field == "budget_duration" and message == f"budget_duration {caught.value.reason}"
    if words == "is not a duration":
        assert "1mo (calendar months)" in message and "15m (minutes)" in message


def test_the_longest_durations_are_accepted() -> None:
    assert parse_duration("36500d") == Duration(36500, "d", "36500d")
    assert parse_duration("36500d").seconds == MAX_DURATION.total_seconds()
    assert parse_duration("1200mo").after(at("2026-01-31 00:00")) == at("2126-01-31 00:00")
    assert str(parse_duration(" 1mo ")) == "1mo"
