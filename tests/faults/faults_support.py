"""Real processes and controllable failures for the fault tests (issue 21 item 2).

* :class:`GatewayProcess`: the ``gateway`` CLI in its own process (optionally ``--workers N``);
* :class:`RedisServer`: a private ``redis-server`` on a free port that a test may kill and restart
  (the machine's shared Redis on 6379 is never touched: other tests use it);
* :class:`TcpForwarder`: a TCP forwarder in front of PostgreSQL that can refuse connections or
  hang them (accept, then never pass a byte), which is what the gateway sees of a real outage;
* :class:`Load`: clients that keep calling while the fault happens, recording every answer;
* :func:`ledger_ids`: the ledger's request ids read straight from PostgreSQL;
* :func:`report`: the figures a test measured, printed in its output and in pytest's summary.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from gateway.testing import free_port

VENV_BIN = Path(sys.executable).parent
MASTER = "sk-master-fault-tests"
MESSAGES = [{"role": "user", "content": "hi"}]

#: every figure reported by the fault tests of this session, printed again in pytest's summary
FIGURES: list[str] = []


def report(test: str, **figures: Any) -> None:
    """Print a test's figures now (visible with ``-s``) and keep them for the session's summary."""
    text = ", ".join(f"{name.replace('_', ' ')}={value}" for name, value in figures.items())
    line = f"{test}: {text}"
    FIGURES.append(line)
    print(f"\n[fault figures] {line}")


def mock_model(name: str = "m", **params: Any) -> dict[str, Any]:
    """A mock deployment with exact prices: "hi" (4 tokens) + the 7-token reply = $0.000018."""
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"mock/{name}",
            "input_cost_per_token": 0.000001,
            "output_cost_per_token": 0.000002,
            **params,
        },
    }


def gateway_config(
    database_url: str, redis_url: str | None, wal_dir: Path, models: list[dict[str, Any]], **spend: Any
) -> dict[str, Any]:
    plugins: dict[str, Any] = {
        "spend": {"wal_dir": str(wal_dir), "ship_interval_seconds": 0.2, "ship_max_backoff_seconds": 1, **spend},
    }
    if redis_url is not None:
        plugins["spend"]["redis_url"] = redis_url
        plugins["virtual_keys"] = {"redis_url": redis_url}
    return {
        "model_list": models,
        "general_settings": {"master_key": MASTER, "database_url": database_url},
        "plugins": plugins,
    }


def wait_until(predicate: Any, timeout: float, step: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed (a bounded wait, not an assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(step)


class GatewayProcess:
    """``gateway --config ... --port ...`` (and ``--workers``) in a process of its own."""

    def __init__(
        self,
        config: dict[str, Any],
        workdir: Path,
        *,
        workers: int = 1,
        plugins: str = "mock,virtual_keys,spend",
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.workers = workers
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / f"gateway-{self.port}.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.env = {**os.environ, "GATEWAY_LOG_FORMAT": "json", "GATEWAY_LOAD_PLUGINS": plugins}
        for name in ("DATABASE_URL", "REDIS_URL"):  # the config says which ones this test uses
            self.env.pop(name, None)
        self.log_path = workdir / f"gateway-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> GatewayProcess:
        command = [str(VENV_BIN / "gateway"), "--config", str(self.config_path), "--port", str(self.port)]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 60) -> GatewayProcess:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/health/liveliness", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"gateway did not start within {timeout} s:\n{self.log_tail()}")

    def start(self) -> GatewayProcess:
        return self.launch().wait_ready()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def worker_pids(self) -> list[int]:
        """The worker processes under the supervisor (``--workers N``), read from /proc."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            pids = [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []
        workers = []
        for pid in pids:  # multiprocessing's resource tracker is a child too: workers are spawn_main ones
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    workers.append(pid)
            except OSError:
                pass
        return workers

    def children(self) -> list[int]:
        """Every child of the process (workers, multiprocessing's resource tracker)."""
        assert self.proc is not None
        try:
            return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """``kill -9`` of the process (and of its workers, which would otherwise keep serving)."""
        if self.proc is None:
            return
        pids = self.children()
        if self.proc.poll() is None:
            self.proc.kill()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def admin(self, method: str, path: str, timeout: float = 30, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, self.url + path, headers={"Authorization": f"Bearer {MASTER}"}, timeout=timeout, **kwargs
        )


class RedisServer:
    """A ``redis-server`` of one test on a free port, without persistence (a restart empties it)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_until(self.ping, 10, 0.05):
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def integer(self, *command: str) -> int:
        """An integer reply of one inline command (``ZCARD key``), on a connection of its own."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(" ".join(command).encode() + b"\r\n")
            reply = sock.recv(64)
        if not reply.startswith(b":"):
            raise RuntimeError(f"redis answered {reply!r} to {command}")
        return int(reply[1:].split(b"\r\n")[0])

    def kill(self) -> None:
        """``kill -9``: Redis is gone at once, its connections reset."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class TcpForwarder:
    """127.0.0.1:<port> -> 127.0.0.1:<target>, in one of three modes the test switches between.

    ``forward``: bytes pass.  ``refuse``: the listening socket is closed (connection refused) and
    open connections are reset.  ``hang``: connections are accepted, and no byte passes either way
    on any connection, open or new (a network that black-holes packets).
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.mode = "forward"
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def start(self) -> TcpForwarder:
        self._listen()
        return self

    def forward(self) -> None:
        if self._listener is None:
            self._listen()
        self.mode = "forward"
        self._flowing.set()

    def hang(self) -> None:
        if self._listener is None:
            self._listen()
        self.mode = "hang"
        self._flowing.clear()

    def refuse(self) -> None:
        self.mode = "refuse"
        self._close_listener()
        self._reset_all()
        self._flowing.set()  # pipes of reset connections end

    def stop(self) -> None:
        self.refuse()

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:  # wakes the thread blocked in accept()
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None

    def _reset_all(self) -> None:
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()  # in "hang" the bytes stop here, both ways
                if self.mode == "refuse":
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@dataclass
class Answer:
    at: float  # seconds since the load started, when the answer arrived
    status: int  # 0: no answer (a transport error or the client's timeout)
    call_id: str | None
    elapsed: float
    error_type: str = ""


