"""Arithmetic and unit conversion as tools (the safe evaluator itself is pipeline/tools/calc.py)."""

from __future__ import annotations

from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.calc import calculate, convert
from pipeline.tools.family import Family, N, S, fmt_number, tool

_UNIT_WORDS = (
    r"miles?|km|kilomet(?:er|re)s?|pounds?|kg|kilos?|grams?|ounces?|cups?|celsius|fahrenheit|degrees|feet|"
    r"foot|meters?|metres?|inches?"
)


class Maths(Family):
    @tool(
        "calculate",
        "arithmetic on an expression",
        Tier.READ,
        {"expression": S},
        ("expression",),
        cue=r"\bcalculate\b|\d\s*(?:[-+*/x]|plus|minus|times|divided by|percent of)\s*\d",
        topic=r"\d\s*(?:[-+*/x]|plus|minus|times|divided by|percent)|\b(calculate|percent|sum)\b",
        example=("what is 12 times 7", {"expression": "12 * 7"}),
    )
    def calculate(self, a: dict[str, Any]) -> ToolResult:
        v = calculate(a["expression"])
        return ToolResult(True, f"{a['expression']} = {fmt_number(v)}", v)

    @tool(
        "convert_units",
        "convert a value between units",
        Tier.READ,
        {"value": N, "from_unit": S, "to_unit": S},
        ("value", "from_unit", "to_unit"),
        cue=rf"\bconvert\b|\bhow many \w+ (?:in|is|are) \d|\b\d+(?:\.\d+)?\s*(?:{_UNIT_WORDS})\b",
        topic=rf"\b(convert|{_UNIT_WORDS}|litres?|liters?|gallons?)\b",
        example=("convert 10 miles to km", {"value": 10, "from_unit": "miles", "to_unit": "km"}),
    )
    def convert_units(self, a: dict[str, Any]) -> ToolResult:
        v = convert(float(a["value"]), a["from_unit"], a["to_unit"])
        return ToolResult(
            True,
            f"{fmt_number(a['value'])} {a['from_unit']} is {fmt_number(round(v, 4))} {a['to_unit']}",
            v,
        )
