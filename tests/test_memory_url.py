"""Past one machine: memory on a Qdrant server by URL (`memory.url`) goes through the same client
code as the embedded store. No Qdrant server ships in a package here, so what can run is the path
itself: a URL nothing answers on is a typed error naming the setting, never a silent local store."""

from __future__ import annotations

import socket

import pytest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_an_unreachable_qdrant_server_is_a_typed_error_naming_the_setting():
    from memory import MemoryStoreError
    from memory.store import QdrantStore

    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(MemoryStoreError) as err:
        QdrantStore(512, url=url)
    assert url in err.value.message and "memory.url" in err.value.hint
