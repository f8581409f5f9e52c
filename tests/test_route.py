"""The router's decision and its reasons, the routing config, pseudonyms, and `twin route explain`:
no model and no server needed (a remote URL here is a closed port on 127.0.0.1, really refused)."""

from __future__ import annotations

import json
import socket

import pytest

from devices.profiles import PROFILES
from pipeline.config import ConfigError, RemoteConfig, RoutingConfig, load_config
from pipeline.llm.pseudonyms import Pseudonyms, names_in
from pipeline.llm.remote import RemoteLlm
from pipeline.llm.router import Router, TurnFacts, assess
from pipeline.runtime.escalation import repeats

COMPLEX = (
    "Write me a detailed report on the history of trains, step by step, and then compare them with planes."
)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: a connect is refused


def _router(policy: str = "allow", **categories: str) -> Router:
    remote = RemoteConfig(enabled=True, url=f"http://127.0.0.1:{_closed_port()}/v1", model="m")
    routing = RoutingConfig(policy=policy, categories=categories)
    return Router(remote, routing, PROFILES["speaker"], RemoteLlm(remote))


def _says(decision, signal: str) -> list[str]:
    return [r.says for r in decision.reasons if r.signal == signal]


def test_complexity_signals():
    simple = assess("What time is it?", 110)
    assert simple.score == 0 and simple.expected_tokens <= 110
    hard = assess(COMPLEX, 110)
    assert hard.score >= 4 and hard.expected_tokens > 110
    signals = {r.signal for r in hard.reasons if r.says == "remote"}
    assert {"multi_step", "output", "reply_length"} <= signals


def test_default_policy_keeps_everything_local():
    remote = RemoteConfig(enabled=True, url=f"http://127.0.0.1:{_closed_port()}/v1", model="m")
    router = Router(remote, RoutingConfig(), PROFILES["speaker"], RemoteLlm(remote))
    d = router.decide(TurnFacts(COMPLEX))
    assert d.target == "local"
    assert "local" in _says(d, "policy") and d.probe is None  # decided before any network probe


def test_simple_request_stays_local_even_when_allowed():
    d = _router().decide(TurnFacts("What time is it?"))
    assert d.target == "local" and _says(d, "complexity") == ["local"] and d.probe is None


def test_unreachable_server_means_local_with_the_reason():
    d = _router().decide(TurnFacts(COMPLEX))
    assert d.target == "local" and _says(d, "network") == ["local"]
    assert d.probe is not None and not d.probe.ok and "remote_unavailable" in d.probe.detail


def test_private_memories_are_withheld_and_policy_per_category():
    facts = TurnFacts(COMPLEX, [("Max owes me 500 euros", True), ("Max lives in Lisbon", False)])
    d = _router(memories="never").decide(facts)
    assert any("private" in w for w in d.withheld) and any("policy for memories" in w for w in d.withheld)
    assert "memories" not in d.leaving
    d = _router(tool_results="never").decide(TurnFacts(COMPLEX, tool_context="weather: 12 C"))
    assert d.target == "local" and "local" in _says(d, "policy")
    d = _router(policy="never", conversation="allow").decide(TurnFacts(COMPLEX))
    assert "local" not in _says(d, "policy")  # conversation allowed: the policy lets it go


def test_composed_replies_need_no_model():
    d = _router().decide(TurnFacts(COMPLEX, composed=True))
    assert d.target == "local" and _says(d, "tools") == ["local"]


def test_routing_config_is_checked(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[routing]\npolicy = "allow"\n[routing.categories]\nmemorys = "ask"\n'
    )
    with pytest.raises(ConfigError, match="memories"):
        load_config(data_dir=tmp_path)
    (tmp_path / "config.toml").write_text("[remote]\nenabled = true\n")
    with pytest.raises(ConfigError, match="url"):
        load_config(data_dir=tmp_path)
    (tmp_path / "config.toml").write_text('[routing]\npolicy = "sometimes"\n')
    with pytest.raises(ConfigError, match="routing.policy"):
        load_config(data_dir=tmp_path)


