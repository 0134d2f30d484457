"""``gateway-mock serve``: a standalone OpenAI-compatible mock server.

Useful as an ``api_base`` for ``openai/`` deployments when trying the gateway without any
provider account, and in tests that need a real upstream process.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway-mock", description="An OpenAI-compatible mock server.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument("--response", default="Hello from the mock server.")
    args = parser.parse_args(argv)

    import uvicorn

    from gateway.testing import FakeUpstream

    uvicorn.run(FakeUpstream(args.response).app(), host=args.host, port=args.port, log_level="warning")
    return 0
