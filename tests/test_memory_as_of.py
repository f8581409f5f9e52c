"""Facts that change keep their history, and recall answers as of a time: "where did I live in
2023?" finds the home that held then, superseded since; "where did I live before?" finds the old
one; "where do I live?" only the current. No test depends on today's date."""

from __future__ import annotations

from datetime import datetime

import pytest

from memory.timeparse import as_of_window, asks_history

NOW = datetime(2026, 6, 15, 12, 0).astimezone()


def _at(y: int, m: int, d: int = 15) -> float:
    return datetime(y, m, d, 12, 0).astimezone().timestamp()


def _year(y: int) -> tuple[float, float]:
    tz = NOW.tzinfo  # windows are in the asker's time zone (as `now` has it)
    return datetime(y, 1, 1, tzinfo=tz).timestamp(), datetime(y + 1, 1, 1, tzinfo=tz).timestamp()


def _month(y: int, m: int) -> tuple[float, float]:
    tz = NOW.tzinfo
    return datetime(y, m, 1, tzinfo=tz).timestamp(), datetime(y, m + 1, 1, tzinfo=tz).timestamp()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Where did I live in 2023?", _year(2023)),
        ("what was my job during 2021", _year(2021)),
        ("who was my doctor back in the year 2019?", _year(2019)),
        ("Who was my boss last year?", _year(2025)),
        ("where was I working in March 2024?", _month(2024, 3)),
        ("我2023年住在哪里？", _year(2023)),
        ("我去年在哪里工作？", _year(2025)),
        ("2024年3月我住在哪里", _month(2024, 3)),
        ("Where do I live?", None),
        ("set a timer for 2023 seconds", None),  # a number, not a year of one's life
        ("what did I do yesterday?", None),  # a day: time_window's question, not an as-of one
    ],
)
def test_as_of_window(query, expected):
    assert as_of_window(query, NOW) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Where did I live before?", True),
        ("What was my old job?", True),
        ("who was my previous doctor", True),
        ("Where did I use to live?", True),
        ("where I used to live", True),
        ("What do I use to clean the oven?", False),
        ("我以前住在哪里？", True),
        ("Where do I live?", False),
        ("How old is my dog?", False),
        ("What's my last name?", False),
    ],
)
def test_asks_history(query, expected):
    assert asks_history(query) is expected


@pytest.fixture()
def moves(mem):
    """Anna lived in Leeds from 2021, moved to Manchester in September 2024; a job since 2020; a
    game of tennis in July 2023; Bob lived in Bristol in 2023 (his own scope)."""
    leeds = mem.remember("You live in Leeds", "anna", key="user.lives_in", at=_at(2021, 5))
    manchester = mem.remember("You live in Manchester", "anna", key="user.lives_in", at=_at(2024, 9))
    mem.remember("You work as a nurse", "anna", key="user.job", at=_at(2020, 2))
    mem.remember("You played tennis with Sam", "anna", "episode", at=_at(2023, 7))
    mem.remember("You live in Bristol", "bob", key="user.lives_in", at=_at(2022, 1))
    return leeds, manchester


def _top(mem, query: str, who: str = "anna", k: int = 2) -> list[str]:
    return [h.item.text for h in mem.search(query, who, k=k, now=NOW.timestamp())]


def test_where_did_i_live_in_a_year(mem, moves):
    leeds, manchester = moves
    assert leeds.valid_to == manchester.valid_from and not leeds.current  # history, not deleted
    assert _top(mem, "Where did I live in 2023?")[0] == "You live in Leeds"
    assert "You live in Manchester" not in _top(mem, "Where did I live in 2023?", k=4)
    assert _top(mem, "Where did I live in 2025?")[0] == "You live in Manchester"
    assert _top(mem, "Where did I live last year?")[0] == "You live in Manchester"  # 2025, from NOW
    assert _top(mem, "我2022年住在哪里？")[0] == "You live in Leeds"
    # 2024 held both: Leeds until September, Manchester after
    assert set(_top(mem, "Where did I live in 2024?")) == {"You live in Leeds", "You live in Manchester"}
    # the current value only, when no time is asked; never another speaker's
    assert _top(mem, "Where do I live?", k=4).count("You live in Leeds") == 0
    assert "You live in Bristol" not in _top(mem, "Where did I live in 2023?", k=5)


