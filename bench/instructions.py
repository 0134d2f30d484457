"""Instructions per model request, counted by callgrind: the gateway's own CPU work, deterministic.

What is measured
    The CPU instructions the gateway process executes for one ``POST /v1/chat/completions``
    (non-streaming; streaming for ``core+openai-stream``), from the moment the ASGI app is called
    until everything the request caused is done: its log hooks (access line, spend ledger,
    metrics ...), the ledger rows shipped to the database, the Redis calls of budgets and rate
    limits, the event loop's turns, garbage collection.  Not measured: an HTTP server (requests
    are handed to the ASGI app directly, as uvicorn hands them over, so neither uvicorn nor
    httptools is counted), the client, the upstream (a fixed-answer aiohttp server in another
    process), PostgreSQL and Redis.  The gateway's aiohttp client call to the upstream *is*
    counted: it is real.  ``floor`` measures bench/minimal_proxy.py (a bare aiohttp pass-through)
    driven the same way, so ``configuration - floor`` is what the gateway adds to the least any
    Python proxy does.

How
    The measured process (``--child``) builds the app as a uvicorn worker does
    (``app_from_environment`` of gateway's app module, with ``GATEWAY_CONFIG``), runs its ASGI lifespan on
    uvloop (the loop ``gateway`` serves on), pauses 1 s (background tasks' first rounds), sends 50
    warm-up requests (first requests import and build things lazily), then N requests one after
    the other, then shuts down (draining the log hooks, shipping the ledger).  It runs under
    ``valgrind --tool=callgrind`` with N1 and with N2 requests; start-up, warm-up and shut-down
    are the same in both, so they cancel:

        instructions per request = (I(N2) - I(N1) - timer work) / (N2 - N1)

    N1 = 100 and N2 = 1000: each run's count varies by a few million instructions (by less in
    the configurations without PostgreSQL), which 900 requests spread to a few thousand each.

    Timer work is what the gateway does by the wall clock rather than per request: in ``default``
    and ``governed`` the virtual-keys change poll (once a second, ~1M instructions a second).
    Under callgrind a request takes ~100x longer than in production, so a share of the poll
    would land on each request, and vary with the machine's load.  A third run (N1 requests plus
    a 20 s pause) measures its rate r, and r x (S(N2) - S(N1)) is taken out, S being each run's
    serving wall time; the line printed says how much that was.  (``floor`` and ``core+openai``
    have ~10k instructions a second of timer work: about 100 per request, left in.)  Two more
    timers are configured away: the ledger ships at shut-down only (``ship_interval_seconds``
    3600, ``ship_batch_size`` 10000, more than a run's requests), not every 0.5 s and every 500
    records: a ship started during the requests goes on reading what they append meanwhile, so
    its batches would depend on timing; and the virtual-keys poll runs every 1 s (its maximum)
    instead of 0.5 s.

    Pinned so that two runs execute the same: PYTHONHASHSEED=0, a fresh folder, SQLite file,
    PostgreSQL database and Redis key prefix per run, byte code compiled by an unmeasured run
    first.  Every response is checked (status 200, the upstream's answer, a stream ending with
    ``[DONE]``, the cost and rate-limit headers where the plugins add them) and the ledger's rows
    are counted after each run, so a figure is never that of an error path.

Configurations
    floor               bench/minimal_proxy.py's ASGI app: aiohttp pass-through, no gateway
    core+canned         core and the mock provider plugin only, the master key, the deployment's
                        ``mock_response`` as the answer: no upstream call, only the gateway's own work
    core+openai         core and the openai provider plugin only (GATEWAY_LOAD_PLUGINS=openai),
                        the master key
    core+openai-stream  the same, ``"stream": true`` against an SSE upstream (6 chunks + [DONE])
    default             every installed plugin (the venv as ``make install`` leaves it) on the
                        config of bench/run.sh (examples/bench.yaml): master key, spend ledger in
                        SQLite (gateway.db next to the config)
    governed            every installed plugin; a virtual key (made with /key/generate) with a
                        budget and rpm/tpm limits; keys and ledger in PostgreSQL (127.0.0.1:5432,
                        a database this script creates and drops), budgets and limits in Redis
                        (127.0.0.1:6379, keys under this script's own prefix); skipped, saying
                        why, when either is down

How to run
    .venv/bin/python bench/instructions.py                  # every configuration (~10 minutes)
    .venv/bin/python bench/instructions.py core+openai default --json
    .venv/bin/python bench/instructions.py --src ../baseline  # another checkout's code
    make bench-instructions ARGS="core+openai"              # installs first, then the same

    ``--src DIR`` puts DIR/core/src and DIR/plugins/*/*/src first on PYTHONPATH, so that
    checkout's code runs with this venv's dependencies and entry points; every ``gateway*``
    module the measured process imported is checked to come from DIR.  The first lines printed
    name the commit measured.  Each configuration takes 0.5 to 3.5 minutes on the 2-core
    development machine, mostly valgrind running Python's start-up with every plugin imported.

What the figures mean
    Instructions, not time: the count does not depend on what else the machine does (two runs
    agree within 0.3%), so a change of 1% in the gateway's own work is visible, where
    requests/s on this shared machine swing by a third.  A count is not a latency: it leaves out
    cache misses and system calls (the access line's write, socket I/O), so compare counts with
    counts: before and after a change, one configuration with another.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MASTER_KEY = "sk-bench-master"
#: the PostgreSQL database and Redis key prefix of the ``governed`` configuration (this script's own)
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "gateway_bench_instructions"
REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_PREFIX = "gateway-bench-instructions"

CONFIGURATIONS = ("floor", "core+canned", "core+openai", "core+openai-stream", "default", "governed")
#: seconds the gateway idles after start-up, before the first request: its background tasks' first
#: rounds (the ledger shipper's look for orphaned logs, the key cache's first poll) end in this pause,
#: so they never overlap the requests (where how far they got would depend on valgrind's speed)
SETTLE_SECONDS = 1.0
#: the ledger's ship_batch_size here (its default is 500): above a run's requests, so it ships once, at shut-down
SHIP_BATCH_SIZE = 10_000

# the fixed upstream answers: byte for byte those of ../shared/bench/upstream.sh (the nginx upstream of bench/run.sh)
CHAT = (
    b'{"id":"chatcmpl-bench","object":"chat.completion","created":1764000000,"model":"gpt-4o-mini","choices":'
    b'[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},'
    b'"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}'
)


def _chunk(delta: str, finish: str, extra: str = "") -> bytes:
    return (
        f'data: {{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1764000000,'
        f'"model":"gpt-4o-mini","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]{extra}}}\n\n'
    ).encode()


STREAM = b"".join(
    [
        _chunk('{"role":"assistant","content":""}', "null"),
        _chunk('{"content":"Hello"}', "null"),
        _chunk('{"content":"! How"}', "null"),
        _chunk('{"content":" can I help"}', "null"),
        _chunk('{"content":" you today?"}', "null"),
        _chunk("{}", '"stop"', ',"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}'),
        b"data: [DONE]\n\n",
    ]
)
#: the request body of ../shared/bench/chat.lua (what wrk sends in bench/run.sh)
BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence."}]}'
STREAM_BODY = (
    b'{"model":"stream","messages":[{"role":"user","content":"Say hello in one short sentence."}],"stream":true}'
)


# ====================================================================== the upstream (its own process)


def serve_upstream(port: int) -> None:
    """A fixed-answer OpenAI upstream: the chat completion and the SSE stream above, nothing else."""
    from aiohttp import web

    async def chat(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=CHAT, content_type="application/json")

    async def stream(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=STREAM, content_type="text/event-stream")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/stream/v1/chat/completions", stream)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# ====================================================================== the measured process


class AsgiClient:
    """Calls an ASGI app the way uvicorn does (scope, receive, send), with no server in between."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}

    async def startup(self) -> None:
        self._lifespan_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._lifespan = asyncio.get_running_loop().create_task(
            self.app(scope, self._lifespan_in.get, self._lifespan_out.put)
        )
        await self._lifespan_in.put({"type": "lifespan.startup"})
        message = await self._lifespan_out.get()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the gateway did not start: {message}")

    async def shutdown(self) -> None:
        await self._lifespan_in.put({"type": "lifespan.shutdown"})
        message = await self._lifespan_out.get()
        if message["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"the gateway did not stop cleanly: {message}")
        await self._lifespan

    def scope(self, method: str, path: str, body: bytes, key: str) -> dict[str, Any]:
        """The scope uvicorn's httptools protocol builds (uvicorn 0.54), headers as wrk sends them."""
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 4000),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "root_path": "",
            "method": method,
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [
                (b"host", b"127.0.0.1:4000"),
                (b"authorization", f"Bearer {key}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "state": self.state.copy(),
        }

    async def request(self, method: str, path: str, body: bytes, key: str) -> tuple[int, dict[str, str], bytes]:
        scope = self.scope(method, path, body, key)
        done = asyncio.Event()
        body_sent = False
        status = 0
        headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()  # as uvicorn: the next message is the disconnect, once the answer is complete
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.update((k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.app(scope, receive, send)
        done.set()
        return status, headers, b"".join(chunks)


def build_app(spec: dict[str, Any]) -> Any:
    if spec["floor"]:
        # the reference floor: bench/minimal_proxy.py's raw ASGI pass-through (aiohttp, no gateway)
        sys.path.insert(0, str(HERE))
        import minimal_proxy

        minimal_proxy.UPSTREAM = spec["floor"]
        return minimal_proxy.app
    # the factory a uvicorn worker calls (see gateway's server module); core's modules became
    # private (gateway._app) after the baseline commit, which still has gateway.app
    import importlib
    import importlib.util

    module = importlib.import_module("gateway._app" if importlib.util.find_spec("gateway._app") else "gateway.app")
    return module.app_from_environment()


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Start the gateway, send the warm-up and the measured requests, stop it; what the parent checks."""
    client = AsgiClient(build_app(spec))
    await client.startup()
    serving = time.monotonic()
    await asyncio.sleep(SETTLE_SECONDS)
    key = MASTER_KEY
    if spec["virtual_key"]:
        status, _, raw = await client.request(
            "POST", "/key/generate", json.dumps(spec["virtual_key"]).encode(), MASTER_KEY
        )
        if status != 200:
            raise RuntimeError(f"/key/generate answered {status}: {raw[:300]!r}")
        key = json.loads(raw)["key"]
    body = STREAM_BODY if spec["stream"] else BODY
    bad: list[str] = []
    last_headers: dict[str, str] = {}

    async def one() -> None:
        nonlocal last_headers
        status, headers, raw = await client.request("POST", "/v1/chat/completions", body, key)
        answered = raw.endswith(b"data: [DONE]\n\n") if spec["stream"] else b"How can I help you today?" in raw
        if status != 200 or not answered:
            bad.append(f"{status} {raw[:300]!r}")
        last_headers = headers

    for _ in range(spec["warmup"]):
        await one()
    if spec["idle"]:
        await asyncio.sleep(spec["idle"])
    for _ in range(spec["requests"]):
        await one()
    await client.shutdown()
    serving = time.monotonic() - serving
    modules = sorted(
        {
            str(Path(m.__file__).resolve())
            for name, m in list(sys.modules.items())
            if (name == "gateway" or name.startswith("gateway_")) and getattr(m, "__file__", None)
        }
    )
    return {
        "bad": bad[:5],
        "bad_count": len(bad),
        "headers": last_headers,
        "modules": modules,
        "serving_seconds": serving,
    }


def run_child(spec_path: str) -> None:
    import uvloop

    spec = json.loads(Path(spec_path).read_text())
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    result = loop.run_until_complete(drive(spec))
    loop.close()
    Path(spec["result"]).write_text(json.dumps(result))


# ====================================================================== the parent: set-up, runs, figures


@dataclass
class Configuration:
    name: str
    stream: bool = False
    only_openai: bool = False
    #: core and gateway-mock only, answering in process (no upstream call at all)
    canned: bool = False
    governed: bool = False
    floor: bool = False
    #: the gateway has work driven by the wall clock (the virtual-keys change poll, each second):
    #: measured on its own and taken out of the figure (see the module doc)
    timers: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def has_ledger(self) -> bool:
        return not (self.only_openai or self.floor or self.canned)


def gateway_config(upstream: str, *, governed: bool = False, plugins_section: bool = True) -> dict[str, Any]:
    """examples/bench.yaml with the upstream of this run (plus governance's database and Redis)."""
    params = {"model": "openai/gpt-4o-mini", "api_key": "sk-upstream"}
    config: dict[str, Any] = {
        "model_list": [
            {"model_name": "gpt-4o-mini", "litellm_params": {**params, "api_base": f"{upstream}/v1"}},
            {"model_name": "stream", "litellm_params": {**params, "api_base": f"{upstream}/stream/v1"}},
        ],
        "general_settings": {"master_key": MASTER_KEY},
    }
    # ship the ledger by count and at shut-down, not by the wall clock (see the module doc)
    plugins: dict[str, Any] = {
        "spend": {"ship_interval_seconds": 3600, "ship_batch_size": SHIP_BATCH_SIZE},
        "virtual_keys": {"poll_interval": 1.0},
    }
    if governed:
        config["general_settings"]["database_url"] = f"postgresql://postgres@127.0.0.1:5432/{PG_DATABASE}"
        plugins["spend"].update(redis_url=REDIS_URL, redis_prefix=REDIS_PREFIX)
        plugins["virtual_keys"].update(redis_url=REDIS_URL, redis_channel=f"{REDIS_PREFIX}:virtual-keys:changes")
    if plugins_section:
        config["plugins"] = plugins
    return config


def canned_config() -> dict[str, Any]:
    """One mock deployment answering the upstream's text in process: the gateway's own work only."""
    answer = "Hello! How can I help you today?"
    params = {"model": "mock/gpt-4o-mini", "mock_response": answer}
    return {
        "model_list": [{"model_name": "gpt-4o-mini", "litellm_params": params}],
        "general_settings": {"master_key": MASTER_KEY},
    }


def configurations(upstream: str) -> dict[str, Configuration]:
    return {
        "floor": Configuration("floor", floor=True),
        "core+canned": Configuration("core+canned", canned=True, config=canned_config()),
        "core+openai": Configuration(
            "core+openai", only_openai=True, config=gateway_config(upstream, plugins_section=False)
        ),
        "core+openai-stream": Configuration(
            "core+openai-stream", stream=True, only_openai=True, config=gateway_config(upstream, plugins_section=False)
        ),
        "default": Configuration("default", timers=True, config=gateway_config(upstream)),
        "governed": Configuration(
            "governed", governed=True, timers=True, config=gateway_config(upstream, governed=True)
        ),
    }


VIRTUAL_KEY = {
    "key_alias": "bench-instructions",
    "max_budget": 1000000,
    "budget_duration": "30d",
    "rpm_limit": 10**9,
    "tpm_limit": 10**12,
}


def describe_tree(path: Path) -> str:
    """The commit being measured, and whether the work tree differs from it."""
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{path} (not a git checkout)"
    return f"{path} at {head.stdout.strip()}" + (" with uncommitted changes" if dirty else "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def source_path(src: Path | None) -> str | None:
    """PYTHONPATH for measuring the checkout at ``src``: its core and every plugin's src folder."""
    if src is None:
        return None
    dirs = [src / "core" / "src", *sorted(Path(p) for p in glob.glob(str(src / "plugins" / "*" / "*" / "src")))]
    return os.pathsep.join(str(d) for d in dirs)


def child_env(conf: Configuration, config_path: Path, src: Path | None) -> dict[str, str]:
    # nothing from the caller's environment that changes what the gateway loads or where it stores
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GATEWAY_", "LITELLM_", "PYTHON"))
        and k not in ("DATABASE_URL", "REDIS_URL", "CONFIG_FILE_PATH")
    }
    env.update(
        PYTHONHASHSEED="0",
        GATEWAY_CONFIG=str(config_path),
        GATEWAY_LOG_FORMAT="json",
        LITELLM_SALT_KEY="bench-instructions-salt-0123456789abcdef",
    )
    if conf.only_openai:
        env["GATEWAY_LOAD_PLUGINS"] = "openai"
    if conf.canned:
        env["GATEWAY_LOAD_PLUGINS"] = "mock"
    path = source_path(src)
    if path:
        env["PYTHONPATH"] = path
    return env


def services_down() -> str | None:
    """Why ``governed`` cannot run here, or None."""
    for name, port in (("PostgreSQL", 5432), ("Redis", 6379)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError as exc:
            return f"{name} is not reachable on 127.0.0.1:{port} ({exc}); start it (make services)"
    return None


def reset_services(*, recreate: bool = True) -> None:
    """A fresh PostgreSQL database and no Redis keys under our prefix: every run starts the same.
    ``recreate=False``: only clean up (the database dropped, the keys deleted)."""
    import asyncpg
    import redis

    async def database() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
            if recreate:
                await conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        finally:
            await conn.close()

    asyncio.run(database())
    r = redis.Redis.from_url(REDIS_URL)
    for pattern in (f"{REDIS_PREFIX}*", f"{{{REDIS_PREFIX}}}*"):
        keys = list(r.scan_iter(match=pattern, count=1000))
        if keys:
            r.delete(*keys)
    r.close()


def ledger_rows(conf: Configuration, workdir: Path) -> int | None:
    """How many requests the spend ledger holds after a run (None: this configuration has no ledger)."""
    if not conf.has_ledger:
        return None
    query = "SELECT count(*) FROM gateway_spend_logs"
    if conf.governed:
        import asyncpg

        async def count() -> int:
            conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{PG_DATABASE}")
            try:
                return int(await conn.fetchval(query))
            finally:
                await conn.close()

        return asyncio.run(count())
    import sqlite3

    with sqlite3.connect(workdir / "gateway.db") as db:
        return int(db.execute(query).fetchone()[0])


@dataclass
class Run:
    requests: int
    instructions: int | None
    seconds: float
    #: wall time from start-up complete to shut-down complete (timer work accrues over it)
    serving_seconds: float
    result: dict[str, Any]


def run_once(conf: Configuration, requests: int, args: argparse.Namespace, *, valgrind: bool, idle: float = 0.0) -> Run:
    """One gateway process: start, warm up, ``requests`` requests, stop; its instruction total."""
    import yaml

    workdir = Path(tempfile.mkdtemp(prefix="gateway-instructions-"))
    try:
        if conf.governed:
            reset_services()
        config_path = workdir / "config.yaml"
        config_path.write_text(yaml.safe_dump(conf.config, sort_keys=False))
        spec = {
            "requests": requests,
            "warmup": args.warmup,
            "stream": conf.stream,
            "idle": idle,
            "virtual_key": VIRTUAL_KEY if conf.governed else None,
            "floor": args.upstream_url if conf.floor else None,
            "result": str(workdir / "result.json"),
        }
        (workdir / "spec.json").write_text(json.dumps(spec))
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(workdir / "spec.json")]
        out_file = workdir / "callgrind.out"
        if valgrind:
            command = [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out_file}",
                f"--log-file={workdir / 'valgrind.log'}",
                "--dump-line=no",
                *command,
            ]
        started = time.monotonic()
        with open(workdir / "gateway.log", "wb") as log:
            proc = subprocess.run(
                command, cwd=workdir, env=child_env(conf, config_path, args.src), stdout=log, stderr=subprocess.STDOUT
            )
        seconds = time.monotonic() - started
        result_path = workdir / "result.json"
        if proc.returncode != 0 or not result_path.exists():
            tail = (workdir / "gateway.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{conf.name}: the gateway process failed (exit {proc.returncode}):\n{tail}")
        result = json.loads(result_path.read_text())
        check_result(conf, result, args.src)
        rows = ledger_rows(conf, workdir)
        if rows is not None and rows != args.warmup + requests:
            raise RuntimeError(f"{conf.name}: the ledger holds {rows} rows after {args.warmup + requests} requests")
        instructions = total_instructions(out_file) if valgrind else None
        return Run(requests, instructions, seconds, result["serving_seconds"], result)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"  kept {workdir}", file=sys.stderr)


def check_result(conf: Configuration, result: dict[str, Any], src: Path | None) -> None:
    if result["bad_count"]:
        raise RuntimeError(f"{conf.name}: {result['bad_count']} requests failed, e.g. {result['bad']}")
    headers = result["headers"]
    if conf.has_ledger and "x-litellm-response-cost" not in headers:
        raise RuntimeError(f"{conf.name}: no x-litellm-response-cost header: is gateway-spend installed? {headers}")
    if conf.governed and "x-ratelimit-remaining-requests" not in headers:
        raise RuntimeError(f"{conf.name}: no rate-limit headers on a governed request: {headers}")
    if src is not None:
        foreign = [m for m in result["modules"] if not m.startswith(str(src.resolve()) + os.sep)]
        if foreign:
            raise RuntimeError(f"{conf.name}: modules imported from outside {src}: {foreign[:5]}")


def total_instructions(out_file: Path) -> int:
    for line in out_file.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {out_file}")


def measure(conf: Configuration, args: argparse.Namespace) -> dict[str, Any]:
    """Instructions per request of one configuration (see the module doc for the method)."""
    n1, n2 = args.requests
    run_once(conf, 5, args, valgrind=False)  # compiles byte code, proves the set-up works, unmeasured
    first = run_once(conf, n1, args, valgrind=True)
    second = run_once(conf, n2, args, valgrind=True)
    assert first.instructions is not None and second.instructions is not None
    figure: dict[str, Any] = {
        "configuration": conf.name,
        "N1": n1,
        "N2": n2,
        "I(N1)": first.instructions,
        "I(N2)": second.instructions,
        "S(N1)": round(first.serving_seconds, 3),
        "S(N2)": round(second.serving_seconds, 3),
        "uncorrected": (second.instructions - first.instructions) / (n2 - n1),
        "timer_rate": 0.0,
    }
    if conf.timers and args.idle_seconds > 0:
        # timer work per second of wall time: the same N1 run with a pause of idle_seconds added
        idle = run_once(conf, n1, args, valgrind=True, idle=args.idle_seconds)
        assert idle.instructions is not None
        figure["timer_rate"] = (idle.instructions - first.instructions) / (idle.serving_seconds - first.serving_seconds)
        figure["I(N1+idle)"], figure["S(N1+idle)"] = idle.instructions, round(idle.serving_seconds, 3)
    timer_share = figure["timer_rate"] * (second.serving_seconds - first.serving_seconds)
    figure["per_request"] = (second.instructions - first.instructions - timer_share) / (n2 - n1)
    figure["timer_per_request"] = timer_share / (n2 - n1)
    figure["seconds"] = round(time.monotonic() - args.started, 1)
    return figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="What is measured, how, and what the figures mean: this file's docstring and bench/README.md.",
    )
    parser.add_argument(
        "configurations",
        nargs="*",
        default=list(CONFIGURATIONS),
        metavar="CONFIGURATION",
        help=f"any of {', '.join(CONFIGURATIONS)} (default: all)",
    )
    parser.add_argument(
        "--requests", default="100,1000", help="N1,N2: the two runs' measured requests (default 100,1000)"
    )
    parser.add_argument("--warmup", type=int, default=50, help="requests before the measured ones (default 50)")
    parser.add_argument("--src", type=Path, default=None, help="measure this checkout's code (see the module doc)")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="the pause of the run that measures timer work, in default and governed (default 20; 0: no correction)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON lines as well")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (config, logs, callgrind output)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child)
        return 0
    if args.upstream:
        serve_upstream(args.upstream)
        return 0
    unknown = [c for c in args.configurations if c not in CONFIGURATIONS]
    if unknown:
        parser.error(f"unknown configuration {unknown[0]!r}; choose from {', '.join(CONFIGURATIONS)}")
    args.requests = tuple(int(n) for n in args.requests.split(","))
    if len(args.requests) != 2 or not 0 < args.requests[0] < args.requests[1]:
        parser.error("--requests takes N1,N2 with 0 < N1 < N2")
    if args.warmup + args.requests[1] >= SHIP_BATCH_SIZE:
        # a full batch would start a ship in the middle of the requests, whose progress then depends on timing
        parser.error(
            f"--warmup + N2 must stay below {SHIP_BATCH_SIZE} (the ledger's batch size): the ledger must "
            "ship once, at shut-down"
        )
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install -y valgrind", file=sys.stderr)
        return 2

    if args.src is not None:
        args.src = args.src.resolve()  # the measured process runs in a folder of its own
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    path = source_path(args.src)
    if path:
        env["PYTHONPATH"] = path
        probe = subprocess.run(
            [sys.executable, "-c", "import gateway; print(gateway.__file__)"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"gateway imported from {probe}")
    port = free_port()
    upstream = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--upstream", str(port)], env=env)
    try:
        wait_for_port(port)
        args.upstream_url = f"http://127.0.0.1:{port}"
        confs = configurations(args.upstream_url)
        print(f"measuring {describe_tree(args.src or ROOT)}; Python {sys.version.split()[0]}")
        print(
            f"instructions per request, (I(N2) - I(N1) - timer work) / (N2 - N1), N1,N2 = {args.requests[0]},"
            f"{args.requests[1]}, {args.warmup} warm-up requests"
        )
        for name in args.configurations:
            conf = confs[name]
            if conf.governed and (why := services_down()):
                print(f"{name:<20} skipped: {why}")
                continue
            args.started = time.monotonic()
            try:
                figure = measure(conf, args)
            finally:
                if conf.governed and not args.keep:
                    reset_services(recreate=False)
            timer = (
                f"; timer work {figure['timer_rate'] / 1e6:.2f}M/s, {figure['timer_per_request'] / 1000:.1f}k/request "
                f"taken out of {figure['uncorrected']:,.0f}"
                if figure["timer_rate"]
                else ""
            )
            print(
                f"{name:<20} {figure['per_request']:>10,.0f}   (I(N1)={figure['I(N1)']:,} I(N2)={figure['I(N2)']:,}"
                f"{timer}; {figure['seconds']:.0f} s)",
                flush=True,
            )
            if args.json:
                print(json.dumps(figure))
    finally:
        upstream.terminate()
        upstream.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
