"""The typed async facade over the request hooks.

pluggy calls implementations synchronously, so ``firstresult`` with ``async def`` implementations
would treat the coroutine object as the result.  This module takes pluggy's ordered list of
implementations once, when the gateway is built, and drives them itself: await each result,
stop at the first non-None one where the hook says so, and name the plugin when one fails.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import pluggy

from gateway._errors import GatewayError
from gateway._logs import get_logger, request_id_var
from gateway._unavailable import DependencyUnavailableError, is_unavailable

log = get_logger("gateway.hooks")

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._types import Deployment, LogEvent, Principal, RequestContext, ResponseBody


class PluginFailure(GatewayError):
    """A plugin raised something other than a ``GatewayError`` inside a request hook.

    The body names the plugin, the hook and the request, never the exception's text: that may
    quote request data, configuration or internal addresses.  The gateway's log has the detail
    (the ``plugin_failed`` line, with the traceback), found by the request id.
    """

    status = 500
    type = "plugin_error"

    def __init__(self, plugin: str, hook: str, exc: BaseException, request_id: str | None = None) -> None:
        request_id = request_id or request_id_var.get()
        serving = f" while serving request {request_id}" if request_id else ""
        super().__init__(
            f"plugin {plugin!r} failed in {hook}{serving}; the gateway's log has the details",
            extra={"plugin": plugin, "hook": hook},
        )
        self.plugin = plugin
        self.hook = hook
        #: the exception's class, for logs and metrics (its text stays in the log)
        self.cause = type(exc).__name__


class Impl:
    """One hook implementation, prepared once: its function, its argument names, its plugin.

    ``call(kwargs)`` picks the arguments the implementation asked for with a prebuilt getter, so
    the per-request cost is one C-level lookup rather than a Python loop.
    """

    __slots__ = ("function", "argnames", "plugin", "is_async", "_pick", "_arity")

    def __init__(self, function: Callable[..., Any], argnames: tuple[str, ...], plugin: str) -> None:
        self.function = function
        self.argnames = argnames
        self.plugin = plugin
        self.is_async = inspect.iscoroutinefunction(function)
        self._arity = len(argnames)
        self._pick = operator.itemgetter(*argnames) if argnames else None

    def call(self, kwargs: dict[str, Any]) -> Any:
        if self._arity == 0:
            return self.function()
        if self._arity == 1:
            return self.function(self._pick(kwargs))  # type: ignore[misc]
        return self.function(*self._pick(kwargs))  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<Impl {self.plugin}.{getattr(self.function, '__name__', '?')}>"


def ordered_impls(pm: pluggy.PluginManager, hook_name: str) -> list[Impl]:
    """pluggy's call order: last registered first, ``tryfirst`` before, ``trylast`` after."""
    caller = getattr(pm.hook, hook_name)
    return [Impl(impl.function, tuple(impl.argnames), impl.plugin_name) for impl in reversed(caller.get_hookimpls())]


def _start(impl: Impl, hook: str, kwargs: dict[str, Any]) -> Any:
    """Call an implementation; a sync one's result is final, an async one's must be awaited
    (see :func:`_awaited`).  Sync implementations thus cost no coroutine of ours."""
    try:
        return impl.call(kwargs)
    except GatewayError:
        raise
    except Exception as exc:
        raise log_plugin_failure(impl.plugin, hook, exc) from exc


def _needs_await(impl: Impl, result: Any) -> bool:
    # hasattr is ~10x cheaper than inspect.isawaitable; a sync implementation may still return one
    return impl.is_async or (result is not None and hasattr(result, "__await__"))


async def _awaited(impl: Impl, hook: str, awaitable: Any) -> Any:
    try:
        return await awaitable
    except GatewayError:
        raise
    except Exception as exc:
        raise log_plugin_failure(impl.plugin, hook, exc) from exc


async def _invoke(impl: Impl, hook: str, kwargs: dict[str, Any]) -> Any:
    result = _start(impl, hook, kwargs)
    if _needs_await(impl, result):
        return await _awaited(impl, hook, result)
    return result