def test_before_finds_the_old_value_said_as_the_past(mem, moves):
    assert "You live in Leeds" in _top(mem, "Where did I live before?")
    lines = mem.recall("Where did I live in 2023?", "anna", 0.5)
    assert lines and lines[0].startswith("You live in Leeds (from May 2021 until September 2024; no longer)")
    assert mem.recall("Where do I live?", "anna", 0.5)[0] == "You live in Manchester"


def test_as_of_still_finds_events_of_that_year_and_forgetting_erases(mem, moves):
    leeds, _ = moves
    assert "You played tennis with Sam" in _top(mem, "What did I do in 2023?", k=4)
    assert mem.forget([leeds.id]) == 1
    # forgotten for real: 2023 holds no home any more, and the question falls back to what holds now
    assert "You live in Leeds" not in _top(mem, "Where did I live in 2023?", k=5)
    assert "You live in Leeds" not in [it.text for it in mem.list("anna", include_history=True)]


@pytest.mark.parametrize(
    "asked",
    [
        "Where did I live in 2023?",
        "where did I live in 2023",  # no question mark from the ASR
        "Hey, where did I live in 2022?",
        "Do I live in Leeds?",
        "where do I work",
    ],
)
def test_a_question_about_a_fact_never_overwrites_it(mem, moves, asked):
    """Before, "Where did I live in 2023?" was stored as where Anna lives, superseding Manchester."""
    assert mem.observe(asked, "", "anna") == []
    assert mem.recall("Where do I live?", "anna", 0.5)[0] == "You live in Manchester"


@pytest.mark.parametrize(
    ("said", "fact"),
    [
        ("I live in Leeds", "You live in Leeds"),
        ("So, I live in Leeds.", "You live in Leeds"),
        ("Hi Twin, I live in Leeds. Where is the nearest bakery?", "You live in Leeds"),
        ("I work at the bank", "You work at the bank"),
    ],
)
def test_statements_are_still_kept(said, fact):
    from memory.policy import extract

    assert [c.text for c in extract(said)] == [fact]


@pytest.mark.parametrize(
    ("query", "plain"),
    [
        ("Where did I live in 2023?", "Where did I live?"),
        ("我2022年住在哪里？", "我住在哪里？"),
        ("what was my job in March 2024?", "what was my job?"),
        ("Who was my boss last year?", "Who was my boss?"),
    ],
)
def test_the_year_is_the_windows_part(query, plain):
    from memory.timeparse import without_as_of

    assert without_as_of(query) == plain


@pytest.mark.parametrize(
    ("asked", "answer"),
    [
        (
            "Where did I live in 2023?",
            "You told me: you live in Leeds (from May 2021 until September 2024; no longer).",
        ),
        (
            "Where did I live before?",
            "You told me: you live in Leeds (from May 2021 until September 2024; no longer).",
        ),
        (
            "Where did I use to live?",
            "You told me: you live in Leeds (from May 2021 until September 2024; no longer).",
        ),
        ("Where do I live?", "You told me: you live in Manchester."),
        (
            "我2022年住在哪里？",
            "你告诉过我：you live in Leeds (from May 2021 until September 2024; no longer)。",
        ),
    ],
)
def test_the_answer_is_the_users_own_words_never_the_models(mem, moves, asked, answer):
    """A question about where one lived is the user's own fact: said back from memory, with no model
    to invent a city (the 0.5B model answered "我2022年住在哪里？" with "我2022年住在北京。")."""
    from pipeline.conversation.answering import decide, read_request

    language = "zh" if asked.startswith("我") else "en"
    recalled = mem.recall(asked, "anna", 0.5)
    reply = decide(asked, language, None, None, recalled, [], read_request(asked, [], False))
    assert reply.direct == answer
