"""Instructions per call of each piece of a model request's lifecycle, counted by callgrind.

``instructions.py`` says what one request costs; this says where it goes, so that a change can be
aimed at the piece that costs most.  Each piece is the kernel's own code for one step of a
``core+openai`` request (see ``instructions.py``), called N times in a loop on the inputs of a real
request: the measured process starts the gateway, sends 30 requests to a fixed-answer upstream,
keeps the last request's context, answer and deployment, stops the gateway (so that nothing else
runs meanwhile), then calls the piece.  It runs under
``valgrind --tool=callgrind`` once with N calls and once with none (start-up, warm-up and shut-down
are the same in both), so::

    instructions per call = (I(N) - I(0)) / N

The pieces (the names of the lifecycle in docs/architecture.md):

    context        the request context from the ASGI scope: headers decoded, request id, log binding
    auth           the credential from the headers, gateway_auth (the master key), allowed routes
    parse          the body's bytes to a JSON object, with its size and nesting checks
    decode         the OpenAI surface's decode: the whole body checked, the typed ChatRequest built
    route          the model's access check and the default router's plan
    provider_body  the OpenAI provider's upstream body from the decoded request, serialised
    upstream_json  the upstream's answer read: JSON, usage, the headers passed on
    retry_loop     the retry loop's set-up for one request
    answer_head    the answer's headers (LiteLLM's x-litellm-*, timings, ids) as ASGI pairs
    access_line    the request's access line, rendered and queued
    request        one whole request, for scale (what ``instructions.py core+openai`` counts)

The loop around a call costs ~50 instructions.  The pieces use the kernel's private modules: they
measure the kernel, they are not a plugin.

How to run
    .venv/bin/python bench/pieces.py                       # every piece (~1 minute a piece on 2 cores)
    .venv/bin/python bench/pieces.py decode answer_head    # some
    .venv/bin/python bench/pieces.py --src ../baseline     # another checkout's code (as instructions.py)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import instructions as bench  # noqa: E402  (this folder's module: the upstream, the config, the ASGI client)

PIECES = (
    "context",
    "auth",
    "parse",
    "decode",
    "route",
    "provider_body",
    "upstream_json",
    "retry_loop",
    "answer_head",
    "access_line",
    "request",
)
WARMUP = 30


# ====================================================================== the measured process


def piece_call(name: str, gateway: Any, client: Any, ctx: Any) -> Callable[[], Any]:
    """The call that ``name`` measures, on the inputs of the last warm-up request."""
    import orjson
    from gateway_openai.provider import pass_headers

    from gateway import _pipeline
    from gateway._builtin.openai_surfaces import ChatCompletions
    from gateway._logs import access_line, access_log
    from gateway._retries import RetryLoop
    from gateway._types import JSONResponseBody, Usage
    from gateway.chat import upstream_json_answer
    from gateway.http._asgi import model_request_context
    from gateway.http._requests import extract_api_key, parse_json_object
    from gateway.http._responses import AnswerHeaders, answer_head

    surface = ChatCompletions()
    body = orjson.loads(bench.BODY)
    provider = gateway.providers.get("openai")
    deployment, response, principal = ctx.deployment, ctx.response, ctx.principal
    scope = client.scope("POST", "/v1/chat/completions", bench.BODY, bench.MASTER_KEY)
    answer = AnswerHeaders(gateway.providers)
    ctx.request = surface.decode(body)  # as no hook looked into it: the provider sends the client's members
    # the upstream's answer as aiohttp hands it over: its bytes and a few headers none of which is passed on
    upstream_headers = {"Content-Type": "application/json", "Content-Length": str(len(bench.CHAT)), "Server": "x"}

    def context() -> Any:
        return model_request_context(scope, "chat")

    def auth() -> Any:
        key = extract_api_key(ctx.headers, None)
        return _pipeline.admit(gateway, ctx, gateway.hooks.auth_now(ctx, key), "/v1/chat/completions")

    def route() -> Any:
        _pipeline.check_model_access(gateway, ctx, principal)
        return gateway.hooks.route_now(ctx)

    def provider_body() -> Any:
        return orjson.dumps(provider._body(ctx, deployment))

    def upstream_json() -> Any:
        data, _ = upstream_json_answer("openai", bench.CHAT)
        passed = pass_headers(upstream_headers)
        return JSONResponseBody(raw=bench.CHAT, data=data, headers=passed), Usage.from_openai(data.get("usage"))

    def head() -> Any:
        return answer_head(ctx, response, answer, [(b"content-type", b"application/json")])

    def line() -> None:
        access_line(ctx)
        access_log._pending.clear()  # queued, never written: the write is batched (one per 0.1 s)

    calls: dict[str, Callable[[], Any]] = {
        "context": context,
        "auth": auth,
        "parse": lambda: parse_json_object(bench.BODY),
        "decode": lambda: surface.decode(body),
        "route": route,
        "provider_body": provider_body,
        "upstream_json": upstream_json,
        "retry_loop": lambda: RetryLoop(gateway, ctx),
        "answer_head": head,
        "access_line": line,
    }
    return calls[name]


async def drive(spec: dict[str, Any]) -> None:
    from gateway import _pipeline

    seen: dict[str, Any] = {}
    finish = _pipeline.finish

    def keep(gateway: Any, ctx: Any, error: BaseException | None = None) -> None:
        seen["gateway"], seen["ctx"] = gateway, ctx
        finish(gateway, ctx, error)

    _pipeline.finish = keep  # the lifecycle calls it through the module: the last request's context is kept
    client = bench.AsgiClient(bench.build_app({"floor": None}))
    await client.startup()
    for _ in range(WARMUP):
        status, _, raw = await client.request("POST", "/v1/chat/completions", bench.BODY, bench.MASTER_KEY)
        if status != 200:
            raise RuntimeError(f"a warm-up request answered {status}: {raw[:300]!r}")
    calls = spec["calls"]
    if spec["piece"] == "request":
        for _ in range(calls):
            await client.request("POST", "/v1/chat/completions", bench.BODY, bench.MASTER_KEY)
    await client.shutdown()
    # what start-up built goes to the permanent generation: otherwise a full collection (tens of
    # millions of instructions over every module's objects) falls into one run and not the other
    gc.collect()
    gc.freeze()
    if calls and spec["piece"] != "request":
        # after shut-down: nothing else runs on the loop meanwhile (no timer, no background task)
        call = piece_call(spec["piece"], seen["gateway"], client, seen["ctx"])
        for _ in range(calls):
            call()


def run_child(spec_path: str) -> None:
    import uvloop

    spec = json.loads(Path(spec_path).read_text())
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(drive(spec))
    loop.close()


# ====================================================================== the parent


def count(piece: str, calls: int, upstream: str, src: Path | None) -> int:
    """Instructions of one measured process making ``calls`` calls of ``piece``."""
    import yaml

    with tempfile.TemporaryDirectory(prefix="gateway-pieces-") as folder:
        workdir = Path(folder)
        conf = bench.configurations(upstream)["core+openai"]
        (workdir / "config.yaml").write_text(yaml.safe_dump(conf.config, sort_keys=False))
        (workdir / "spec.json").write_text(json.dumps({"piece": piece, "calls": calls}))
        out = workdir / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            f"--log-file={workdir / 'valgrind.log'}",
            "--dump-line=no",
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(workdir / "spec.json"),
        ]
        env = bench.child_env(conf, workdir / "config.yaml", src)
        with open(workdir / "gateway.log", "wb") as log:
            proc = subprocess.run(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            tail = (workdir / "gateway.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{piece}: the measured process failed (exit {proc.returncode}):\n{tail}")
        return bench.total_instructions(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pieces", nargs="*", default=list(PIECES), metavar="PIECE", help=f"any of {', '.join(PIECES)}")
    parser.add_argument("--calls", type=int, default=20000, help="calls per piece (default 20000; 'request': a tenth)")
    parser.add_argument("--src", type=Path, default=None, help="measure this checkout's code (as instructions.py)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child)
        return 0
    unknown = [p for p in args.pieces if p not in PIECES]
    if unknown:
        parser.error(f"unknown piece {unknown[0]!r}; choose from {', '.join(PIECES)}")
    src = args.src.resolve() if args.src else None
    port = bench.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    upstream = subprocess.Popen([sys.executable, str(HERE / "instructions.py"), "--upstream", str(port)], env=env)
    try:
        bench.wait_for_port(port)
        url = f"http://127.0.0.1:{port}"
        print(f"measuring {bench.describe_tree(src or bench.ROOT)}; Python {sys.version.split()[0]}")
        print("instructions per call, (I(N) - I(0)) / N, on the inputs of a core+openai request", flush=True)
        none = count("request", 0, url, src)
        for piece in args.pieces:
            calls = max(args.calls // 10, 1) if piece == "request" else args.calls
            per_call = (count(piece, calls, url, src) - none) / calls
            print(f"{piece:<15} {per_call:>10,.0f}   (N={calls})", flush=True)
    finally:
        upstream.terminate()
        upstream.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
