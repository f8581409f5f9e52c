"""`twin serve` (the hub), `twin devices add|list|remove` and `twin bench satellites`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

from pipeline.config import TwinConfig

DEFAULT_HTTP_PORT = 10800
DEFAULT_SERVICES_URI = "tcp://127.0.0.1:10300"


def register(sub, common, bench_sub) -> None:
    p = sub.add_parser(
        "serve",
        parents=[common],
        help="the hub: serve the added devices (Wyoming satellites) and Twin's Wyoming services",
        description="Load the models once and serve every added device at once, each with its own "
        "profile, conversation and playback; memory is shared per speaker. Binds 127.0.0.1 unless "
        "--host says otherwise. SIGTERM (or Ctrl+C) stops it gracefully: turns under way finish, "
        "memory writes are flushed.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address for the health endpoint and services")
    p.add_argument("--port", type=int, default=DEFAULT_HTTP_PORT, help="health endpoint port (GET /health)")
    p.add_argument(
        "--services",
        default=None,
        help=f"Wyoming services URI (asr, tts, handle) for Home Assistant (default: {DEFAULT_SERVICES_URI}, "
        "on --host)",
    )
    p.add_argument("--no-services", action="store_true", help="do not offer the Wyoming services")
    p.add_argument(
        "--insecure",
        action="store_true",
        help="off 127.0.0.1, serve plain HTTP instead of HTTPS with the hub's self-signed certificate",
    )
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("devices", parents=[common], help="the household's devices the hub serves")
    dsub = p.add_subparsers(dest="devices_action", required=True)
    d = dsub.add_parser(
        "add",
        parents=[common],
        help="add a Wyoming satellite: twin devices add kitchen tcp://HOST:10700 --profile speaker",
    )
    d.add_argument("name", help="a short name: kitchen, car, glasses-anna")
    d.add_argument("uri", help="the satellite's address, tcp://HOST:PORT (wyoming-satellite's --uri)")
    d.set_defaults(handler=cmd_devices_add)
    d = dsub.add_parser(
        "pair",
        parents=[common],
        help="pair a browser: prints a one-time code (10 minutes, 5 tries) to enter on the hub's page",
    )
    d.add_argument("name", help="a short name: phone-anna")
    d.add_argument(
        "--speaker",
        default="",
        help="whose device it is (an enrolled voice's name): its page shows that person's memories",
    )
    d.add_argument(
        "--port", type=int, default=DEFAULT_HTTP_PORT, help="the hub's port, for the address shown"
    )
    d.set_defaults(handler=cmd_devices_pair)
    d = dsub.add_parser("list", parents=[common], help="the added devices")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=cmd_devices_list)
    d = dsub.add_parser("remove", parents=[common], help="stop serving a device and forget it")
    d.add_argument("name")
    d.set_defaults(handler=cmd_devices_remove)

    p = sub.add_parser(
        "announce",
        parents=[common],
        help="say a message on the household's devices: twin announce 'Dinner is ready' --to kitchen",
        description="Stored first, then said by the running hub (`twin serve`) on each named device once "
        "it is connected and idle, within a second; a device not connected within 10 minutes never "
        "hears it (stale news is not announced).",
    )
    p.add_argument("message", help="the words to say (at most 300 characters)")
    p.add_argument("--to", default="everyone", help="a device's name, or everyone (the default)")
    p.set_defaults(handler=cmd_announce)

    b = bench_sub.add_parser(
        "satellites",
        parents=[common],
        help="N devices (real wyoming-satellite processes, or WebSocket clients) talking to one hub at once: "
        "voice-to-voice, drops, fairness, RSS",
    )
    b.add_argument("--devices", default="1,2,4", help="device counts to run, e.g. 1,2,4")
    b.add_argument("--turns", type=int, default=3, help="turns per device at each count")
    b.add_argument("--json", type=Path, dest="json_file")
    b.add_argument(
        "--via",
        choices=["wyoming", "websocket", "mixed"],
        default="wyoming",
        help="the devices' protocol: real wyoming-satellite processes, browser-like WebSocket clients "
        "(the page's protocol), or both alternating",
    )
    b.set_defaults(handler=cmd_bench_satellites)


def cmd_serve(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from pipeline.serve.http import serve_http
    from pipeline.serve.hub import Hub
    from pipeline.serve.tls import check_plain, transport_for
    from pipeline.serve.wyoming_io import serve_services

    tls = transport_for(args.host, cfg.data_path, args.insecure)  # before the models load
    if tls is None:
        check_plain(args.host, args.insecure)
    else:
        from pipeline.serve.tls import addresses_for

        for host in addresses_for(args.host):
            print(f"serving https://{host}:{args.port}/")
        print(f"with the certificate {tls.cert}; its SHA-256 fingerprint (compare it on the phone):")
        print(f"  {tls.fingerprint}")
    hub = Hub(cfg)
    services = None if args.no_services else (args.services or f"tcp://{args.host}:10300")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            hub.log.event("listening_beyond_this_machine", "warning", host=args.host)
        await loop.run_in_executor(None, hub.load)
        extra = [lambda: serve_http(hub, args.host, args.port, tls=tls, insecure=args.insecure)]
        if services:
            extra.append(lambda: serve_services(hub, services))
        await hub.run(stop, extra)

    asyncio.run(main())
    return 0


def cmd_devices_add(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from pipeline.serve.registry import DeviceRegistry

    device = DeviceRegistry(cfg.data_path).add(
        args.name, args.uri, getattr(args, "profile", None) or "speaker"
    )
    print(f"added {device.name}: {device.uri} ({device.profile}); a running hub connects within a second")
    return 0


def cmd_devices_pair(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from pipeline.serve.registry import DeviceRegistry

    profile = getattr(args, "profile", None) or "companion"
    if args.speaker and cfg.identity.speakers:
        from pipeline.serve.data_api import enrolled_names

        enrolled = enrolled_names(cfg.data_path)
        if enrolled and args.speaker.strip().lower() not in enrolled:
            print(
                f"note: no voice named {args.speaker!r} is enrolled; until one is, this device's page "
                "shows what a guest may see (the household's memories)"
            )
    code = DeviceRegistry(cfg.data_path).start_pairing(args.name, profile, args.speaker)
    whose = f", {args.speaker}'s" if args.speaker else ""
    print(f"pairing code for {args.name} ({profile}{whose}): {code}  (valid 10 minutes)")
    print(
        f"open http://127.0.0.1:{args.port}/ in the browser and enter it, or /?name={args.name}&code={code}"
    )
    return 0


def cmd_devices_list(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from pipeline.serve.registry import DeviceRegistry

    devices = DeviceRegistry(cfg.data_path).list()
    if args.json:
        print(json.dumps([asdict(d) for d in devices], indent=1))
        return 0
    if not devices:
        print("no devices; add one: twin devices add kitchen tcp://HOST:10700 --profile speaker")
        return 0
    print(f"{'name':16} {'profile':10} {'kind':18} {'added':26} uri")
    for d in devices:
        print(f"{d.name:16} {d.profile:10} {d.kind:18} {d.added:26} {d.uri}")
    return 0


def cmd_devices_remove(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from pipeline.serve.registry import DeviceRegistry

    device = DeviceRegistry(cfg.data_path).remove(args.name)
    print(f"removed {device.name} ({device.uri}); a running hub disconnects it within a second")
    return 0


def cmd_announce(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from datetime import datetime

    from pipeline.tools.families.intercom import Intercom
    from pipeline.tools.family import Context

    intercom = Intercom(Context(cfg.data_path, lambda: datetime.now().astimezone()))
    items = intercom.queue(args.message, args.to)
    print(f"announcing on {', '.join(i['device'] for i in items)}: the hub says it once each is connected")
    return 0


def cmd_bench_satellites(cfg: TwinConfig, args: argparse.Namespace) -> int:
    from bench.satellites import run_satellites_bench

    counts = [int(x) for x in str(args.devices).split(",") if x.strip()]
    return run_satellites_bench(cfg, counts, args.turns, args.json_file, args.via)
