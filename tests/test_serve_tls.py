"""The hub off this machine: HTTPS/WSS with a self-signed certificate made on first run in the data
directory (key 0600, kept across restarts), checked with Python's ssl client pinned to that one
certificate; plain HTTP off 127.0.0.1 refused unless asked for with `insecure`."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import socket
import ssl
import stat
import urllib.error
import urllib.request

import pytest

from bench.satellites import free_port


def _non_loopback_ipv4() -> str | None:
    import psutil

    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return a.address
    return None


def test_certificate_is_made_once_private_and_names_the_host(tmp_path):
    from pipeline.serve.tls import ensure_certificate, transport_for

    files, made = ensure_certificate(tmp_path, "0.0.0.0")
    assert made and stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.cert.parent.stat().st_mode) == 0o700
    der = ssl.PEM_cert_to_DER_cert(files.cert.read_text())
    assert files.fingerprint == ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    again, made_again = ensure_certificate(tmp_path, "0.0.0.0")
    assert not made_again and again.fingerprint == files.fingerprint  # a phone that trusted it still does
    files.cert.write_text("not a certificate")  # damaged: a new one, never a crash
    fresh, remade = ensure_certificate(tmp_path, "0.0.0.0")
    assert remade and fresh.fingerprint != files.fingerprint
    assert transport_for("127.0.0.1", tmp_path) is None and transport_for("localhost", tmp_path) is None
    assert transport_for("0.0.0.0", tmp_path, insecure=True) is None
    assert transport_for("0.0.0.0", tmp_path).fingerprint == fresh.fingerprint


def test_hub_off_localhost_serves_tls_and_refuses_plain_http(hub_cfg, components):
    import websockets

    from pipeline.serve.http import serve_http
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.tls import InsecureBindError, transport_for

    log = HubLog(None, stream=None)
    hub = Hub(hub_cfg, components, log=log, poll_s=0.2)
    tls = transport_for("0.0.0.0", hub_cfg.data_path)
    assert tls is not None
    pinned = ssl.create_default_context(cafile=str(tls.cert))  # trusts this certificate and no other
    port, plain_port, insecure_port = free_port(), free_port(), free_port()
    address = _non_loopback_ipv4()
    out: dict = {}

    def get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, dict]:
        with urllib.request.urlopen(url, timeout=10, context=context) as r:
            return r.status, json.loads(r.read())

    def peer_sha256(host: str) -> str:
        with (
            socket.create_connection((host, port), timeout=10) as raw,
            pinned.wrap_socket(raw, server_hostname=host) as s,
        ):
            der = s.getpeercert(binary_form=True)
        return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        # plain HTTP on the network without `insecure`: refused before anything listens
        with pytest.raises(InsecureBindError) as refused:
            await serve_http(hub, "0.0.0.0", plain_port)
        out["refused"] = refused.value
        try:
            socket.create_connection(("127.0.0.1", plain_port), timeout=2).close()
            out["plain_listening"] = True
        except OSError:
            out["plain_listening"] = False
        stop, ready, ready2 = asyncio.Event(), asyncio.Event(), asyncio.Event()
        servers = [
            lambda: serve_http(hub, "0.0.0.0", port, ready, tls=tls),
            lambda: serve_http(hub, "0.0.0.0", insecure_port, ready2, insecure=True),
        ]
        runner = asyncio.create_task(hub.run(stop, servers))
        await ready.wait()
        await ready2.wait()
        try:
            out["https"] = await loop.run_in_executor(None, get, f"https://127.0.0.1:{port}/health", pinned)
            out["peer"] = await loop.run_in_executor(None, peer_sha256, "127.0.0.1")
            if address is not None:
                out["peer_lan"] = await loop.run_in_executor(None, peer_sha256, address)
            # WSS: the browser link, with a token no device has
            async with websockets.connect(f"wss://127.0.0.1:{port}/ws", ssl=pinned) as ws:
                await ws.send(json.dumps({"type": "hello", "token": "not-a-token", "rate": 16000}))
                out["wss"] = json.loads(await ws.recv())
            # plain HTTP to the TLS port gets no answer
            try:
                await loop.run_in_executor(None, get, f"http://127.0.0.1:{port}/health")
                out["plain_on_tls"] = "answered"
            except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
                out["plain_on_tls"] = type(exc).__name__
            # a client that does not trust this certificate refuses the connection
            try:
                await loop.run_in_executor(
                    None, get, f"https://127.0.0.1:{port}/health", ssl.create_default_context()
                )
                out["untrusted"] = "accepted"
            except urllib.error.URLError as exc:
                out["untrusted"] = type(exc.reason).__name__
            out["insecure"] = await loop.run_in_executor(
                None, get, f"http://127.0.0.1:{insecure_port}/health"
            )
        finally:
            stop.set()
            await runner

    asyncio.run(scenario())

    assert out["refused"].code == "hub_insecure_bind" and "--insecure" in out["refused"].hint
    assert not out["plain_listening"]
    status, health = out["https"]
    assert status == 200 and health["status"] == "ok", health
    assert out["peer"] == tls.fingerprint
    if address is not None:  # the certificate names the machine's own address too
        assert out["peer_lan"] == tls.fingerprint
    assert out["wss"]["code"] == "device_unpaired", out["wss"]
    assert out["plain_on_tls"] != "answered"
    assert out["untrusted"] == "SSLCertVerificationError", out["untrusted"]
    assert out["insecure"][0] == 200
    listening = [r for r in log.lines if r["event"] == "http_listening"]
    assert any(r["url"].startswith("https://") and r["sha256"] == tls.fingerprint for r in listening)


def test_browser_on_the_network_pairs_and_talks_over_tls(hub_cfg, components, tmp_path):
    """Chromium opens the hub by the machine's own address over HTTPS, trusting only the hub's
    certificate (pinned by its public key): a secure context (browsers give the microphone to no
    other page off localhost), pairing, the data API and the WSS link work."""
    import base64

    from conftest import require
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from test_serve_browser_data import CHROMIUM, Chromium

    from pipeline.serve.http import serve_http
    from pipeline.serve.hub import Hub
    from pipeline.serve.logs import HubLog
    from pipeline.serve.tls import transport_for

    require(CHROMIUM is not None, "chromium is not installed (scripts/setup.sh installs it)")
    address = _non_loopback_ipv4()
    require(address is not None, "this machine has no address but loopback")
    hub = Hub(hub_cfg, components, log=HubLog(None, stream=None), poll_s=0.2)
    tls = transport_for("0.0.0.0", hub_cfg.data_path)
    cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    port = free_port()
    out: dict = {}

    async def scenario() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        runner = asyncio.create_task(
            hub.run(stop, [lambda: serve_http(hub, "0.0.0.0", port, ready, tls=tls)])
        )
        await ready.wait()
        code = hub.registry.start_pairing("phone", "companion")
        page = Chromium(
            f"https://{address}:{port}/?name=phone&code={code}&autostart=1&ptt=1",
            tmp_path / "chromium",
            [f"--ignore-certificate-errors-spki-list={pin}"],
        )
        try:
            await page.connect()
            await page.until("window.twinState && window.twinState.ready", 60, "the WSS link's ready")
            out["secure"] = await page.js("window.isSecureContext && location.protocol")
            await page.js("document.getElementById('show').click()")
            out["settings"] = await page.until(
                "document.getElementById('settings').textContent", 30, "the data over HTTPS"
            )
        finally:
            await page.close()
            stop.set()
            await runner

    asyncio.run(scenario())
    assert out["secure"] == "https:"
    assert json.loads(out["settings"])["device"]["name"] == "phone"
