"""core/timestamps.py: the one spelling of a moment, and the store's copy of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from mydocker.core import timestamps
from mydocker.store.events import now_iso


def test_format_and_parse_round_trip_in_utc() -> None:
    when = datetime(2024, 1, 2, 4, 4, 5, 6, tzinfo=timezone(timedelta(hours=1)))
    text = timestamps.format_utc(when)
    assert text == "2024-01-02T03:04:05.000006Z"
    assert timestamps.parse(text) == when and timestamps.parse(text).tzinfo == UTC


def test_the_store_spells_a_moment_the_same_way() -> None:
    # store/events.py may not import core (the layer contract): its copy must agree
    stored = now_iso()
    assert timestamps.format_utc(timestamps.parse(stored)) == stored
    assert abs(timestamps.parse(stored) - timestamps.parse(timestamps.now())) < timedelta(seconds=60)
    assert len(stored) == len(timestamps.now()) == 27


def test_any_rfc3339_time_of_an_image_config_in_our_spelling() -> None:
    assert timestamps.from_rfc3339("2023-05-19T20:19:42.123456789Z") == "2023-05-19T20:19:42.123456Z"
    assert timestamps.from_rfc3339("2023-05-19T22:19:42+02:00") == "2023-05-19T20:19:42.000000Z"
    assert timestamps.from_rfc3339("2023-05-19T20:19:42.5") == "2023-05-19T20:19:42.500000Z"
    assert timestamps.from_rfc3339("yesterday") is None
    assert timestamps.from_rfc3339(None) is None and timestamps.from_rfc3339("") is None


def test_now_is_our_spelling_of_the_present() -> None:
    import re

    stamp = timestamps.now()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
    assert abs((datetime.now(UTC) - timestamps.parse(stamp)).total_seconds()) < 5


def test_the_waiter_loads_neither_datetime_nor_typing() -> None:
    """Every running container has a waiter: what it imports, hundreds of them hold."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import mydocker.core.waiter

    parent = Path(os.path.abspath(mydocker.core.waiter.__file__)).parents[2]
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import mydocker.core.waiter, mydocker.core.logs,"
            " mydocker.core.attachsock; mydocker.core.logs._now();"
            " print(sorted({'datetime', 'typing'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(parent)], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
