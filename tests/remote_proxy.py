"""The remote tests' request log and fault server: a small HTTP process in front of the real
llama.cpp server (`python -m llama_cpp.server`), started by tests/test_remote.py.

    python tests/remote_proxy.py --port P --upstream http://127.0.0.1:Q --log FILE

Every request is appended to FILE (one JSON line: method, path, body) and flushed BEFORE it is
forwarded, so the log holds exactly what reached the server. The first path segment picks the
server's behaviour:
  /ok/v1/...        forwarded to the upstream llama.cpp server, its stream passed through as it comes
  /http500/v1/...   HTTP 500 with a JSON error body
  /badjson/v1/...   200, an SSE stream whose data lines are not JSON
  /endless/v1/...   200, a stream of "la " pieces that never ends (ignores max_tokens)
  /hang/v1/...      accepts, then sends nothing (for the first-token timeout)
GET /<mode>/v1/models answers for every mode but /hang, like a live server, so the health probe passes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

LOCK = threading.Lock()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--model", default="twin-remote")
    args = ap.parse_args()
    up = urlparse(args.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the end of a streamed body is the end of the connection

        def log_message(self, *a: object) -> None:
            pass

        def _record(self, body: bytes) -> None:
            try:
                parsed: object = json.loads(body) if body else None
            except ValueError:
                parsed = body.decode("utf-8", "replace")
            line = json.dumps({"t": time.time(), "method": self.command, "path": self.path, "body": parsed})
            with LOCK, open(args.log, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()

        def _split(self) -> tuple[str, str]:
            parts = self.path.split("/", 2)
            return (parts[1], "/" + parts[2]) if len(parts) == 3 else ("", self.path)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._record(b"")
            mode, rest = self._split()
            if mode == "hang":
                time.sleep(60)
                return
            if mode == "ok":
                self._forward(b"", rest)
                return
            body = json.dumps({"object": "list", "data": [{"id": args.model, "object": "model"}]}).encode()
            self._send(200, body, "application/json")

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._record(body)
            mode, rest = self._split()
            if mode == "ok":
                self._forward(body, rest)
            elif mode == "http500":
                err = {"error": {"message": "internal error (injected)", "type": "server_error"}}
                self._send(500, json.dumps(err).encode(), "application/json")
            elif mode == "badjson":
                self._stream([b"data: {this is not json\n\n", b"data: [DONE]\n\n"])
            elif mode == "endless":
                piece = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": args.model}
                chunk = piece | {
                    "choices": [{"index": 0, "delta": {"content": "la "}, "finish_reason": None}]
                }
                line = b"data: " + json.dumps(chunk).encode() + b"\n\n"
                self._stream(iter(lambda: line, None), pause=0.005)
            elif mode == "hang":
                time.sleep(60)
            else:
                self._send(404, b'{"error": "unknown mode"}', "application/json")

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, lines, pause: float = 0.0) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                for line in lines:
                    self.wfile.write(line)
                    self.wfile.flush()
                    if pause:
                        time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up: that is how an endless stream ends

        def _forward(self, body: bytes, path: str) -> None:
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            try:
                conn.request(self.command, path, body=body or None, headers=headers)
                resp = conn.getresponse()
            except OSError as exc:
                self._send(502, json.dumps({"error": str(exc)}).encode(), "application/json")
                return
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.end_headers()
            try:
                while chunk := resp.read1(65536):
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                conn.close()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
