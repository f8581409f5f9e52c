"""A real MCP server (the official SDK, over stdio) for a home's devices, as a Home Assistant bridge
would present them, that the reach tests start themselves. Each tool declares what it acts on in a
different place: `set_light` in its description, `power` only in its input schema (the appliances
it can switch are an enum), `curtains` in a Chinese description. Nothing here touches a real device:
each call answers what it would have done."""

from typing import Literal

from mcp.server.mcpserver import MCPServer

server = MCPServer("home")


@server.tool(description="Switch a light on or off, by the room it is in.")
def set_light(room: str, on: bool) -> str:
    return f"the {room} light is {'on' if on else 'off'}"


@server.tool(description="Switch an appliance's power on or off.")
def power(appliance: Literal["kettle", "coffee machine"], on: bool) -> str:
    return f"the {appliance} is {'on' if on else 'off'}"


@server.tool(description="打开或关闭窗帘。")
def curtains(action: Literal["open", "close"]) -> str:
    return f"curtains: {action}"


if __name__ == "__main__":
    server.run()
