"""Buying: an order is spooled to DATA_DIR/orders for the user's own tooling; sensitive, so asked first."""

from __future__ import annotations

from typing import Any

from pipeline.tools.base import Tier, ToolResult
from pipeline.tools.family import Context, Family, S, tool
from pipeline.tools.store import spool


class Orders(Family):
    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.orders = ctx.data_dir / "orders"

    @tool(
        "place_order",
        "buy an item",
        Tier.SENSITIVE,
        {"item": S, "quantity": {"type": "integer"}},
        ("item",),
        verb="buy",
        category="buy",
        cue=r"\b(?:order|buy|purchase)\b",
        topic=r"\b(order|buy|purchase)\b",
    )
    def place_order(self, a: dict[str, Any]) -> ToolResult:
        path = spool(self.orders, {"item": a["item"], "quantity": a.get("quantity", 1)})
        return ToolResult(True, f"ordered {a.get('quantity', 1)} x {a['item']}", {"file": path.name})
