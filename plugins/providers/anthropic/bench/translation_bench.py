"""Requests/s through the Anthropic translation vs OpenAI pass-through, in one run.

nginx serves fixed answers in both formats (an OpenAI chat completion and stream, an Anthropic
message and event stream: the fastest an upstream can be), one gateway process serves both, and
wrk drives each path in turn with the same client request:

* ``passthrough``        OpenAI client -> gateway -> ``openai/`` deployment (bytes forwarded)
* ``anthropic``          OpenAI client -> gateway -> ``anthropic/`` deployment (request and answer translated)
* ``messages->openai``   Anthropic client -> ``/v1/messages`` -> ``openai/`` deployment (inbound translation)

each non-streaming and streaming.  The figure is the ratio to pass-through; the target is that
translation costs less than 20 % of throughput.

    .venv/bin/python plugins/providers/anthropic/bench/translation_bench.py [--seconds 1] [--rounds 2] [--connections 8]

Needs nginx and wrk (Debian: nginx-light, wrk).  Keep runs short on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson
from gateway_anthropic.testing import encode_events, message, message_events

ROOT = Path(__file__).resolve().parents[4]
MASTER = "sk-bench-master"
TEXT = "Hello! How can I help you today?"
OPENAI_CHAT = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1764000000,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
}
ANTHROPIC_MESSAGE = message(TEXT, model="claude-bench", input_tokens=12, output_tokens=9, message_id="msg_bench")


def openai_stream() -> str:
    def chunk(delta: dict, finish: str | None, usage: dict | None = None) -> str:
        data = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1764000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage:
            data["usage"] = usage
        return "data: " + orjson.dumps(data).decode() + "\n\n"

    pieces = ["Hello", "! How", " can I help", " you today?"]
    body = chunk({"role": "assistant", "content": ""}, None) + "".join(chunk({"content": p}, None) for p in pieces)
    return body + chunk({}, "stop", OPENAI_CHAT["usage"]) + "data: [DONE]\n\n"


def anthropic_stream() -> str:
    return b"".join(encode_events(message_events(ANTHROPIC_MESSAGE, pieces=4))).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_conf(folder: Path, port: int) -> str:
    def fixed(path: str, body: str, media: str) -> str:
        assert "'" not in body and "$" not in body
        return f"    location = {path} {{ default_type {media}; return 200 '{body}'; }}\n"

    return (
        f"worker_processes 1;\nerror_log {folder}/error.log warn;\npid {folder}/nginx.pid;\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {folder}/body;\n  keepalive_requests 1000000;\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n"
        + fixed("/v1/chat/completions", orjson.dumps(OPENAI_CHAT).decode(), "application/json")
        + fixed("/stream/v1/chat/completions", openai_stream(), "text/event-stream")
        + fixed("/v1/messages", orjson.dumps(ANTHROPIC_MESSAGE).decode(), "application/json")
        + fixed("/stream/v1/messages", anthropic_stream(), "text/event-stream")
        + "  }\n}\n"
    )


def gateway_config(up: str) -> str:
    models = {
        "gpt": ("openai/gpt-4o-mini", f"{up}/v1"),
        "gpt-stream": ("openai/gpt-4o-mini", f"{up}/stream/v1"),
        "claude": ("anthropic/claude-bench", up),
        "claude-stream": ("anthropic/claude-bench", f"{up}/stream"),
    }
    lines = ["model_list:"]
    for name, (model, base) in models.items():
        lines += [
            f"  - model_name: {name}",
            f"    litellm_params: {{model: {model}, api_base: '{base}', api_key: sk-up}}",
        ]
    lines += ["general_settings:", f"  master_key: {MASTER}"]
    return "\n".join(lines) + "\n"


LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
wrk.body = os.getenv("BODY")
"""


def chat_body(model: str, stream: bool) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": "Say hello in one short sentence."}]}
    if stream:
        body["stream"] = True
    return orjson.dumps(body).decode()


def messages_body(model: str, stream: bool) -> str:
    body = {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body).decode()


