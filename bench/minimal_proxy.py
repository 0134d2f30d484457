"""The reference floor: the least a Python pass-through proxy can do (uvicorn + aiohttp, raw ASGI).

It forwards the request body to the upstream unchanged and returns the upstream's bytes. No auth,
no parsing, no routing: anything the gateway adds is measured against this.

    python bench/minimal_proxy.py UPSTREAM_BASE PORT
"""

from __future__ import annotations

import sys

import aiohttp
import uvicorn

UPSTREAM = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:18080"
session: aiohttp.ClientSession | None = None


async def lifespan(receive, send):  # type: ignore[no-untyped-def]
    """The ASGI lifespan: open the shared upstream session at start-up, close it at shutdown."""
    global session
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await session.close()  # type: ignore[union-attr]
            await send({"type": "lifespan.shutdown.complete"})
            return


def serve(app, default_port: int) -> None:  # type: ignore[no-untyped-def]
    """Run ``app`` as the bench runs every reference server: uvloop, httptools, no access log."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[2]) if len(sys.argv) > 2 else default_port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    async with session.post(UPSTREAM + scope["path"], data=body, headers={"content-type": "application/json"}) as resp:  # type: ignore[union-attr]
        payload = await resp.read()
        status = resp.status
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


if __name__ == "__main__":
    serve(app, 18081)
