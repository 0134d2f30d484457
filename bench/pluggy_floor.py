"""The issue's calibration point: the minimal proxy with a bare pluggy pipeline of the six request
hooks (auth, pre_call, route, call, post_call, log), each with one trivial async implementation.

The issue measured this at 89% of the minimal proxy on its machine; running it here tells how much
a given amount of Python work per request costs on *this* machine (bench/run.sh runs it paired).

    python bench/pluggy_floor.py UPSTREAM_BASE PORT
"""

from __future__ import annotations

import minimal_proxy  # its neighbour in bench/ (importable when this file runs as a script): one session, lifespan, server set-up
import pluggy
from minimal_proxy import UPSTREAM, lifespan, serve

spec = pluggy.HookspecMarker("floor")
impl = pluggy.HookimplMarker("floor")


class Spec:
    @spec(firstresult=True)
    def auth(self, request):  # type: ignore[no-untyped-def]
        """Who is calling."""

    @spec
    def pre_call(self, request):  # type: ignore[no-untyped-def]
        """Look at the request before it goes out."""

    @spec(firstresult=True)
    def route(self, request):  # type: ignore[no-untyped-def]
        """Where it goes."""

    @spec(firstresult=True)
    def call(self, request, target):  # type: ignore[no-untyped-def]
        """Send it."""

    @spec
    def post_call(self, request, response):  # type: ignore[no-untyped-def]
        """Look at the answer."""

    @spec
    def log(self, request, response):  # type: ignore[no-untyped-def]
        """Record it."""


class Trivial:
    @impl
    async def auth(self, request):  # type: ignore[no-untyped-def]
        return "caller"

    @impl
    async def pre_call(self, request):  # type: ignore[no-untyped-def]
        return None

    @impl
    async def route(self, request):  # type: ignore[no-untyped-def]
        return UPSTREAM + request["path"]

    @impl
    async def call(self, request, target):  # type: ignore[no-untyped-def]
        session = minimal_proxy.session  # opened by the shared lifespan
        async with session.post(target, data=request["body"], headers={"content-type": "application/json"}) as resp:  # type: ignore[union-attr]
            return resp.status, await resp.read()

    @impl
    async def post_call(self, request, response):  # type: ignore[no-untyped-def]
        return None

    @impl
    async def log(self, request, response):  # type: ignore[no-untyped-def]
        return None


pm = pluggy.PluginManager("floor")
pm.add_hookspecs(Spec)
pm.register(Trivial())
hook = pm.hook


async def first(coroutines):  # type: ignore[no-untyped-def]
    for coroutine in coroutines:
        return await coroutine
    return None


async def each(coroutines):  # type: ignore[no-untyped-def]
    for coroutine in coroutines:
        await coroutine


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
    request = {"path": scope["path"], "body": body}
    # firstresult hooks return one coroutine (pluggy does not await); the others a list of them
    await hook.auth(request=request)
    await each(hook.pre_call(request=request))
    target = await hook.route(request=request)
    status, payload = await hook.call(request=request, target=target)
    response = (status, payload)
    await each(hook.post_call(request=request, response=response))
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})
    await each(hook.log(request=request, response=response))


if __name__ == "__main__":
    serve(app, 18085)
