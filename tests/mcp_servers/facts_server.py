"""A real MCP server (the official SDK, over stdio) that answers live-data questions from a fixed
table: what a weather or market data server returns, without the network these machines lack. Tests
and `twin bench understanding` start it to check that Twin reaches a third-party tool for requests
that name no tool word, and states only the figures the tool gave."""

import os
import time

from mcp.server.mcpserver import MCPServer

REPORT_SECONDS = float(os.environ.get("FACTS_REPORT_SECONDS", "3"))

WEATHER = {
    "paris": "Paris: 14 °C, light rain, wind 18 km/h",
    "san francisco": "San Francisco: 17 °C, fog clearing by noon",
    "london": "London: 9 °C, overcast",
    "tokyo": "Tokyo: 21 °C, clear",
}
PRICES = {"NVDA": "NVDA: 131.42 USD, up 1.8% today", "AAPL": "AAPL: 227.10 USD, down 0.4% today"}

server = MCPServer("facts")


@server.tool(description="Current weather conditions and temperature for a city.")
def get_weather(city: str) -> str:
    return WEATHER.get(city.strip().lower(), f"No weather station data for {city}.")


@server.tool(description="Latest share price of a company's stock, by its ticker symbol.")
def get_stock_price(symbol: str) -> str:
    return PRICES.get(symbol.strip().upper(), f"No quote for {symbol}.")


@server.tool(description="Write a short report on a topic. Takes a few seconds.")
def write_report(topic: str) -> str:
    time.sleep(REPORT_SECONDS)
    return f"Report on {topic}: three points, one page."


if __name__ == "__main__":
    server.run()
