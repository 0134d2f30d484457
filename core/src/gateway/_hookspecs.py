"""Hook specifications: the whole plugin contract of the gateway's core.

A hook that only plugins use is declared by the plugin that owns it, not here (see
``gateway_add_hookspecs``).  Every hook name starts with ``gateway_`` so tracebacks and ``grep``
are unambiguous.  An
implementation may accept any subset of a hook's arguments (pluggy's opt-in arguments) and must
not give its parameters default values.

Request-path hooks (``auth``, ``pre_call``, ``route``, ``call``, ``post_call``) may be ``async
def`` or plain functions.  The kernel calls them itself, in pluggy's order (last registered first;
``tryfirst``/``trylast`` move an implementation to the front or back), awaiting each result, so
"first result wins" works with ``async def``.  Wrappers (``wrapper=True``/``hookwrapper=True``)
are refused on these hooks because they cannot see asynchronous work.

A plain function runs on the event loop: do I/O only in ``async def`` implementations.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from gateway._gateway import Gateway
    from gateway._plugins import PluginManager
    from gateway._types import Alert, Deployment, LogEvent, Principal, RequestContext, ResponseBody

PROJECT = "gateway"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: hooks on the request path; the kernel drives them (see module docstring)
REQUEST_HOOKS = (
    "gateway_auth",
    "gateway_pre_call",
    "gateway_route",
    "gateway_call",
    "gateway_post_call",
    "gateway_log",
)


# --------------------------------------------------------------------------- start-up hooks


@hookspec(historic=True)
def gateway_add_hookspecs(pluginmanager: PluginManager) -> None:
    """Declare the hooks this plugin owns, for other plugins to implement or call.

    A hook that only plugins use belongs to the plugin that owns it, not to core (as
    ``pytest_addhooks`` in pytest): put ``@hookspec`` functions (``from gateway import hookspec``)
    in a module of your package and call ``pluginmanager.add_hookspecs(that_module)``.  gateway-spend
    declares ``gateway_get_spend`` this way.  Plugins that call such a hook must work when its owner
    is not installed: ``await gateway.call_first(<hook>, ...)`` on a hook nobody declared returns None.

    Called once for every plugin, as it is registered (pluggy's *historic* call), before any other
    hook; the order in which plugins are registered does not matter.  Declaring a hook that another
    plugin already declared is a start-up error naming both.
    """


@hookspec
def gateway_register_providers(register: Callable[..., None], gateway: Gateway) -> None:
    """Register provider implementations, once, at start-up.

    Call ``register(prefix, provider)`` for every ``litellm_params.model`` prefix the plugin
    serves (``openai`` serves ``openai/gpt-4o``).  ``provider`` is an object implementing
    :class:`gateway.Provider`.  Dispatch is a dictionary lookup by prefix; two plugins
    registering the same prefix is a start-up error naming both.

    :param register: ``register(prefix: str, provider: Provider) -> None``
    :param gateway: the gateway being built (config is loaded, nothing is running yet)

    Called for every plugin; return values are ignored.
    """


@hookspec
def gateway_register_surfaces(register: Callable[..., None], gateway: Gateway) -> None:
    """Register surfaces: wire formats clients speak on model routes.

    Call ``register(surface)`` with a :class:`gateway.surfaces.Surface`: a codec that decodes a
    request body into the typed request and encodes answers, streams and errors in its format,
    for the POST paths it names.  The kernel serves those paths with its one request lifecycle
    (authentication, the bounded body, the request hooks, recording), so a surface never owns
    control flow.  Two surfaces claiming one path, or one name, is a start-up error naming both
    plugins.  Core registers OpenAI's chat completions, completions and embeddings.

    Called for every plugin, once, when the app is built.
    """


@hookspec
def gateway_register_config(register: Callable[..., None]) -> None:
    """Declare the plugin's config section under ``plugins:`` in the YAML file.

    Call ``register(name, model)`` with the plugin's entry-point name and a pydantic model
    (``extra="forbid"`` recommended).  The section ``plugins.<name>`` is validated against the
    model at start-up; a mistake there is reported with the key, its line and the fix.  The
    validated object is then available as ``gateway.plugin_config(name)``.

    Called for every plugin, before the config file is validated.
    """


@hookspec
def gateway_config_keys() -> list[str] | None:
    """Declare the config keys outside ``plugins.<name>`` that this plugin implements.

    Return dotted paths of keys the schema knows, ``[]`` marking a list's entries:
    ``["general_settings.disable_spend_logs", "model_list[].model_info.base_model"]``.  A key a file
    sets that neither core nor a loaded plugin implements is reported at start-up and by ``gateway
    check-config`` as having no effect (naming the plugin to install when the catalogue knows one),
    so a plugin that reads a LiteLLM key declares it here.  A path the schema does not know is a
    start-up error naming the plugin.

    Called for every plugin, once, at start-up; the lists are joined.
    """


@hookspec
def gateway_configure(gateway: Gateway) -> None:
    """Set the plugin up for this gateway, once, after the config was validated.

    Read ``gateway.plugin_config(name)`` and ``gateway.config``, build objects and keep them in
    ``gateway.state[<plugin name>]`` (never in module globals: one process may hold several
    gateways, as tests do).  No I/O here: open connections in ``gateway_lifespan``.  A plugin whose
    state lives in process memory calls ``gateway.require_single_worker(name, reason)`` so that
    ``--workers N`` is refused instead of silently multiplying limits.  A plugin installed but not
    configured calls ``gateway.deactivate_hooks(name, "gateway_pre_call", ...)`` so it costs nothing
    per request.  Raise
    :class:`gateway.ConfigError` for a mistake the config check could not see.

    Called for every plugin, in plugin order.
    """


@hookspec
def gateway_register_routes(gateway: Gateway) -> list[Any] | None:
    """Return Starlette routes (``starlette.routing.Route`` / ``Mount``) to add to the app.

    Used for admin APIs (``/key/generate``) and extra endpoints (``/metrics``).  A route whose path
    and method collide with a core route or another plugin's route is a start-up error: plugins
    never silently take over ``/v1/chat/completions``.

    Called for every plugin once, when the app is built; the lists are concatenated.
    """


@hookspec
def gateway_lifespan(gateway: Gateway) -> AbstractAsyncContextManager[None] | None:
    """Return an async context manager that opens the plugin's resources and closes them.

    Entered in plugin order when a worker starts (before the first request is served) and exited
    in reverse order at shutdown, after in-flight requests finished and the log queue drained.
    Open pools, engines and background tasks here, not at import time.

    Called for every plugin; ``None`` results are skipped.
    """


# --------------------------------------------------------------------------- request hooks


@hookspec(firstresult=True)
def gateway_auth(ctx: RequestContext, api_key: str | None, gateway: Gateway) -> Principal | None:
    """Decide who is calling.

    ``api_key`` is the credential from ``Authorization: Bearer``, ``x-api-key``,
    ``x-litellm-api-key``, ``api-key`` or ``x-goog-api-key`` (``None`` when absent).

    **First non-None result wins.**  Return ``None`` when the credential is not yours to judge.
    When you recognise a credential but refuse it (expired, blocked, unknown key of your format),
    raise :class:`gateway.AuthenticationError`: the request fails at once (fail closed),
    even if a later plugin would have accepted it.  No principal from any plugin means 401.

    Also called for admin routes (``ctx.endpoint`` is then the route path).
    """


@hookspec
def gateway_pre_call(ctx: RequestContext, gateway: Gateway) -> None:
    """Inspect or rewrite the request before routing.

    **Every implementation is called, in order**, each seeing the changes of the ones before
    (``ctx.body`` is mutable).  Raise a :class:`gateway.GatewayError` to stop the request
    with that status and body (a budget check raises ``BudgetExceededError``, a guardrail
    ``BadRequestError``).  ``ctx.principal`` is set; ``ctx.deployment`` is not yet.

    Return values are ignored.
    """


@hookspec(firstresult=True)
def gateway_route(ctx: RequestContext, gateway: Gateway) -> list[Deployment] | None:
    """Choose the deployments that may serve this request, in order of preference.

    **First non-None result wins.**  The kernel's default router (``trylast``) returns a
    :class:`gateway.routing.RoutePlan`: ``ctx.model_group``'s healthy deployments in the configured
    strategy's order; when the whole group fails, :mod:`gateway._retries` plans the fallback groups
    for that kind of error (``fallbacks``, ``context_window_fallbacks``,
    ``content_policy_fallbacks``) itself.  A router plugin (the complexity router) may set
    ``ctx.model_group`` and return ``None`` to let the default router plan that group, or return
    its own plain list, which is tried in order with retries on connection errors, 429 and 5xx.
    """


@hookspec(firstresult=True)
def gateway_call(ctx: RequestContext, deployment: Deployment, gateway: Gateway) -> ResponseBody | None:
    """Make the upstream call for one attempt on ``deployment``.

    **First non-None result wins.**  The kernel's own implementation (``trylast``) dispatches to
    the provider registered for ``deployment.provider``.  A cache can answer first by returning a
    response.  Raise :class:`gateway.UpstreamError` for a failed attempt: the kernel then
    retries the next deployment when the error is retryable.

    Return a :class:`gateway.JSONResponseBody` or, when ``ctx.stream`` is true, a
    :class:`gateway.StreamResponseBody`.
    """


@hookspec
def gateway_post_call(ctx: RequestContext, response: ResponseBody, gateway: Gateway) -> None:
    """See or change the response before the client gets it.

    **Every implementation is called, in order.**

    * Non-streaming: ``response.data`` is the OpenAI-format body; change it in place and call
      ``response.changed()``, or assign ``response.data``.  Raise a ``GatewayError`` to answer with
      an error instead.
    * Streaming: called once before the first chunk is sent.  To see each chunk, replace
      ``response.chunks`` with an async generator that iterates the old one; code after its loop
      runs at the end of the stream.  An exception raised there ends the stream with an error event.

    ``ctx.usage`` is filled for non-streaming responses (for streams, at the end).
    """


@hookspec
def gateway_log(event: LogEvent, gateway: Gateway) -> None:
    """Receive the finished request, after the client has its answer.

    **Every implementation is called**, off the request path, from a bounded background queue:
    an implementation can never fail, delay or change a request.  Exceptions are logged with the
    plugin's name; an implementation that takes longer than ``log_hook_timeout`` seconds is
    cancelled.  Both plain and ``async def`` implementations are accepted; do not block.

    Keep the work small; a sink with remote I/O should queue and batch on its own.
    """


# --------------------------------------------------------------------------- feature registries
# Start-up hooks through which feature plugins plug into core mechanisms.  Each takes a
# ``register`` callback; the mechanism in core owns the registry and reports duplicates.


@hookspec
def gateway_register_routing_strategies(register: Callable[..., None], gateway: Gateway) -> None:
    """Register routing strategies selectable by ``router_settings.routing_strategy``.

    Call ``register(name, factory)``; ``factory(settings, gateway)`` (``settings`` is
    ``router_settings``) returns an object with the :class:`gateway.routing.RoutingStrategy`
    interface and is called only for the configured name, once, at start-up:

    * ``order(ctx, deployments) -> list[Deployment]``: the model group's healthy deployments (not
      cooling down) for this request, best first; drop the ones that cannot take it, or raise
      :class:`gateway.RateLimitError` when none can.  Plain and fast: it runs per request.
    * optional ``on_start(ctx, deployment)``, then exactly one of ``on_success(ctx, deployment,
      result)`` / ``on_failure(ctx, deployment, result)`` around every attempt (``result`` is a
      :class:`gateway.routing.AttemptResult`; for a stream, when it ends), for statistics.  Keep
      them in ``gateway.router.state`` (per-minute counters, gauges, samples) so that they are
      shared through Redis when Redis is configured.  A callback that raises is logged, never
      fails a request.

    The kernel registers its own (``simple-shuffle``, ``least-busy``, ``latency-based-routing``,
    ``usage-based-routing`` and ``-v2``, ``cost-based-routing``) through this hook;
    :class:`gateway.routing.Strategy` is a base class to start from.  An unknown name is a
    start-up error listing the known ones; two plugins registering one name is a start-up error
    naming both.  Called for every plugin, once, before other plugins' ``gateway_configure``.
    """


@hookspec
def gateway_register_guardrails(register: Callable[..., None], gateway: Gateway) -> None:
    """Register guardrail types usable as ``guardrails[].litellm_params.guardrail``.

    Call ``register(type_name, factory)`` (``presidio``, ``lakera`` ...), where ``factory`` is
    usually a subclass of :class:`gateway.guardrails.Guardrail`.  For every ``guardrails:`` entry of
    that type the framework (``gateway.guardrails``) validates the common keys (``mode``,
    ``default_on``, ``timeout``, ``on_error`` ...) and the provider-specific keys against
    ``factory.params_model`` (a pydantic model; mistakes are reported with their line), then
    builds the guardrail with ``factory(spec, gateway)`` (``spec``: a
    :class:`gateway.guardrails.GuardrailSpec`).  A ``ValueError`` raised by the factory becomes a
    start-up error naming the entry.  Two plugins registering one type name is a start-up error.
    Called for every plugin, once, at start-up.
    """


@hookspec
def gateway_register_sinks(register: Callable[..., None], gateway: Gateway) -> None:
    """Register observability sinks enabled by name in ``litellm_settings.callbacks`` /
    ``success_callback`` / ``failure_callback`` (or ``general_settings.alerting``).

    Call ``register(name, factory)`` (``langfuse``, ``prometheus`` ...; LiteLLM's names);
    ``factory(gateway)`` returns a :class:`gateway.sinks.Sink` and is called only when the config
    names the sink, once, at start-up (raise :class:`gateway.ConfigError` for a missing
    setting: the message is reported with the list entry and its line).  The sink framework (the
    core builtin ``sinks``) delivers each finished request's payload (``docs/log-event.md``) to
    every enabled sink off the request path: a bounded queue per sink, batches, retries with
    backoff, counted drops, a flush at shutdown.  ``success_callback`` sinks get requests with
    status < 400, ``failure_callback`` sinks the others, ``callbacks`` sinks all.  A name no plugin
    registers is a start-up error; two plugins registering one name is a start-up error.

    Called for every plugin, once, while the framework is configured.
    """


@hookspec
def gateway_register_migrations(register: Callable[..., None], gateway: Gateway) -> None:
    """Register the plugin's SQL schema migrations (Alembic), run by ``gateway db upgrade``.

    Call ``register(name, script_location)``: ``name`` is usually the plugin's entry-point name;
    ``script_location`` is ``"<package>:<directory>"`` or an absolute path to a directory holding
    ``versions/*.py`` Alembic revision files (no ``env.py`` needed).  Each name gets its own version
    table (``gateway_alembic_<name>``), so plugins upgrade independently.  Pending additive
    revisions are applied at start-up when a plugin opens the store (``gateway.storage.open_storage``);
    a revision module that sets ``destructive = True`` (or drops tables/columns) is only applied by
    ``gateway db upgrade --allow-destructive``.  See :mod:`gateway.storage`.

    Called for every plugin, once, when the store is first opened (or by ``gateway db``).
    """


@hookspec
def gateway_alert(alert: Alert, gateway: Gateway) -> None:
    """Receive an operational alert: a deployment entered cooldown, a budget crossed its soft limit ...

    Emitted with ``gateway.emit_alert(kind, message, **details)`` by core and plugins.  **Every
    implementation is called**, off the request path, through the same bounded background queues
    as ``gateway_log`` (failures are logged with the plugin name, never raised).
    """
