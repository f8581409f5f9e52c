"""Arithmetic and unit conversion. Expressions are parsed into a syntax tree and only numbers and
arithmetic operators are evaluated: no names, calls or attributes, so no text can run code."""

from __future__ import annotations

import ast
import math
import operator
import re

from pipeline.tools.errors import ToolArgumentError

_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_WORDS = [
    (r"\bmultiplied by\b|\btimes\b|×|\bx\b", "*"),
    (r"\bdivided by\b|÷|\bover\b", "/"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\bto the power of\b|\^", "**"),
    (r"\bpercent of\b", "/100*"),
    (r"(\d),(\d{3})", r"\1\2"),
]


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 100:
            raise ToolArgumentError("exponent too large", "use an exponent of at most 100")
        return _OPS[type(node.op)](left, right)
    raise ToolArgumentError(
        "only numbers and + - * / % ** ( ) are allowed in an expression", "e.g. '12 * (3 + 4)'"
    )


def calculate(expression: str) -> float:
    text = expression.lower().strip().rstrip("?=. ")
    for pattern, repl in _WORDS:
        text = re.sub(pattern, repl, text)
    if len(text) > 200:
        raise ToolArgumentError("expression too long", "keep it under 200 characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ToolArgumentError(f"cannot read '{expression}' as arithmetic", "e.g. '12 * (3 + 4)'") from None
    try:
        value = _eval(tree)
    except ZeroDivisionError:
        raise ToolArgumentError("division by zero", "divide by a number other than 0") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolArgumentError("the result is not a finite number", "check the expression")
    return value


# unit -> (dimension, factor to the base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0),
    "meter": ("length", 1.0),
    "metre": ("length", 1.0),
    "km": ("length", 1000.0),
    "kilometer": ("length", 1000.0),
    "kilometre": ("length", 1000.0),
    "cm": ("length", 0.01),
    "centimeter": ("length", 0.01),
    "mm": ("length", 0.001),
    "mile": ("length", 1609.344),
    "mi": ("length", 1609.344),
    "yard": ("length", 0.9144),
    "foot": ("length", 0.3048),
    "feet": ("length", 0.3048),
    "ft": ("length", 0.3048),
    "inch": ("length", 0.0254),
    "inches": ("length", 0.0254),
    "in": ("length", 0.0254),
    "kg": ("mass", 1.0),
    "kilogram": ("mass", 1.0),
    "g": ("mass", 0.001),
    "gram": ("mass", 0.001),
    "lb": ("mass", 0.45359237),
    "pound": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
    "ounce": ("mass", 0.028349523125),
    "l": ("volume", 1.0),
    "liter": ("volume", 1.0),
    "litre": ("volume", 1.0),
    "ml": ("volume", 0.001),
    "milliliter": ("volume", 0.001),
    "gallon": ("volume", 3.785411784),
    "cup": ("volume", 0.2365882365),
    "s": ("time", 1.0),
    "second": ("time", 1.0),
    "minute": ("time", 60.0),
    "min": ("time", 60.0),
    "hour": ("time", 3600.0),
    "h": ("time", 3600.0),
    "day": ("time", 86400.0),
    "kmh": ("speed", 1 / 3.6),
    "km/h": ("speed", 1 / 3.6),
    "mph": ("speed", 0.44704),
}
# what people say for a unit: "five kilos", "ten lbs", "a kilo"
_ALIASES = {
    "kilo": "kg",
    "kgs": "kg",
    "lbs": "lb",
    "kms": "km",
    "klick": "km",
    "millimeter": "mm",
    "millimetre": "mm",
    "centimetre": "cm",
    "gramme": "gram",
    "hr": "hour",
    "hrs": "hour",
    "mins": "min",
    "secs": "s",
    "sec": "s",
    "kph": "kmh",
    "kilometers per hour": "kmh",
    "kilometres per hour": "kmh",
    "miles per hour": "mph",
}
_TEMPS = {"c": "c", "celsius": "c", "f": "f", "fahrenheit": "f", "k": "k", "kelvin": "k"}


def _unit(name: str) -> str:
    u = name.lower().strip().replace("degrees ", "").replace("°", "")
    for v in (u, u[:-2] if u.endswith("es") else "", u[:-1] if u.endswith("s") else ""):
        v = _ALIASES.get(v, v)
        if v and (v in _UNITS or v in _TEMPS):
            return v
    raise ToolArgumentError(f"unknown unit '{name}'", "e.g. km, miles, kg, pounds, celsius, fahrenheit, cups")


def known_unit(name: str) -> bool:
    """Whether `name` is a unit `convert` reads ("kilos", "degrees fahrenheit", "mph")."""
    try:
        _unit(name)
    except ToolArgumentError:
        return False
    return True


def convert(value: float, from_unit: str, to_unit: str) -> float:
    a, b = _unit(from_unit), _unit(to_unit)
    if a in _TEMPS and b in _TEMPS:
        c = {"c": value, "f": (value - 32) * 5 / 9, "k": value - 273.15}[_TEMPS[a]]
        return {"c": c, "f": c * 9 / 5 + 32, "k": c + 273.15}[_TEMPS[b]]
    if a in _TEMPS or b in _TEMPS or _UNITS[a][0] != _UNITS[b][0]:
        raise ToolArgumentError(f"cannot convert {from_unit} to {to_unit}", "convert within one kind of unit")
    return value * _UNITS[a][1] / _UNITS[b][1]