@dataclass
class Load:
    """``clients`` concurrent callers of ``/v1/chat/completions`` (round-robin over ``urls``) until stopped."""

    urls: list[str]
    api_key: str = MASTER
    clients: int = 4
    body: dict[str, Any] = field(default_factory=dict)
    timeout: float = 30
    pause: float = 0.0
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.t0 = 0.0

    def start(self) -> Load:
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def now(self) -> float:
        return time.monotonic() - self.t0

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, limits=httpx.Limits(max_connections=64)) as client:

            async def caller(index: int) -> None:
                n = index
                while not self._stop.is_set():
                    url = self.urls[n % len(self.urls)]
                    n += 1
                    start = time.monotonic()
                    try:
                        response = await client.post(
                            url + "/v1/chat/completions",
                            json={"model": "m", "messages": MESSAGES, "max_tokens": 7, **self.body},
                            headers={"Authorization": f"Bearer {self.api_key}"},
                        )
                        error_type = ""
                        if response.status_code != 200:
                            try:
                                error_type = str(response.json()["error"].get("type", ""))
                            except Exception:
                                error_type = "not-json"
                        self.answers.append(
                            Answer(
                                self.now(),
                                response.status_code,
                                response.headers.get("x-litellm-call-id"),
                                time.monotonic() - start,
                                error_type,
                            )
                        )
                    except httpx.HTTPError as exc:
                        self.answers.append(Answer(self.now(), 0, None, time.monotonic() - start, type(exc).__name__))
                        await asyncio.sleep(0.2)  # a gateway that is down: retry, without spinning
                    if self.pause:
                        await asyncio.sleep(self.pause)

            await asyncio.gather(*(caller(i) for i in range(self.clients)))

    def stop(self) -> list[Answer]:
        self._stop.set()
        self._thread.join(self.timeout + 10)
        return list(self.answers)

    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)


def ledger_ids(database_url: str) -> list[str]:
    """Every request id in the ledger (``gateway_spend_logs``), read with asyncpg."""
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> list[str]:
        conn = await asyncpg.connect(database_url)
        try:
            return [r["request_id"] for r in await conn.fetch("SELECT request_id FROM gateway_spend_logs")]
        finally:
            await conn.close()

    return asyncio.run(run())


def ledger_statuses(database_url: str) -> dict[str, tuple[str, str | None, int]]:
    """request id -> (status, model group, spend in pico-dollars) of every ledger row."""
    import asyncpg

    async def run() -> dict[str, tuple[str, str | None, int]]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch("SELECT request_id, status, model_group, spend_pico FROM gateway_spend_logs")
            return {r["request_id"]: (r["status"], r["model_group"], r["spend_pico"]) for r in rows}
        finally:
            await conn.close()

    return asyncio.run(run())


def wait_for_ledger(database_url: str, expected: set[str], timeout: float = 60) -> list[str]:
    """The ledger's ids once every expected id arrived (shipping is asynchronous), or at the timeout."""
    rows: list[str] = []

    def arrived() -> bool:
        nonlocal rows
        rows = ledger_ids(database_url)
        return expected <= set(rows)

    wait_until(arrived, timeout, 0.25)
    return rows


def duplicates(ids: list[str | None]) -> int:
    """How many ids occur more than once (each extra occurrence counted)."""
    counts = Counter(i for i in ids if i is not None)
    return sum(n - 1 for n in counts.values() if n > 1)


class BrokenUpstream:
    """An OpenAI-compatible address whose server misbehaves at the TCP level, in a thread of its own.

    ``hang``: reads the request and never answers.  ``reset``: reads the request and resets the
    connection (RST, no HTTP answer).  ``half``: answers a streamed chat with its headers and half
    of the stream (two content chunks), then closes the connection: no final chunk, no usage, no
    ``data: [DONE]``.
    """

    def __init__(self, behaviour: str) -> None:
        assert behaviour in {"hang", "reset", "half"}
        self.behaviour = behaviour
        self.port = free_port()
        self.connections = 0
        self._held: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(128)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> BrokenUpstream:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        for held in self._held:
            held.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            body += chunk
        return True

    def _serve(self, conn: socket.socket) -> None:
        try:
            if not self._read_request(conn):
                conn.close()
                return
            if self.behaviour == "hang":
                self._held.append(conn)  # kept open, never answered
                return
            if self.behaviour == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()  # linger 0: the peer gets a RST
                return
            chunk = (
                b'data: {"id":"chatcmpl-half","object":"chat.completion.chunk","created":1,"model":"gpt-x",'
                b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Half "},"finish_reason":null}]}\n\n'
            )
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                + b"%x\r\n%s\r\n" % (len(chunk), chunk) * 2
            )
            time.sleep(0.2)
            conn.close()  # mid-stream: no final chunk, no [DONE], no terminating 0-length chunk
        except OSError:
            conn.close()
