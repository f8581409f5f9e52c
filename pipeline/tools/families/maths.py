"""Arithmetic and unit conversion as tools (the safe evaluator itself is pipeline/tools/calc.py)."""

from __future__ import annotations

import math
import re
from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.calc import calculate, convert, known_unit
from pipeline.tools.family import Family, N, S, fmt_number, tool

_UNIT_WORDS = (
    r"miles?|km|kilomet(?:er|re)s?|pounds?|kg|kilos?|grams?|ounces?|cups?|celsius|fahrenheit|degrees|feet|"
    r"foot|meters?|metres?|inches?"
)

_NUM = r"\d+(?:\.\d+)?"
_OP = r"(?:[-+*/x×]|%\s*of|plus|minus|times|multiplied by|divided by|over|percent of|to the power of)"
_SUM = re.compile(rf"(?<![\w.]){_NUM}(?:\s*{_OP}\s*{_NUM})+(?![\w.])", re.IGNORECASE)
_UNIT = r"(?:degrees\s+)?[a-z°/]+(?:\s+per\s+hour)?"
_ONE = rf"(?:{_NUM}|an?|one)"
# "5 kilos in pounds", "how many pounds is 5 kilos", "how many grams in a kilo", "5 km is how many miles"
_CONVERSIONS = (
    (re.compile(rf"\b({_ONE})\s+({_UNIT})\s+(?:in|into|to|as)\s+({_UNIT})\b", re.I), (1, 2, 3)),
    (
        re.compile(
            rf"\bhow many ({_UNIT})\s+(?:is|are|in|make|makes|to|equals?|per|would)\s+(?:be\s+)?({_ONE})\s+"
            rf"({_UNIT})\b",
            re.I,
        ),
        (2, 3, 1),
    ),
    (re.compile(rf"\b({_ONE})\s+({_UNIT})\s+(?:is|are|makes?)\s+how many\s+({_UNIT})\b", re.I), (1, 2, 3)),
)


def plain_sum(text: str) -> dict[str, Any] | None:
    """A sum said outright ("what's 15 percent of 80", "12 times 19"): the expression."""
    found = _SUM.findall(text)
    if len(found) != 1:
        return None
    return {"expression": re.sub(r"\s*%\s*of", " percent of", found[0])}


def plain_conversion(text: str) -> dict[str, Any] | None:
    """A conversion said outright, with a bare quantity ("how many pounds is 5 kilos")."""
    for rx, (v, a, b) in _CONVERSIONS:
        m = rx.search(text)
        if m and known_unit(m.group(a)) and known_unit(m.group(b)):
            raw = m.group(v).lower()
            value = 1.0 if raw in ("a", "an", "one") else float(raw)
            return {
                "value": int(value) if value.is_integer() else value,
                "from_unit": m.group(a),
                "to_unit": m.group(b),
            }
    return None


class Maths(Family):
    @tool(
        "calculate",
        "arithmetic on an expression",
        Tier.READ,
        {"expression": S},
        ("expression",),
        answers=True,  # "20 percent of 45 is 9": the result is the answer, said as it is
        # "15% of 80": Whisper writes a said percentage as a sign
        cue=r"\bcalculate\b|\d\s*(?:[-+*/x]|plus|minus|times|divided by|percent of|%\s*of)\s*\d",
        topic=r"\d\s*(?:[-+*/x%]|plus|minus|times|divided by|percent)|\b(calculate|percent|sum)\b",
        example=("what is 12 times 7", {"expression": "12 * 7"}),
        plain=plain_sum,
    )
    def calculate(self, a: dict[str, Any]) -> ToolResult:
        v = calculate(a["expression"])
        return ToolResult(True, f"{a['expression']} is {fmt_number(v)}", v)

    @tool(
        "convert_units",
        "convert a value between units",
        Tier.READ,
        {"value": N, "from_unit": S, "to_unit": S},
        ("value", "from_unit", "to_unit"),
        answers=True,  # the model, handed "1 pound is 16 ounces", said "1 ounce = 28.35 ounces."
        cue=rf"\bconvert\b|\bhow many \w+ (?:in|is|are) \d|\b\d+(?:\.\d+)?\s*(?:{_UNIT_WORDS})\b",
        topic=rf"\b(convert|{_UNIT_WORDS}|litres?|liters?|gallons?)\b",
        example=("convert 10 miles to km", {"value": 10, "from_unit": "miles", "to_unit": "km"}),
        plain=plain_conversion,
    )
    def convert_units(self, a: dict[str, Any]) -> ToolResult:
        v = convert(float(a["value"]), a["from_unit"], a["to_unit"])
        # said to three significant figures, as people say a conversion ("about 8.05 kilometres",
        # not "eight point zero four six seven"): shorter to hear, and to voice; the data keeps all
        said = float(f"{v:.3g}")
        about = "" if math.isclose(said, v, rel_tol=1e-9, abs_tol=1e-12) else "about "
        return ToolResult(
            True,
            f"{fmt_number(a['value'])} {a['from_unit']} is {about}{fmt_number(said)} {a['to_unit']}",
            v,
        )
