"""`twin mcp list [--json]` and `twin mcp approve SERVER [TOOL]`: the MCP tools the user approved
(pinned by the hash of their name, description and input schema), what each configured server
presents now, and re-approval of a tool a server changed."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipeline.config import TwinConfig
from pipeline.tools.mcp import McpError, McpPins, McpServer, pins_path, sanitize_description


def register(sub: Any, common: argparse.ArgumentParser, bench_sub: Any) -> None:
    p = sub.add_parser("mcp", parents=[common], help="MCP servers' tools: what is approved, what changed")
    msub = p.add_subparsers(dest="mcp_command", required=True)
    m = msub.add_parser(
        "list", parents=[common], help="each configured server's tools against their approved pins"
    )
    m.add_argument("--json", action="store_true")
    m.set_defaults(handler=cmd_mcp_list)
    m = msub.add_parser(
        "approve", parents=[common], help="approve (pin) a server's tools as it presents them now"
    )
    m.add_argument("server")
    m.add_argument("tool", nargs="?", help="one tool (default: every tool on the server's allow list)")
    m.set_defaults(handler=cmd_mcp_approve)


def _rows(cfg: TwinConfig) -> tuple[list[dict[str, Any]], list[str]]:
    pins = McpPins(pins_path(cfg.data_path))
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for name, conf in cfg.tools.mcp.items():
        try:
            presented = McpServer(name, conf).presented()
        except McpError as exc:
            problems.append(f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message)
            presented = []
        seen = set()
        for c in pins.check(name, presented):
            seen.add(c.tool)
            pin = c.pin or {}
            rows.append(
                {
                    "server": name,
                    "tool": c.tool,
                    "status": c.status,
                    "changes": list(c.changes),
                    "pinned_hash": pin.get("hash", ""),
                    "presented_hash": c.presented.hash,
                    "approved": pin.get("approved", ""),
                    "pinned_description": sanitize_description(pin.get("description", ""), 400),
                    "presented_description": sanitize_description(c.presented.description, 400),
                    "schema_pinned": pin.get("input_schema"),
                    "schema_presented": c.presented.schema,
                }
            )
        for tool, pin in (pins.pinned(name) or {}).items():
            if tool not in seen:  # pinned, but the server did not present it (or did not answer)
                rows.append(
                    {
                        "server": name,
                        "tool": tool,
                        "status": "absent",
                        "changes": [],
                        "pinned_hash": pin.get("hash", ""),
                        "presented_hash": "",
                        "approved": pin.get("approved", ""),
                        "pinned_description": sanitize_description(pin.get("description", ""), 400),
                        "presented_description": "",
                        "schema_pinned": pin.get("input_schema"),
                        "schema_presented": None,
                    }
                )
    return rows, problems


def cmd_mcp_list(cfg: TwinConfig, args: argparse.Namespace) -> int:
    rows, problems = _rows(cfg)
    for problem in problems:
        print(f"warning [mcp]: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not cfg.tools.mcp:
        print("no MCP servers configured ([tools.mcp.NAME] in the config)")
        return 0
    labels = {
        "pinned": "approved",
        "new": "new (approved on first use)",
        "changed": "CHANGED: not offered",
        "absent": "approved, not presented now",
    }
    print(f"{'server/tool':<28} {'pin':<12} status")
    for r in rows:
        pin = (r["pinned_hash"] or r["presented_hash"])[:12]
        print(f"{r['server'] + '/' + r['tool']:<28} {pin:<12} {labels[r['status']]}")
        if r["status"] == "changed":
            print(f"    changed: {', '.join(r['changes'])}; now {r['presented_hash'][:12]}")
            if "description" in r["changes"]:
                print(f"    was: {r['pinned_description']}")
                print(f"    now: {r['presented_description']}")
            if "input schema" in r["changes"]:
                print(f"    schema was: {json.dumps(r['schema_pinned'], sort_keys=True)[:300]}")
                print(f"    schema now: {json.dumps(r['schema_presented'], sort_keys=True)[:300]}")
            print(f"    approve it: twin mcp approve {r['server']} {r['tool']}")
    return 0


def cmd_mcp_approve(cfg: TwinConfig, args: argparse.Namespace) -> int:
    conf = cfg.tools.mcp.get(args.server)
    if conf is None:
        raise McpError(
            f"no MCP server named '{args.server}' is configured",
            "configured: " + (", ".join(cfg.tools.mcp) or "none") + " ([tools.mcp.NAME] in the config)",
        )
    if args.tool and args.tool not in conf.allow:
        raise McpError(
            f"'{args.tool}' is not on the allow list of MCP server '{args.server}'",
            f"add it to tools.mcp.{args.server}.allow first",
        )
    presented = McpServer(args.server, conf).presented()
    chosen = [p for p in presented if not args.tool or p.name == args.tool]
    if not chosen:
        raise McpError(
            f"MCP server '{args.server}' does not present "
            + (f"a tool '{args.tool}'" if args.tool else "any tool on its allow list"),
            "check the server's tool names with `twin mcp list`",
        )
    McpPins(pins_path(cfg.data_path)).approve(args.server, chosen)
    for p in chosen:
        print(f"approved {args.server}/{p.name} ({p.hash[:12]}): {sanitize_description(p.description, 400)}")
    return 0