def test_pseudonyms_hide_and_restore_across_stream_pieces():
    names = names_in("Max is my brother and lives in Lisbon.") + names_in("My sister Anna called.")
    assert ("Max", "PERSON") in names and ("Lisbon", "PLACE") in names and ("Anna", "PERSON") in names
    p = Pseudonyms(names)
    hidden = p.hide("A note for Max in Lisbon, and Anna's too.")
    assert "Max" not in hidden and "Lisbon" not in hidden and "Anna" not in hidden
    assert "PERSON_1" in hidden and "PLACE_1" in hidden and "PERSON_2's" in hidden
    r = p.restorer()
    pieces = ["Dear PER", "SON", "_1, hello from PLA", "CE_1. STOP", " and PERSON_9", "."]
    out = "".join(r.feed(x) for x in pieces) + r.flush()
    assert out == "Dear Max, hello from Lisbon. STOP and someone."


def test_a_dialogue_line_repeating_a_private_memory_is_recognised():
    assert repeats("You told me Max owes you 500 euros.", "Max owes me 500 euros")
    assert not repeats("Max likes trains.", "Max owes me 500 euros")


def test_route_explain_cli(tmp_path, capsys):
    from pipeline.cli.main import main

    port = _closed_port()
    (tmp_path / "config.toml").write_text(
        f'[remote]\nenabled = true\nurl = "http://127.0.0.1:{port}/v1"\nmodel = "m"\n'
        '[routing]\npolicy = "allow"\n'
    )
    assert main(["--data-dir", str(tmp_path), "route", "explain", COMPLEX, "--json", "--no-memory"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"] == "local" and data["complexity"] >= 4
    assert {"signal": "network", "says": "local"}.items() <= next(
        r for r in data["reasons"] if r["signal"] == "network"
    ).items()
    assert main(["--data-dir", str(tmp_path), "route", "explain", "What time is it?", "--no-memory"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("route: LOCAL") and "complexity" in text


@pytest.fixture()
def models_server():
    """A real HTTP server on 127.0.0.1 answering GET /v1/models for model "m" (what the probe asks)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Models(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            body = json.dumps(
                {"object": "list", "data": [{"id": "m", "object": "model", "created": 0, "owned_by": "t"}]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_question_about_the_world_goes_to_the_bigger_model_when_allowed(models_server):
    from pipeline.llm.router import knowledge_question

    for world in ("how many legs does an octopus have", "who painted the Mona Lisa", "why is the sky blue"):
        assert knowledge_question(world), world
    for own in ("what's my name", "what time is it", "what do you think of jazz", "tell me a joke"):
        assert not knowledge_question(own), own
    remote = RemoteConfig(enabled=True, url=models_server, model="m")
    router = Router(remote, RoutingConfig(policy="allow"), PROFILES["speaker"], RemoteLlm(remote))
    d = router.decide(TurnFacts("how many legs does an octopus have"))
    assert d.target == "remote" and _says(d, "knowledge") == ["remote"], d.explain()
    # answered from a tool's result: what a model knows does not count, the local model says it
    d = router.decide(TurnFacts("how many legs does an octopus have", tool_context="calculate: 8"))
    assert d.target == "local" and _says(d, "knowledge") == []
    # the user's policy still decides: "never" keeps it on the device
    never = Router(remote, RoutingConfig(), PROFILES["speaker"], RemoteLlm(remote))
    assert never.decide(TurnFacts("who painted the Mona Lisa")).target == "local"


def test_a_request_that_says_a_tools_own_name():
    """The planner must call a third-party tool whose own name the request says (it wrote the
    report itself in prose when offered a reply beside it); it decides nothing from other words."""
    from pipeline.acting.routing import names_it
    from pipeline.tools.base import Tier, Tool

    def tool(name: str) -> Tool:
        return Tool(name, "", Tier.READ, {}, lambda a: None)

    assert names_it("Write me a report on sleep.", tool("facts__write_report"))
    assert names_it("could you write up two reports", tool("facts__write_report"))
    assert names_it("what's the weather in Paris", tool("facts__get_weather"))
    assert not names_it("I need a report on sleep", tool("facts__write_report"))  # no "write"
    assert not names_it("what is NVDA trading at", tool("facts__get_stock_price"))
