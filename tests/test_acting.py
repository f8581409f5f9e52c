"""Acting in a live session on the real models: a sensitive request is confirmed (or not) by a
spoken answer heard through the same microphone stream, timers ring while Twin runs (and ones that
came due while it was off ring on start), and memory tools keep to the speaker's own scope."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from devices.sinks import BufferSink
from devices.sources import ClipSource
from pipeline.acting.permissions import Speaker, answer_with
from pipeline.events import Notice
from tests.test_turns import _conversation, _trimmed
from voice.audio import SAMPLE_RATE, AudioClip

pytestmark = pytest.mark.models


def _twin(cfg, components, tmp_path, **tools):
    from pipeline.runtime.session import Twin

    cfg = cfg.model_copy(
        update={
            "data_dir": tmp_path,
            "tools": cfg.tools.model_copy(update={"confirm_timeout_s": 6.0, **tools}),
        }
    )
    return Twin(cfg, components)


def _notices(result, code: str) -> list[str]:
    return [e.message for e in result.events if isinstance(e, Notice) and e.code == code]


def _outbox(tmp_path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((tmp_path / "outbox").glob("*.json"))]


def test_spoken_yes_sends_the_message(cfg, components, synth, espeak, tmp_path):
    twin = _twin(cfg, components, tmp_path)

    # the user's yes in a voice that is not Twin's own (a yes in Twin's voice is never taken)
    def voice(text):
        return espeak(text) if text == "Yes." else synth(text)

    clip = _conversation(voice, ["Send a message to Tom saying I am running late.", "Yes."], [2.5, 1.5])
    results = asyncio.run(twin.live(ClipSource(clip), BufferSink()))
    assert len(results) == 1, [r.transcript for r in results]  # the answer was not a turn of its own
    r = results[0]
    asked = _notices(r, "asking")
    print("\nheard:", r.transcript, "asked:", asked, "answer:", _notices(r, "answer"), "reply:", r.reply)
    assert asked and asked[0].startswith("Send '") and "Tom" in asked[0]
    assert "yes" in _notices(r, "answer")[0].lower()
    sent = _outbox(tmp_path)
    assert len(sent) == 1 and sent[0]["to"] == "Tom" and "running late" in sent[0]["text"].lower()
    assert r.reply == "Message to Tom queued in the outbox."
    audit = twin.tools.session.audit.entries()
    assert [(e["tool"], e["decision"], e["status"]) for e in audit] == [("send_message", "confirmed", "ok")]


def test_spoken_no_or_silence_leaves_it_undone(cfg, components, synth, tmp_path):
    twin = _twin(cfg, components, tmp_path, confirm_timeout_s=3.0)
    clip = _conversation(synth, ["Send a message to Tom saying I am running late.", "No, don't."], [2.5, 1.5])
    r = asyncio.run(twin.live(ClipSource(clip), BufferSink()))[0]
    assert _outbox(tmp_path) == [] and r.reply.startswith("I did not send message")
    # nobody answers: after the timeout, not done
    clip = _conversation(synth, ["Send a message to Tom saying I am running late."], [1.0])
    r = asyncio.run(twin.live(ClipSource(clip, realtime=True), BufferSink()))[0]
    assert _outbox(tmp_path) == [] and "no answer" in r.reply
    assert [e["decision"] for e in twin.tools.session.audit.entries()] == ["denied", "denied"]


def test_timers_ring_in_the_live_loop_even_after_a_restart(cfg, components, tmp_path):
    from pipeline.tools.local import LocalTools

    # set while Twin was not running, already due: rings as soon as the loop starts
    past = datetime.now().astimezone() - timedelta(minutes=5)
    LocalTools(tmp_path, now=lambda: past).set_timer({"minutes": 1, "label": "tea"})
    twin = _twin(cfg, components, tmp_path)
    twin.tools.local.set_timer({"seconds": 1.5})  # and one that comes due while it runs
    alerts = []
    silence = AudioClip(np.zeros(int(3.5 * SAMPLE_RATE), np.float32), SAMPLE_RATE)
    results = asyncio.run(
        twin.live(ClipSource(silence, realtime=True, trailing_silence=0.5), BufferSink(), alerts.append)
    )
    assert results == []  # rings are not user turns
    assert [a.reply for a in alerts] == ["Your tea timer is done.", "Your timer is done."]
    assert all(a.mode == "alert" and a.status == "completed" and len(a.audio) for a in alerts)
    assert twin.tools.local.timers.read()["timers"] == []
    assert twin.dialogue == []  # nothing said by the user, nothing in the conversation


def test_memory_tools_keep_to_the_speakers_scope(cfg, components, tmp_path):
    from memory import Memory
    from pipeline.acting.session import ToolSession
    from pipeline.tools.base import ToolCall

    memory = Memory.open(tmp_path / "memory")
    # the sentence encoder loaded before the tools' 5 s budget runs, as warm-up does in `twin live`:
    # what is asserted is whose memories a tool reaches, not how long the process's first load took
    # (in one CI run, early in the suite and beside other work, it took the first call past 5 s)
    memory.warm()
    cfg = cfg.model_copy(update={"data_dir": tmp_path})
    session = ToolSession(cfg, None, answer_with("yes"), memory=memory)
    owner, guest = Speaker("owner", "owner"), Speaker("unknown", "guest")

    def run(tool: str, who: Speaker, words: str, **args):
        return asyncio.run(session.runner.run(ToolCall(tool, args), session.turn(words, who)))

    # (not a code: codes are secrets, redacted before they are stored)
    said = "remember that my gym locker is number 314"
    out = run("remember", owner, said, text="my gym locker is number 314")
    assert out.done and out.decision == "auto"
    found = run("recall_memories", owner, "which is my gym locker", query="gym locker")
    assert found.done and "314" in found.summary
    leaked = run("recall_memories", guest, "which is the gym locker", query="gym locker")
    assert "314" not in leaked.summary  # a guest never reads the owner's memories
    # forgetting deletes data: sensitive, so a guest may not, and the owner is asked
    assert run("forget_memories", guest, "forget my gym locker", topic="gym locker").status == "blocked"
    gone = run("forget_memories", owner, "forget my gym locker", topic="gym locker")
    assert gone.decision == "confirmed" and gone.done
    assert "314" not in run("recall_memories", owner, "which is my gym locker", query="gym locker").summary
    memory.close()


# -- a household: voices enrolled by voice, and who is listening -------------------------------------


def _household(cfg, components, tmp_path, **update):
    """A Twin over its own data directory (its own enrolled voices), sharing the session's loaded
    models, so enrolling here never changes what other tests see."""
    from pipeline.runtime.components import Components
    from pipeline.runtime.session import Twin
    from voice.speakers import SpeakerRegistry

    cfg = cfg.model_copy(update={"data_dir": tmp_path, **update})
    comps = Components(cfg)
    for name in ("vad", "asr", "tts", "llm", "planner_model"):
        comps.__dict__[name] = getattr(components, name)
    shared = components.speakers
    comps.__dict__["speakers"] = SpeakerRegistry(tmp_path / "speakers", shared.embedder, shared.synthetic)
    return Twin(cfg, comps), comps


def _human(speaker: int, n: int) -> np.ndarray:
    from conftest import fixture_path

    from voice.audio import load_audio

    return load_audio(fixture_path(f"speechbrain_samples/ASR/spk{speaker}_snt{n}.wav")).samples


def _stream(*parts: np.ndarray, gap: float = 1.5) -> AudioClip:
    pause = np.zeros(int(gap * SAMPLE_RATE), np.float32)
    return AudioClip(np.concatenate([pause] + [x for p in parts for x in (p.astype(np.float32), pause)]))


def test_enrolment_by_voice_in_the_live_loop(cfg, components, synth, tmp_path):
    twin, comps = _household(cfg, components, tmp_path)
    request = _trimmed(synth("This is my voice, I'm Anna."))
    clip = _stream(request, _human(1, 1), _human(1, 2), _human(1, 3))  # ~9 s of speech: enough
    results = asyncio.run(twin.live(ClipSource(clip), BufferSink()))
    assert len(results) == 1, [(r.transcript, r.reply, _notices(r, "asking")) for r in results]
    r = results[0]
    asked = _notices(r, "asking")
    print("\nasked:", asked, "\nreply:", r.reply)
    assert asked[0].startswith("Okay, Anna.") and len(asked) == 3
    assert r.reply == "Thanks, Anna. I'll know your voice now."
    reg = comps.speakers
    assert reg.names() == ["Anna"] and reg.role_of("Anna") == "owner"  # the first voice owns the device
    assert reg.identify(AudioClip(_human(1, 5))).name == "Anna"
    assert reg.identify(AudioClip(_human(2, 1))).name == "unknown"
    # Now there is an owner: a new voice needs Anna's say-so, in Anna's voice (a synthetic "yes" is not)
    clip = _stream(_trimmed(synth("This is my voice, I'm Ben.")), _trimmed(synth("Yes, I allow it.")))
    r = asyncio.run(twin.live(ClipSource(clip), BufferSink()))[0]
    assert "Anna" in _notices(r, "asking")[0]
    assert r.reply == "Only Anna can add a new voice, so I haven't learned this one."
    assert reg.names() == ["Anna"]


def test_car_says_nothing_private_when_others_can_hear(cfg, components, tmp_path):
    twin, comps = _household(cfg, components, tmp_path, profile="car")
    twin.memory.remember("my pin code is 4417", "owner")
    clip = _stream(_human(1, 1), _human(2, 1), gap=2.0)
    results = asyncio.run(twin.live(ClipSource(clip), BufferSink()))
    assert len(results) == 2
    first, second = results
    assert _notices(first, "others_present") == []
    assert _notices(second, "others_present") and "Others can hear" in twin.history[-3]["content"]