def post(url: str, body: str) -> bytes:
    request = urllib.request.Request(
        url,
        data=body.encode(),
        method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {MASTER}"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.read()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, body: str, lua: Path, connections: int, seconds: int, pid: int) -> tuple[float, float, str]:
    """Requests/s (wall clock) and the gateway's CPU microseconds per request for one run."""
    cpu_before = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        env={**os.environ, "BODY": body, "KEY": MASTER},
        timeout=seconds + 30,
    ).stdout
    cpu = cpu_seconds(pid) - cpu_before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+(\S+)", out)
    return (
        rps,
        cpu / max(total, 1) * 1e6,
        f"p50={p50.group(1) if p50 else '?'} non2xx={non2xx.group(1) if non2xx else 0}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=1, help="length of each wrk run (keep it short)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="the cases run interleaved this many times (noise on a shared machine)"
    )
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (apt-get install -y nginx-light wrk)", file=sys.stderr)
            return 2
    folder = Path(tempfile.mkdtemp(prefix="anthropic-bench-"))
    up_port, gw_port = free_port(), free_port()
    (folder / "nginx.conf").write_text(nginx_conf(folder, up_port))
    (folder / "gateway.yaml").write_text(gateway_config(f"http://127.0.0.1:{up_port}"))
    (folder / "request.lua").write_text(LUA)
    gateway = None
    try:
        subprocess.run(["nginx", "-c", str(folder / "nginx.conf"), "-p", str(folder)], check=True)
        env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "anthropic,openai", "GATEWAY_LOG_LEVEL": "WARNING"}
        gateway = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gateway"),
                "--config",
                str(folder / "gateway.yaml"),
                "--port",
                str(gw_port),
                "--log-format",
                "json",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "gateway.log", "wb"),
        )
        base = f"http://127.0.0.1:{gw_port}"
        cases = [
            ("passthrough", f"{base}/v1/chat/completions", chat_body("gpt", False)),
            ("anthropic", f"{base}/v1/chat/completions", chat_body("claude", False)),
            ("messages->openai", f"{base}/v1/messages", messages_body("gpt", False)),
            ("passthrough stream", f"{base}/v1/chat/completions", chat_body("gpt-stream", True)),
            ("anthropic stream", f"{base}/v1/chat/completions", chat_body("claude-stream", True)),
            ("messages->openai stream", f"{base}/v1/messages", messages_body("gpt-stream", True)),
        ]
        for _ in range(100):
            try:
                post(cases[0][1], cases[0][2])
                break
            except OSError:
                time.sleep(0.1)
        for _, url, body in cases:  # warm up and check every path answers
            reply = post(url, body)
            assert TEXT.split("!")[0] in reply.decode(), reply[:200]
        rps_runs: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        cpu_runs: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for round_no in range(args.rounds):
            order = cases if round_no % 2 == 0 else cases[::-1]
            for name, url, body in order:
                rps, cpu_us, detail = wrk(
                    url, body, folder / "request.lua", args.connections, args.seconds, gateway.pid
                )
                rps_runs[name].append(rps)
                cpu_runs[name].append(cpu_us)
                print(
                    f"round {round_no + 1}  {name:24s} {rps:8.1f} req/s  {cpu_us:7.1f} us CPU/request  {detail}",
                    flush=True,
                )
        rps_mean = {name: sum(v) / len(v) for name, v in rps_runs.items()}
        cpu_mean = {name: sum(v) / len(v) for name, v in cpu_runs.items()}
        print(
            "\nCPU per request decides the throughput of a worker; wall-clock req/s moves with the machine's other load."
        )
        for mode in ("", " stream"):
            base = "passthrough" + mode
            print(f"{base:24s} {rps_mean[base]:8.1f} req/s  {cpu_mean[base]:7.1f} us CPU/request")
            for name in ("anthropic" + mode, "messages->openai" + mode):
                capacity = cpu_mean[base] / cpu_mean[name]
                print(
                    f"{name:24s} {rps_mean[name]:8.1f} req/s  {cpu_mean[name]:7.1f} us CPU/request  "
                    f"throughput {capacity:6.1%} of pass-through by CPU (costs {1 - capacity:5.1%}), "
                    f"{rps_mean[name] / rps_mean[base]:6.1%} by wall clock"
                )
        return 0
    finally:
        if gateway is not None:
            gateway.send_signal(signal.SIGTERM)
            try:
                gateway.wait(timeout=15)
            except subprocess.TimeoutExpired:
                gateway.kill()
        pid_file = folder / "nginx.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


if __name__ == "__main__":
    raise SystemExit(main())
