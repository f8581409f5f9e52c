"""`twin serve` as a user runs it: a separate process on 127.0.0.1 with JSON-line logs and a health
endpoint; `twin devices add` while it runs makes it connect to a real wyoming-satellite; killed with
-9 and started again, it reconnects its devices; SIGTERM in the middle of a turn lets the turn
finish (the answer reaches the satellite, the trace is on disk) and the process exits 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request

from conftest import ROOT, fixture_path, require
from hub_process import HubProcess, twin_command

from bench.satellites import Satellite, free_port, satellite_available


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return json.loads(r.read())
    except OSError:
        return None


def test_serve_process_health_devices_and_sigterm(tmp_path):
    require(satellite_available(), "wyoming-satellite venv .venv-satellite missing: run scripts/setup.sh")
    wav = fixture_path("speech_to_phrase_en/wav/what's the temperature.wav")
    data = tmp_path / "data"
    twin = twin_command(data)
    port, services = free_port(), free_port()
    hub = HubProcess(twin, port, services, dict(os.environ, HF_HUB_OFFLINE="1")).start()
    sat = Satellite("kitchen", [wav], tmp_path / "sat", gap=30).start()
    events, wait = hub.events, hub.wait

    try:
        wait(lambda: _health(port) is not None, 120, "the health endpoint")
        assert _health(port)["status"] == "ok"
        subprocess.run(
            [*twin, "devices", "add", "kitchen", sat.uri, "--profile", "glasses"], check=True, cwd=ROOT
        )
        wait(lambda: events("satellite_connected"), 30, "the hub to connect to the added satellite")
        h = _health(port)
        assert h["devices"][0]["name"] == "kitchen" and h["devices"][0]["session"] == "listening", h
        # killed with -9: a new hub finds its devices in DATA_DIR/devices.json and reconnects
        hub.kill()
        hub.start()
        wait(lambda: events("satellite_connected"), 120, "the restarted hub to reconnect the satellite")
        sat.begin()
        wait(lambda: events("transcript"), 60, "the question's transcript")
        hub.running.send_signal(signal.SIGTERM)  # mid-turn: the answer is being made
        assert hub.running.wait(60) == 0, hub.tail()
    finally:
        hub.stop()
        sat.stop()
    time.sleep(0.2)
    names = [r["event"] for r in hub.records()]
    assert names.index("turn") < names.index("hub_stopped"), names
    turn = events("turn")[0]
    assert turn["status"] == "completed" and turn["profile"] == "glasses" and turn["reply"], turn
    assert {"temperature"} <= set(turn["transcript"].lower().replace("?", "").split()), turn
    assert sat.output.exists() and sat.output.stat().st_size > 22050, "the answer did not reach the satellite"
    traces = [json.loads(x) for x in (data / "traces.jsonl").read_text().splitlines()]
    assert any(t.get("heard_from_user") == turn["transcript"] for t in traces), traces
    on_disk = (data / "logs" / "hub.jsonl").read_text().splitlines()
    assert json.loads(on_disk[-1])["event"] == "hub_stopped"
