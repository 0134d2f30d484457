"""A database that accepts connections but never answers cannot hang requests.

The gateway's store bounds every operation by ``general_settings.database_timeout``; a request
whose auth plugin (or admin route) waited that long gets 503 with ``retry-after``, naming neither
the database nor its address.  The "hanging database" is a TCP proxy in front of the real
PostgreSQL that, once told to hang, keeps every connection open and forwards nothing.  The
virtual-keys plugin looks a never-seen key up in the database, which is what hangs here.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.testing import FakeUpstream, run_sql

from .conftest import MASTER, openai_config

gateway_virtual_keys = pytest.importorskip("gateway_virtual_keys")

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


class HangingDatabase:
    """Forwards 127.0.0.1:<port> to PostgreSQL until :meth:`hang`; from then on it accepts
    connections and keeps them, and forwards (or answers) nothing at all."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.target = target
        self.hanging = threading.Event()
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def hang(self) -> None:
        self.hanging.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            if self.hanging.is_set():
                continue  # accepted, never read, never answered
            upstream = socket.create_connection(self.target)
            self.sockets.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self.hanging.is_set():
                    self.stopped.wait()  # swallow it and go silent, connection still open
                    return
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)  # pass the end of the stream on, as a direct connection would
        except OSError:
            pass

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass


@pytest.fixture
def database() -> Iterator[str]:
    name = f"gw_hang_{uuid.uuid4().hex[:12]}"
    run_sql(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        run_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def hanging_database() -> Iterator[HangingDatabase]:
    proxy = HangingDatabase()
    try:
        yield proxy
    finally:
        proxy.close()


def _assert_unavailable(response: httpx.Response, port: int) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    error = response.json()["error"]
    assert error["type"] == "service_unavailable" and error["code"] == "503"
    assert "database or cache" in error["message"]
    assert "127.0.0.1" not in response.text and str(port) not in response.text


def test_a_hanging_database_gets_503_with_retry_after_on_auth_and_admin_routes(
    database: str, hanging_database: HangingDatabase, fake_upstream: FakeUpstream, gateway_factory: Any
) -> None:
    config = openai_config(
        fake_upstream,
        general_settings={
            "database_url": f"postgresql://postgres@127.0.0.1:{hanging_database.port}/{database}",
            "database_timeout": 1,
        },
    )
    gw = gateway_factory(config, plugins=[("virtual_keys", gateway_virtual_keys)])
    master = {"Authorization": f"Bearer {MASTER}"}
    # while the database answers, keys are made and used as usual
    made = httpx.post(gw.url + "/key/generate", json={}, headers=master, timeout=30)
    assert made.status_code == 200, made.text

    hanging_database.hang()
    never_seen = {"Authorization": f"Bearer sk-{uuid.uuid4().hex}"}
    refused = httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=never_seen, timeout=30)
    _assert_unavailable(refused, hanging_database.port)
    assert "virtual_keys" in refused.json()["error"]["message"]
    assert fake_upstream.requests == []  # never let through

    admin = httpx.post(gw.url + "/key/generate", json={}, headers=master, timeout=30)
    _assert_unavailable(admin, hanging_database.port)
