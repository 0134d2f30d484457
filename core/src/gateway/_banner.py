"""What ``gateway`` prints once it listens: the operator's first sight of what runs.

The banner goes to stderr (stdout carries the JSON log lines a collector may parse).  It names
the plugins that take part in serving *this* config, not every one installed: a provider plugin
no deployment uses, a guardrail or sink type no entry names, or a plugin whose request hooks are
all switched off (``gateway.deactivate_hooks``) costs nothing and does nothing here.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from gateway._hooks import PerPlugin, call_startup_hook, ordered_impls
from gateway._registry import Registry

if TYPE_CHECKING:
    from gateway._gateway import Gateway

#: hooks called while serving requests: a plugin implementing one that is not switched off takes part
REQUEST_HOOKS = (
    "gateway_auth",
    "gateway_pre_call",
    "gateway_route",
    "gateway_call",
    "gateway_post_call",
    "gateway_log",
    "gateway_end_user_scope",
    "gateway_register_surfaces",
)


def _owners(gateway: Gateway, hook: str) -> Registry[object]:
    """Who registers what through a ``gateway_register_*`` hook (called again: start-up only, no I/O)."""
    registry: Registry[object] = Registry(hook)
    call_startup_hook(gateway.pm, hook, register=PerPlugin(registry.registrar), gateway=gateway)
    return registry


def active_plugins(gateway: Gateway) -> list[str]:
    """The installed (not built-in) plugins that take part in serving this gateway's config."""
    active: set[str] = set()
    for deployment in gateway.deployments:
        owner = gateway.providers.owner(deployment.provider)
        if owner is not None and deployment.unavailable is None:
            active.add(owner)
    wanted_guardrails = {entry.litellm_params.guardrail for entry in gateway.config.guardrails}
    if wanted_guardrails:
        types = _owners(gateway, "gateway_register_guardrails")
        active.update(owner for name in wanted_guardrails if (owner := types.owner(name)) is not None)
    sinks = gateway.state.get("sinks")
    running = getattr(sinks, "active", None) or {}
    if running:
        factories = _owners(gateway, "gateway_register_sinks")
        active.update(owner for name in running if (owner := factories.owner(name)) is not None)
    for hook in REQUEST_HOOKS:
        if not hasattr(gateway.pm.hook, hook):  # a hook a plugin declares (gateway_add_hookspecs), absent here
            continue
        for impl in ordered_impls(gateway.pm, hook):
            if (impl.plugin, hook) not in gateway.inactive_hooks:
                active.add(impl.plugin)
    return sorted(name for name in active if (record := gateway.pm.records.get(name)) and not record.builtin)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def database_line(gateway: Gateway) -> str:
    """The database the plugins keep data in, or why there is none (never its password)."""
    if not ordered_impls(gateway.pm, "gateway_register_migrations"):
        return "none (no installed plugin keeps data)"
    from gateway.storage._engine import database_url, safe_url

    url = database_url(gateway.config)
    if url.startswith("sqlite"):
        return f"SQLite {url.split(':///', 1)[1]}"
    return f"PostgreSQL {safe_url(url).replace('postgresql+asyncpg://', 'postgresql://', 1)}"


def redis_line(gateway: Gateway) -> str:
    from gateway._strategies.redis_state import redis_location

    location = redis_location(gateway.config.router_settings)
    if location is None:
        return "none (routing state, limits and health checks are per worker)"
    return _without_password(location[0])


def banner(gateway: Gateway, *, url: str, workers: int, config: str | None) -> str:
    from gateway import __version__

    models = list(gateway.router.groups)
    plugins = active_plugins(gateway)
    installed = sum(1 for r in gateway.pm.records.values() if not r.builtin and r.status == "loaded")
    idle = installed - len(plugins)
    plugin_text = ", ".join(plugins) or "none"
    if idle:
        plugin_text += f"  ({idle} more installed, inactive for this config: gateway plugins lists them)"
    lines = [
        f"gateway {__version__} listening on {url}" + (f" ({workers} workers)" if workers > 1 else ""),
        f"  config    {config or '(none)'}",
        f"  models    {', '.join(models) or 'none: add model_list entries to the config'}",
        f"  plugins   {plugin_text}",
        f"  database  {database_line(gateway)}",
        f"  redis     {redis_line(gateway)}",
        "  Ctrl+C to stop",
    ]
    return "\n".join(lines)


def print_banner(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
