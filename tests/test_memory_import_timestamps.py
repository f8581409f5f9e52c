"""`twin memory import` reads the timestamps real exports contain (ISO 8601 with and without a zone,
RFC 2822, "9:55 am on 22 October, 2023", day-first locale dates), and refuses, one line at a time,
what is no date or lacks part of one: never completed from today's date."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from memory import Memory, MemoryInputError
from memory.timestamps import parse_timestamp


def _local(*args: int) -> float:
    return datetime(*args).timestamp()  # a time without a zone is this machine's local time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:55 am on 22 October, 2023", _local(2023, 10, 22, 9, 55)),
        ("1:56 pm on 8 May, 2023", _local(2023, 5, 8, 13, 56)),
        ("Oct 22, 2023 9:55 PM", _local(2023, 10, 22, 21, 55)),
        ("22 Oct 2023", _local(2023, 10, 22)),
        ("2023-10-22T21:55:00Z", datetime(2023, 10, 22, 21, 55, tzinfo=UTC).timestamp()),
        (
            "2023-10-22T21:55:00+05:30",
            datetime(2023, 10, 22, 21, 55, tzinfo=timezone(timedelta(hours=5, minutes=30))).timestamp(),
        ),
        ("2023-10-22 21:55", _local(2023, 10, 22, 21, 55)),
        ("20231022T2155", _local(2023, 10, 22, 21, 55)),
        (
            "Sun, 22 Oct 2023 21:55:00 +0100",
            datetime(2023, 10, 22, 20, 55, tzinfo=UTC).timestamp(),
        ),
        ("Sun, 22 Oct 2023 21:55:00 GMT", datetime(2023, 10, 22, 21, 55, tzinfo=UTC).timestamp()),
        ("22/10/2023 21:55", _local(2023, 10, 22, 21, 55)),
        ("22.10.2023", _local(2023, 10, 22)),
        ("10/11/2023", _local(2023, 11, 10)),  # day first: 10 November
        ("10/22/2023", _local(2023, 10, 22)),  # 22 cannot be a month
    ],
)
def test_timestamps_people_export(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("22 October", "no year"),
        ("9:55 am", "no year or month or day"),
        ("yesterday-ish", "Unknown string format"),
        ("", "empty"),
        ("1698012900", "JSON number"),
        ("32/13/2023", "bad time"),
        ("22 October, 99999", "bad time"),
    ],
)
def test_what_is_no_full_date_is_refused_with_the_reason(text, why):
    with pytest.raises(MemoryInputError) as err:
        parse_timestamp(text)
    assert why in err.value.message and "accepted:" in err.value.message and err.value.hint


def test_import_reads_export_timestamps_and_reports_each_unreadable_line(tmp_path):
    lines = [
        {"id": "a", "text": "Caroline went to a support group", "time": "1:56 pm on 8 May, 2023"},
        {"id": "b", "text": "Melanie painted a sunrise", "timestamp": "Mon, 08 May 2023 14:10:00 +0000"},
        {"id": "c", "text": "We met at the cafe", "date": "22/10/2023 21:55"},
        {"id": "d", "text": "A line with no year", "time": "22 October"},
        {"id": "e", "text": "Not a date at all", "created_at": "sometime"},
        {"id": "f", "text": "ISO without a zone", "time": "2023-10-22T21:55:00"},
    ]
    path = tmp_path / "conversation.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    mem = Memory.open(tmp_path / "memory")
    try:
        n, errors = mem.import_file(path)
        assert n == 4
        assert [line for line, _ in errors] == [4, 5]
        assert "no year" in errors[0][1] and "sometime" in errors[1][1]
        assert mem.items["a"].valid_from == _local(2023, 5, 8, 13, 56)
        assert mem.items["b"].created == datetime(2023, 5, 8, 14, 10, tzinfo=UTC).timestamp()
        assert mem.items["c"].valid_from == _local(2023, 10, 22, 21, 55)
        assert mem.items["f"].valid_from == _local(2023, 10, 22, 21, 55)
        assert "d" not in mem.items and "e" not in mem.items
    finally:
        mem.close()