def log_plugin_failure(plugin: str, hook: str, exc: Exception) -> GatewayError:
    if is_unavailable(exc):  # its database or cache is down or too slow: 503, not a bug
        log.warning("dependency_unavailable", plugin=plugin, hook=hook, error=f"{type(exc).__name__}: {exc}")
        return DependencyUnavailableError(f"plugin {plugin!r} ({hook})", request_id_var.get())
    log.error("plugin_failed", plugin=plugin, hook=hook, error=f"{type(exc).__name__}: {exc}", exc_info=exc)
    return PluginFailure(plugin, hook, exc)


async def _guard_chunks(chunks: AsyncIterator[Any], plugin: str) -> AsyncIterator[Any]:
    """Name the plugin whose stream wrapper fails mid-stream, as for any other hook failure."""
    try:
        async for chunk in chunks:
            yield chunk
    except GatewayError:
        raise
    except Exception as exc:
        raise log_plugin_failure(plugin, "gateway_post_call", exc) from exc


class RequestHooks:
    """One async method per request hook; built once per gateway."""

    def __init__(self, pm: pluggy.PluginManager, gateway: Gateway) -> None:
        self.gateway = gateway

        def active(hook: str) -> list[Impl]:
            return [i for i in ordered_impls(pm, hook) if (i.plugin, hook) not in gateway.inactive_hooks]

        self.auth_impls = active("gateway_auth")
        self.pre_call_impls = active("gateway_pre_call")
        self.route_impls = active("gateway_route")
        self.call_impls = active("gateway_call")
        self.post_call_impls = active("gateway_post_call")
        self.log_impls = active("gateway_log")
        #: decided once: when every implementation is a plain function, the lifecycle calls
        #: :meth:`auth_now` / :meth:`route_now` and creates no coroutine for these hooks
        self.auth_sync = not any(impl.is_async for impl in self.auth_impls)
        self.route_sync = not any(impl.is_async for impl in self.route_impls)
        #: the ``gateway_call`` implementation when there is exactly one (the provider dispatch, a plain
        #: function returning the provider's coroutine, when no plugin such as a response cache adds
        #: one): the retry loop calls it directly, without the coroutine of :meth:`call`
        self.call_single = self.call_impls[0] if len(self.call_impls) == 1 else None

    def auth_now(self, ctx: RequestContext, api_key: str | None) -> Any:
        """``gateway_auth``: the principal (or None) at once when :attr:`auth_sync`, else an
        awaitable of it (so does a plain implementation that returned one)."""
        if not self.auth_sync:
            return self.auth(ctx, api_key)
        return self._first_now(
            "gateway_auth", self.auth_impls, {"ctx": ctx, "api_key": api_key, "gateway": self.gateway}
        )

    def route_now(self, ctx: RequestContext) -> Any:
        """``gateway_route`` as :meth:`auth_now` does ``gateway_auth``."""
        if not self.route_sync:
            return self.route(ctx)
        return self._first_now("gateway_route", self.route_impls, {"ctx": ctx, "gateway": self.gateway})

    def _first_now(self, hook: str, impls: list[Impl], kwargs: dict[str, Any]) -> Any:
        for impl in impls:
            result = _start(impl, hook, kwargs)
            if result is not None:
                if hasattr(result, "__await__"):  # a plain function may still return an awaitable
                    return self._first_rest(hook, impl, result, impls[impls.index(impl) + 1 :], kwargs)
                return result
        return None

    async def _first_rest(self, hook: str, impl: Impl, awaitable: Any, rest: list[Impl], kwargs: dict[str, Any]) -> Any:
        result = await _awaited(impl, hook, awaitable)
        if result is not None:
            return result
        for impl in rest:
            result = await _invoke(impl, hook, kwargs)
            if result is not None:
                return result
        return None

    async def auth(self, ctx: RequestContext, api_key: str | None) -> Principal | None:
        kwargs = {"ctx": ctx, "api_key": api_key, "gateway": self.gateway}
        for impl in self.auth_impls:
            result = _start(impl, "gateway_auth", kwargs)
            if _needs_await(impl, result):
                result = await _awaited(impl, "gateway_auth", result)
            if result is not None:
                principal: Principal = result  # what the hookspec promises (pluggy's results are untyped)
                return principal
        return None

    async def pre_call(self, ctx: RequestContext) -> None:
        if not self.pre_call_impls:
            return
        kwargs = {"ctx": ctx, "gateway": self.gateway}
        for impl in self.pre_call_impls:
            result = _start(impl, "gateway_pre_call", kwargs)
            if _needs_await(impl, result):
                await _awaited(impl, "gateway_pre_call", result)

    async def route(self, ctx: RequestContext) -> list[Deployment] | None:
        kwargs = {"ctx": ctx, "gateway": self.gateway}
        for impl in self.route_impls:
            result = _start(impl, "gateway_route", kwargs)
            if _needs_await(impl, result):
                result = await _awaited(impl, "gateway_route", result)
            if result is not None:
                deployments: list[Deployment] = result  # as the hookspec promises
                return deployments
        return None

    async def call(self, ctx: RequestContext, deployment: Deployment) -> ResponseBody | None:
        kwargs = {"ctx": ctx, "deployment": deployment, "gateway": self.gateway}
        for impl in self.call_impls:
            # provider errors (UpstreamError) pass through untouched: they are GatewayErrors
            result = _start(impl, "gateway_call", kwargs)
            if _needs_await(impl, result):
                try:  # _awaited, inlined: every request passes here, through an async provider
                    result = await result
                except GatewayError:
                    raise
                except Exception as exc:
                    raise log_plugin_failure(impl.plugin, "gateway_call", exc) from exc
            if result is not None:
                response: ResponseBody = result  # as the hookspec promises
                return response
        return None

    async def post_call(self, ctx: RequestContext, response: ResponseBody) -> None:
        if not self.post_call_impls:
            return
        kwargs = {"ctx": ctx, "response": response, "gateway": self.gateway}
        for impl in self.post_call_impls:
            before = getattr(response, "chunks", None)
            result = _start(impl, "gateway_post_call", kwargs)
            if _needs_await(impl, result):
                await _awaited(impl, "gateway_post_call", result)
            if before is not None and response.chunks is not before:  # type: ignore[union-attr]
                response.chunks = _guard_chunks(response.chunks, impl.plugin)  # type: ignore[union-attr]
                response.rewritten = True  # type: ignore[union-attr]

    def log_kwargs(self, event: LogEvent) -> dict[str, Any]:
        return {"event": event, "gateway": self.gateway}


def call_startup_hook(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call a start-up hook on every plugin in order; return ``(plugin, result)`` pairs.

    ``kwargs`` may hold per-plugin factories: a value that is a ``PerPlugin`` is called with the
    plugin's name (so ``register`` callbacks know who registers).
    """
    results = []
    for impl in ordered_impls(pm, hook_name):
        args = {k: (v(impl.plugin) if isinstance(v, PerPlugin) else v) for k, v in kwargs.items()}
        results.append((impl.plugin, impl.call(args)))
    return results


class PerPlugin:
    """Wraps ``factory(plugin_name)`` for :func:`call_startup_hook`."""

    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[str], Any]) -> None:
        self.factory = factory

    def __call__(self, plugin: str) -> Any:
        return self.factory(plugin)


async def acall_first(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> Any:
    """Call a ``firstresult`` hook outside the request path, awaiting async implementations.

    A hook that no registered plugin declares (its owner, which adds it with
    ``gateway_add_hookspecs``, is not installed) has no answer: None.
    """
    if getattr(pm.hook, hook_name, None) is None:
        return None
    for impl in ordered_impls(pm, hook_name):
        result = await _invoke(impl, hook_name, kwargs)
        if result is not None:
            return result
    return None
