"""The conversation goes on across devices and a hub killed with -9: a question asked on the kitchen
satellite (a real wyoming-satellite playing a human recording) to a `twin serve` process; the process
is killed with -9 and started again; "what did I just ask you?" through another device (Home
Assistant's conversation agent, the Wyoming handle service) gets the kitchen's turn in its history and
answers about it. The model decodes greedily here (temperature 0), so the answer is the same every
run; without the kitchen's turn in its history the same model answers something else."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess

from conftest import ROOT, fixture_path, require
from hub_process import HubProcess, twin_command

from bench.satellites import Satellite, free_port, satellite_available


def _ask(port: int, text: str) -> str:
    from wyoming.asr import Transcript
    from wyoming.client import AsyncTcpClient
    from wyoming.handle import Handled

    async def ask() -> str:
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Transcript(text=text).event())
            event = await client.read_event()
            assert event is not None and Handled.is_type(event.type), event
            return Handled.from_event(event).text

    return asyncio.run(ask())


def test_where_were_we_after_kill_9_on_another_device(tmp_path):
    require(satellite_available(), "wyoming-satellite venv .venv-satellite missing: run scripts/setup.sh")
    wav = fixture_path("speech_to_phrase_en/wav/what's the weather.wav")
    data = tmp_path / "data"
    twin = twin_command(data)
    port, services = free_port(), free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TWIN_LLM__TEMPERATURE="0")  # greedy: no sampling luck
    sat = Satellite("kitchen", [wav], tmp_path / "sat", gap=30).start()
    subprocess.run(
        [*twin, "devices", "add", "kitchen", sat.uri, "--profile", "speaker"], check=True, cwd=ROOT
    )
    hub = HubProcess(twin, port, services, env).start()
    events, wait = hub.events, hub.wait
    try:
        wait(lambda: events("satellite_connected"), 120, "the hub to connect the kitchen")
        sat.begin()
        wait(lambda: events("turn"), 120, "the kitchen's turn")
        first = events("turn")[0]
        hub.kill()  # -9, right after the turn: nothing flushed on the way out
        sat.stop()
        with sqlite3.connect(data / "conversations.sqlite") as db:
            stored = db.execute("SELECT speaker, device, user, assistant FROM turns").fetchall()
        hub.start()
        wait(lambda: events("services_listening"), 120, "the restarted hub's services")
        reply = _ask(services, "What did I just ask you?")
        resumed = events("conversation_resumed")
    finally:
        hub.stop()
        sat.stop()

    assert first["status"] == "completed" and "weather" in first["transcript"].lower(), first
    # on disk, after kill -9: the speaker's turn, where it was said, both sides of it
    assert stored == [("owner", "kitchen", first["transcript"], first["reply"].strip())], stored
    # the other device's conversation was given the kitchen's turn, and the answer is about it
    assert resumed and resumed[0]["device"] == "home-assistant", resumed
    assert resumed[0]["speaker"] == "owner" and resumed[0]["devices"] == ["kitchen"], resumed
    assert "weather" in reply.lower(), reply


def test_store_is_bounded_per_speaker_keeps_guests_out_and_is_erased_with_the_traces(tmp_path):
    from pipeline.conversation.context import Conversation
    from pipeline.runtime.retention import erase_conversation_records
    from pipeline.serve.continuity import GUEST, ConversationStore

    store = ConversationStore(tmp_path, keep=2)
    kitchen, car = store.thread("kitchen"), store.thread("car")
    in_kitchen, in_car = Conversation("sys", 6), Conversation("sys", 6)
    for n in range(3):  # the owner's turns in the kitchen
        kitchen.resume(in_kitchen, "owner")
        in_kitchen.remember(f"ctx {n}", f"question {n}", f"answer {n}")
        kitchen.record(f"ctx {n}", f"question {n}", f"answer {n}")
    car.resume(in_car, GUEST)  # a guest in the car: nothing of the owner's, nothing stored
    in_car.remember("ctx", "a guest's question", "an answer")
    car.record("ctx", "a guest's question", "an answer")
    assert [m["content"] for m in in_car.history if m["role"] == "user"] == ["a guest's question"]
    car.resume(in_car, "owner")  # then the owner: their last two turns, from the kitchen, only
    assert [m["content"] for m in in_car.history if m["role"] == "user"] == ["question 1", "question 2"]
    assert [t["user"] for t in store.turns("owner")] == ["question 1", "question 2"]
    assert store.turns(GUEST) == [] and store.last_device("owner") == "kitchen"

    assert erase_conversation_records(tmp_path) >= 1  # "forget everything"
    assert store.turns("owner") == [] and store.last_device("owner") is None
