"""Twin as a hub: one process that loads the models once and serves many devices (Wyoming
satellites) and offers Twin's ASR, TTS and conversation as Wyoming services.

The `wyoming` package is imported only in the `pipeline/serve/wyoming_io/` package; `starlette`/`uvicorn`
(the health endpoint) only in `pipeline/serve/http.py`.
"""
