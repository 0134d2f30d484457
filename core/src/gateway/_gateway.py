"""The ``Gateway``: config, plugins, providers and router, assembled once per process.

Everything that can be decided at start-up is decided here, so the request path only looks
things up.  One ``Gateway`` owns one plugin manager (never a module global), which keeps tests
and embedded uses isolated from each other.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import ipaddress
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from gateway._access import AccessPolicy
from gateway._catalog import distribution_for
from gateway._config import ENV_PREFIX, ConfigProblems, GatewayConfig, load_config, report_validation_error
from gateway._config.keys import schema_paths, without_effect
from gateway._config.schema import LitellmParams, ModelEntry
from gateway._config.source import SourceMap
from gateway._defaults import deployment_defaults
from gateway._errors import BadRequestError, ConfigError, PluginError, ServiceUnavailableError
from gateway._hooks import PerPlugin, RequestHooks, acall_first, call_startup_hook, ordered_impls
from gateway._logdispatch import LogDispatcher
from gateway._logs import get_logger
from gateway._parallel import ParallelLimit
from gateway._plugins import PluginManager, env_list
from gateway._providers import ProviderRegistry
from gateway._registry import Registry
from gateway._request_flags import RequestFlags, deployment_flags
from gateway._router import Router
from gateway._strategies.redis_state import redis_location
from gateway._types import Alert, Deployment, Principal
from gateway._wildcards import WildcardMatch, is_wildcard, substitute
from gateway.upstream import UpstreamClient

log = get_logger("gateway")

COMMON_PARAMS = frozenset(LitellmParams.model_fields)
#: the master key's principal id: LiteLLM's, which ledgers and ``created_by`` fields show
MASTER_PRINCIPAL_ID = "litellm_proxy_master_key"
#: allocations between young-generation collections once serving (CPython's default is 700)
GC_THRESHOLD_YOUNG = 20_000


def _resolve_env(value: Any, path: tuple[str | int, ...], problems: ConfigProblems) -> Any:
    """``os.environ/VAR`` references in a runtime entry, read now (each worker reads its own environment)."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        var = value[len(ENV_PREFIX) :]
        if var in os.environ:
            return os.environ[var]
        problems.add(path, f"reads the environment variable {var}, which is not set on this gateway")
        return None
    if isinstance(value, dict):
        return {k: _resolve_env(v, (*path, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, (*path, i), problems) for i, v in enumerate(value)]
    return value


def _dumped(value: Any) -> Any:
    """A config section as plain data, to tell whether a reload changed it."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_dumped(v) for v in value]
    return value


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Gateway:
    """The assembled gateway.  Build it, then serve ``gateway.create_app(gateway)`` under an ASGI server."""

    def __init__(
        self,
        config: GatewayConfig | str | Path | dict[str, Any] | None = None,
        *,
        plugins: Iterable[Any] = (),
        load_entrypoints: bool = True,
        strict: bool | None = None,
        host: str = "127.0.0.1",
        allow_unauthenticated: bool | None = None,
    ) -> None:
        self.config = config if isinstance(config, GatewayConfig) else load_config(config)
        general = self.config.general_settings
        self.host = host
        #: per-plugin state that lives as long as this gateway: ``state[plugin_name]``
        self.state: dict[str, Any] = {}

        # ---- plugins
        self.pm = PluginManager()
        self.pm.load_builtins()
        strict = (
            strict
            if strict is not None
            else (general.strict_plugins or os.environ.get("GATEWAY_STRICT_PLUGINS") == "1")
        )
        disabled = set(env_list("GATEWAY_DISABLE_PLUGINS") or [])
        disabled |= {
            name
            for name, section in self.config.plugins.items()
            if isinstance(section, dict) and section.get("enabled") is False
        }
        if load_entrypoints:
            self.pm.load_entrypoints(strict=bool(strict), allow=env_list("GATEWAY_LOAD_PLUGINS"), block=disabled)
        self.pm.register_explicit(plugins)
        self.pm.finish()
        for record in self.pm.failed():
            log.error(
                "plugin_failed_to_import",
                plugin=record.name,
                distribution=record.distribution,
                error=(record.error or "").splitlines()[0],
            )

        problems = self.config.problems()
        self._plugin_configs: dict[str, Any] = {}
        self._validate_plugin_sections(problems)

        # ---- providers and deployments
        self.providers = ProviderRegistry()
        call_startup_hook(
            self.pm, "gateway_register_providers", register=PerPlugin(self.providers.registrar), gateway=self
        )
        self.providers.index_bare_models()
        #: (deployment id, provider prefix) pairs a wildcard deployment was validated for, with the
        #: reason when it failed (``model: "*"`` finds its provider per request; bounded by the prefixes)
        self._wildcard_checked: dict[tuple[str, str], str | None] = {}
        #: deployments answering LiteLLM's testing aids themselves (``mock_response``, ``mock_timeout``)
        self.deployment_flags: dict[str, RequestFlags] = {}
        #: deployments' default request parameters (``temperature`` ...), by deployment id
        self.deployment_defaults: dict[str, dict[str, Any]] = {}
        #: the deployments the config file defines (a reload replaces them)
        self.config_deployments = self._build_deployments(problems)
        #: every deployment served: the config's, then those added at runtime (``set_runtime_deployments``)
        self.deployments = list(self.config_deployments)
        #: deployments added at runtime, by the plugin that owns them (gateway-model-store: ``/model/new``)
        self._runtime_deployments: dict[str, list[Deployment]] = {}
        self._deployment_listeners: list[Callable[[], None]] = []
        #: the last failed reload of the config file (None once a reload succeeds): the running config
        #: stays, and ``/health/readiness/details`` shows this
        self.reload_error: str | None = None
        self.reloaded_at: float | None = None
        #: reload the config file on SIGHUP (set for served processes: ``app_from_environment``)
        self.reload_on_sighup = False
        problems.raise_if_any()
        for deployment in self.deployments:
            if deployment.unavailable is not None:
                log.warning(
                    "deployment_unavailable",
                    model_group=deployment.model_group,
                    model_id=deployment.id,
                    provider=deployment.provider,
                    reason=deployment.unavailable,
                )

        litellm = self.config.litellm_settings
        self.router = Router(
            self.deployments,
            self.config.router_settings,
            extra_fallbacks=litellm.fallbacks or [],
            concretize=self.wildcard_deployment,
        )
        for name in self.router.aliases.values():
            if not self.router.serves(name):  # a model group, or a name a wildcard group serves
                raise ConfigError(
                    f"router_settings.model_group_alias points at {name!r}, which no model_list entry defines"
                )
        self.num_retries = (
            self.config.router_settings.num_retries
            if self.config.router_settings.num_retries is not None
            else (litellm.num_retries if litellm.num_retries is not None else 2)
        )

        # ---- auth
        master = general.master_key
        self.master_key_bytes: bytes | None = master.encode() if master else None
        #: who a request authenticated with the master key is (the built-in master_key plugin answers it)
        self.master_principal = Principal(
            id=MASTER_PRINCIPAL_ID, kind="master", is_admin=True, key_hash=MASTER_PRINCIPAL_ID
        )
        #: who a request is when the gateway runs open (no credential needed)
        self.anonymous_principal = Principal(id="anonymous", kind="anonymous", is_admin=False)
        self.open_access = self._decide_open_access(allow_unauthenticated)

        # ---- plugin set-up
        #: write the one ``request`` access line per finished model request (the sinks plugin sets
        #: this from ``plugins.sinks.access_log`` in ``gateway_configure``)
        self.access_log = True
        self.single_worker_reasons: dict[str, str] = {}
        self.inactive_hooks: set[tuple[str, str]] = set()
        call_startup_hook(self.pm, "gateway_configure", gateway=self)

        # ---- request path
        self.hooks = RequestHooks(self.pm, self)
        self.upstream = UpstreamClient()
        self.log_dispatcher = LogDispatcher(
            self.hooks.log_impls,
            {"gateway": self},
            size=general.log_queue_size,
            timeout=general.log_hook_timeout,
        )
        self.alert_dispatcher = LogDispatcher(
            [
                i
                for i in ordered_impls(self.pm, "gateway_alert")
                if (i.plugin, "gateway_alert") not in self.inactive_hooks
            ],
            {"gateway": self},
            size=1000,
            timeout=general.log_hook_timeout,
            payload="alert",
        )
        #: the surfaces (wire formats) clients may speak, by name; filled when the app is built
        self.surfaces: Registry[Any] = Registry("surface")
        self.max_body_bytes = int(general.max_request_size_mb * 1024 * 1024)
        self.request_body_timeout = general.request_body_timeout
        self.shutting_down = False
        self.drop_params = litellm.drop_params
        #: allowed_ips, allowed_routes, enforce_user_param (checked by the request lifecycle)
        self.access = AccessPolicy(general)
        if general.allowed_ips == []:  # LiteLLM's meaning too, but rarely what was meant: say it
            log.warning("allowed_ips_empty", consequence="every request gets 403, except the load balancer's probes")
        #: global_max_parallel_requests: shared through the router's Redis when it has one
        self.parallel = ParallelLimit(general.global_max_parallel_requests, redis_location(self.config.router_settings))
        if general.global_max_parallel_requests is not None:
            say = log.info if self.parallel.shared else log.warning
            say("global_max_parallel_requests", cap=self.parallel.cap, scope=self.parallel.describe())
        #: ``(key, why)`` for each key the file sets that does nothing here: logged once, and printed
        #: by ``gateway check-config``
        self.keys_without_effect = without_effect(self.config.present, self._declared_config_keys())
        if self.keys_without_effect:
            log.warning("config_keys_without_effect", keys=dict(self.keys_without_effect))

    # ------------------------------------------------------------------ config helpers

    def _declared_config_keys(self) -> dict[str, str]:
        """Config key -> the loaded plugin that implements it (``gateway_config_keys``)."""
        known = set(schema_paths())
        declared: dict[str, str] = {}
        for plugin, keys in call_startup_hook(self.pm, "gateway_config_keys"):
            for key in keys or ():
                if key not in known:
                    raise PluginError(
                        f"plugin {plugin!r} declares the config key {key!r} (gateway_config_keys), which the "
                        "config schema does not have; declare dotted paths such as 'general_settings.master_key'"
                    )
                declared[key] = plugin
        return declared

    def _validate_plugin_sections(self, problems: ConfigProblems) -> None:
        models: dict[str, type[BaseModel]] = {}
        call_startup_hook(self.pm, "gateway_register_config", register=models.__setitem__)
        for name, section in self.config.plugins.items():
            path = ("plugins", name)
            record = self.pm.records.get(name)
            if record is None:
                known = [n for n, r in self.pm.records.items() if not r.builtin]
                problems.unknown_key(path, known)
                continue
            if record.status != "loaded":
                continue  # its failure is reported on its own
            section = dict(section or {})
            section.pop("enabled", None)
            model = models.get(name)
            if model is None:
                if section:
                    problems.add(path, f"plugin {name!r} takes no configuration; remove this section")
                continue
            try:
                self._plugin_configs[name] = model.model_validate(section)
            except ValidationError as exc:
                report_validation_error(exc, path, problems, model)
        for name, model in models.items():
            if name not in self._plugin_configs and name not in self.config.plugins:
                try:
                    self._plugin_configs[name] = model.model_validate({})
                except ValidationError as exc:
                    report_validation_error(exc, ("plugins", name), problems, model)

    def deactivate_hooks(self, plugin: str, *hooks: str) -> None:
        """Skip ``plugin``'s implementations of ``hooks`` for this gateway (call from ``gateway_configure``).

        A feature that is installed but not configured should cost nothing per request: its plugin
        deactivates its request hooks instead of returning early on every call.
        """
        self.inactive_hooks.update((plugin, hook) for hook in hooks)

    def require_single_worker(self, plugin: str, reason: str) -> None:
        """Refuse ``--workers N`` (N > 1): this plugin keeps shared state in process memory."""
        self.single_worker_reasons[plugin] = reason

    def plugin_config(self, name: str) -> Any:
        """The validated ``plugins.<name>`` section (its model's defaults when absent)."""
        return self._plugin_configs.get(name)

    def split_model(self, model: str) -> tuple[str, str] | None:
        """``litellm_params.model`` -> (provider prefix, the provider's model name), as LiteLLM reads
        it: a registered ``prefix/``, else a bare name a provider claims (``gpt-4o`` -> openai)."""
        prefix, slash, rest = model.partition("/")
        if slash and prefix in self.providers:
            return prefix, rest
        inferred = self.providers.infer(model)
        return (inferred, model) if inferred is not None else None

    def _why_unserved(self, model: str) -> str:
        """Why no installed plugin serves ``litellm_params.model``, and what to install."""
        prefix, slash, _ = model.partition("/")
        if not slash:
            return (
                f"no installed provider plugin claims the bare model name {model!r}; write it with its provider "
                f"(for example 'openai/{model}'; providers installed: {', '.join(self.providers.prefixes())})"
            )
        record = self.pm.records.get(prefix)
        if record is not None and record.status == "failed":
            return f"the plugin {prefix!r} is installed but failed to import ({(record.error or '').splitlines()[0]})"
        known = distribution_for("providers", prefix)
        install = f"pip install {known.name}" if known is not None else f"install a gateway plugin serving '{prefix}/'"
        return f"no installed plugin serves the provider {prefix!r}; {install}"

    def _build_deployments(
        self,
        problems: ConfigProblems,
        config: GatewayConfig | None = None,
        entries: Sequence[ModelEntry] | None = None,
        base: tuple[str, ...] = ("model_list",),
    ) -> list[Deployment]:
        """The deployments of ``entries`` (default: the config's ``model_list``); mistakes go to ``problems``."""
        deployments: list[Deployment] = []
        seen_ids: set[str] = set()
        settings = config or self.config
        default_timeout = settings.router_settings.timeout or settings.litellm_settings.request_timeout
        for index, entry in enumerate(settings.model_list if entries is None else entries):
            path: tuple[str | int, ...] = (*base, index, "litellm_params")
            params = entry.litellm_params
            unavailable: str | None = None
            named = params.custom_llm_provider
            if named:  # LiteLLM's explicit provider: the model name is the provider's as written
                prefix, model = named, params.model.removeprefix(f"{named}/")
                provider = self.providers.get(prefix)
                if provider is None:
                    unavailable = self._why_unserved(f"{named}/{model}")
            elif params.model == "*":  # every name: its provider is found per request
                prefix, model = "*", "*"
                provider = None
                # any provider may serve it: a key no provider reads is a typo
                known = COMMON_PARAMS.union(*(p.params for _, p in self.providers.items()))
                for key in sorted(set(params.model_extra or {}) - known):
                    problems.unknown_key((*path, key), sorted(known))
            elif (split := self.split_model(params.model)) is not None:
                prefix, model = split
                provider = self.providers.get(prefix)
            else:  # a provider no installed plugin serves: the deployment is unavailable, start-up goes on
                head, slash, rest = params.model.partition("/")
                prefix, model = (head, rest) if slash else ("", params.model)
                provider = None
                unavailable = self._why_unserved(params.model)
            if provider is not None:
                extras = set(params.model_extra or {})
                for key in sorted(extras - provider.params):
                    problems.unknown_key((*path, key), sorted(COMMON_PARAMS | provider.params))
                if is_wildcard(model) and not provider.wildcard_models:
                    unavailable = (
                        f"the provider {prefix!r} ({self.providers.owner(prefix)}) does not serve wildcard models; "
                        "list each model in model_list"
                    )
            data = params.model_dump(exclude_none=True)
            deployment_id = (
                entry.model_info.id
                or hashlib.sha256(
                    orjson.dumps({"n": entry.model_name, "p": data}, option=orjson.OPT_SORT_KEYS, default=str)
                ).hexdigest()[:16]
            )
            if deployment_id in seen_ids:
                problems.add(
                    (*base, index, "model_info", "id"), f"id {deployment_id!r} is used twice; ids must be unique"
                )
            seen_ids.add(deployment_id)
            weight = params.weight or params.rpm or params.tpm or 1
            deployment = Deployment(
                id=deployment_id,
                model_group=entry.model_name,
                provider=prefix,
                model=model,
                params=data,
                model_info=entry.model_info.model_dump(exclude_none=True),
                weight=float(weight),
                timeout=params.timeout or default_timeout,
                stream_timeout=params.stream_timeout
                or settings.router_settings.stream_timeout
                or params.timeout
                or default_timeout,
                unavailable=unavailable,
            )
            if provider is not None and unavailable is None:
                try:
                    provider.validate_deployment(deployment)
                except ValueError as exc:
                    problems.add(path, str(exc))
                    continue
            flags = deployment_flags(deployment, provider)
            if isinstance(flags, str):
                problems.add((*path, "mock_response"), flags)
            elif flags is not None:
                self.deployment_flags[deployment.id] = flags
            if (defaults := deployment_defaults(deployment.params)) is not None:
                self.deployment_defaults[deployment.id] = defaults
            deployments.append(deployment)
        return deployments

    # ------------------------------------------------------------------ deployments at runtime

    def config_defines(self, model_name: str) -> bool:
        """Whether the config file defines the model group ``model_name`` (the file wins on a clash)."""
        return any(d.model_group == model_name for d in self.config_deployments)

    def build_deployment(self, entry: Mapping[str, Any]) -> Deployment:
        """The deployment one ``model_list`` entry given at runtime describes (``/model/new``).

        Checked as the config file's entries are, and more strictly: a provider no installed plugin
        serves is refused here (in the file it only makes the deployment unavailable).  Raises
        :class:`BadRequestError` naming the field; nothing is served until
        :meth:`set_runtime_deployments` is given the result.
        """
        problems = ConfigProblems(SourceMap("model"))
        resolved = _resolve_env(dict(entry), (), problems)
        parsed: ModelEntry | None = None
        if not problems.messages:
            try:
                parsed = ModelEntry.model_validate(resolved)
            except ValidationError as exc:
                report_validation_error(exc, (), problems, ModelEntry)
        built = self._build_deployments(problems, entries=[parsed], base=()) if parsed is not None else []
        if problems.messages:
            message = problems.messages[0].removeprefix("model: ").removeprefix("[0].")
            field = message.partition(":")[0]
            raise BadRequestError(message, param=field if " " not in field else None)
        deployment = built[0]
        if deployment.unavailable is not None:
            raise BadRequestError(f"litellm_params.model: {deployment.unavailable}", param="litellm_params.model")
        return deployment

    def set_runtime_deployments(self, source: str, deployments: Sequence[Deployment]) -> None:
        """Serve ``deployments`` (built with :meth:`build_deployment`) as ``source``'s whole set,
        replacing what ``source`` set before; at once, on this worker.

        A plugin keeping models in a shared store calls this on every worker when the store changes.
        The config file wins on a clash: a deployment whose model group or id the file defines is
        left out (and logged).  Requests in flight keep the deployment they started on.
        """
        self._runtime_deployments[source] = list(deployments)
        self._apply_deployments()

    def add_deployments_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after the served deployments changed (a reload, a model added at runtime):
        for plugins that index deployments at start-up (prices, limits).  It runs on the event loop:
        keep it quick and synchronous."""
        self._deployment_listeners.append(callback)

    def _apply_deployments(self) -> None:
        merged = list(self.config_deployments)
        ids = {d.id for d in merged}
        groups = {d.model_group for d in merged}
        for source, deployments in self._runtime_deployments.items():
            for deployment in deployments:
                if deployment.id in ids or deployment.model_group in groups:
                    log.warning(
                        "runtime_deployment_shadowed",
                        source=source,
                        model_group=deployment.model_group,
                        model_id=deployment.id,
                        reason="the config file defines this model group or id, and the file wins",
                    )
                    continue
                ids.add(deployment.id)
                merged.append(deployment)
        self.deployments = merged
        self._wildcard_checked.clear()
        self.router.set_deployments(merged)
        for listener in self._deployment_listeners:
            try:
                listener()
            except Exception as exc:  # a plugin's index going stale must not stop the change
                log.error("deployments_listener_failed", listener=repr(listener), error=f"{type(exc).__name__}: {exc}")

    def reload_config(self) -> dict[str, Any]:
        """Re-read the config file and serve its ``model_list`` (``SIGHUP``, ``POST /config/reload``).

        On this worker, without awaiting: requests in flight finish on the deployments they hold.
        A file that cannot be read or is invalid changes nothing: the error is logged, kept in
        ``reload_error`` (``/health/readiness/details``) and returned.  Other sections are read
        at start-up only: the answer names those that changed (``restart_required``).
        """
        path = self.config.path
        if path is None:
            raise ConfigError("this gateway was not started from a config file: there is nothing to reload")
        try:
            config = load_config(path)
            problems = config.problems()
            deployments = self._build_deployments(problems, config=config)
            problems.raise_if_any()
        except (ConfigError, OSError, ValueError) as exc:
            self.reload_error = str(exc)
            log.error(
                "config_reload_failed",
                path=str(path),
                error=str(exc),
                consequence="the running config stays",
                pid=os.getpid(),
            )
            return {"status": "error", "path": str(path), "error": str(exc)}
        restart = [
            name
            for name in ("general_settings", "litellm_settings", "router_settings", "guardrails", "plugins")
            if _dumped(getattr(config, name)) != _dumped(getattr(self.config, name))
        ]
        self.config.model_list = config.model_list
        self.config_deployments = deployments
        self._apply_deployments()
        self.reload_error = None
        self.reloaded_at = time.time()
        groups = sorted({d.model_group for d in deployments})
        log.info("config_reloaded", path=str(path), deployments=len(deployments), model_groups=groups, pid=os.getpid())
        if restart:
            log.warning("config_reload_restart_required", sections=restart, consequence="read at start-up only")
        return {
            "status": "ok",
            "path": str(path),
            "deployments": len(deployments),
            "model_groups": groups,
            "restart_required": restart,
        }

    def wildcard_deployment(self, deployment: Deployment, match: WildcardMatch, requested: str) -> Deployment:
        """The deployment of a wildcard group that serves ``requested``: a copy with the model the
        pattern makes of it (same id: cooldowns, usage and prices stay the configured deployment's),
        its provider found per name when the config says ``model: "*"``."""
        model = substitute(deployment.model, match, requested)
        if deployment.provider != "*":
            return dataclasses.replace(deployment, model=model, model_group=requested)
        split = self.split_model(model)
        if split is None:
            raise BadRequestError(
                f"model {requested!r}: no installed provider plugin serves it through the wildcard model group "
                f"{match.group!r}; ask for '<provider>/<model>' (providers installed: "
                f"{', '.join(self.providers.prefixes())})",
                param="model",
                code="model_not_found",
            )
        prefix, name = split
        concrete = dataclasses.replace(deployment, provider=prefix, model=name, model_group=requested)
        key = (deployment.id, prefix)
        if key not in self._wildcard_checked:  # once per provider: what it builds does not depend on the model
            provider = self.providers.get(prefix)
            reason: str | None = None
            if provider is None or not provider.wildcard_models:
                reason = f"the provider {prefix!r} does not serve wildcard models; list the model in model_list"
            else:
                try:
                    provider.validate_deployment(concrete)
                except ValueError as exc:
                    reason = str(exc)
            self._wildcard_checked[key] = reason
        reason = self._wildcard_checked[key]
        if reason is not None:
            raise ServiceUnavailableError(
                f"model {requested!r} (through the wildcard model group {match.group!r}, provider {prefix!r}) cannot "
                f"be served: {reason}",
                code="deployment_unavailable",
                param="model",
            )
        return concrete

    def _decide_open_access(self, allow: bool | None) -> bool:
        if self.master_key_bytes is not None:
            return False
        auth_plugins = [i for i in ordered_impls(self.pm, "gateway_auth") if i.plugin != "master_key"]
        if auth_plugins:
            return False
        allowed = allow if allow is not None else self.config.general_settings.allow_unauthenticated
        if allowed or is_loopback(self.host):
            if not is_loopback(self.host):
                log.warning("running_without_authentication", host=self.host)
            return True
        raise ConfigError(
            f"refusing to serve on {self.host} without authentication: set general_settings.master_key "
            "(or LITELLM_MASTER_KEY / GATEWAY_MASTER_KEY), install an auth plugin such as gateway-virtual-keys, "
            "or pass --allow-unauthenticated if this network is trusted"
        )

    # ------------------------------------------------------------------ lifecycle

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Gateway]:
        """Open resources for serving (upstream pool, plugin lifespans, log workers); close them after."""
        async with AsyncExitStack() as stack:
            await self.upstream.start()
            stack.push_async_callback(self.upstream.close)
            await stack.enter_async_context(self.parallel.running())
            for _, manager in call_startup_hook(self.pm, "gateway_lifespan", gateway=self):
                if manager is not None:
                    await stack.enter_async_context(manager)
            for dispatcher in (self.log_dispatcher, self.alert_dispatcher):
                dispatcher.start()
                stack.push_async_callback(dispatcher.drain, self.config.general_settings.log_hook_timeout)
            self.shutting_down = False
            # everything built so far lives as long as the process: keep it out of the GC's scans;
            # and collect young objects less often: each request allocates hundreds of short-lived
            # containers, and at the default threshold their promotions triggered full collections
            # of 70-85 ms under load (measured with bench/run.sh: p99 80 ms -> 13 ms)
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_THRESHOLD_YOUNG, 20, 20)
            try:
                yield self
            finally:
                self.shutting_down = True

    async def call_first(self, hook_name: str, **kwargs: Any) -> Any:
        """Call a ``firstresult`` hook by name, outside the request path, awaiting async implementations.

        For hooks a plugin declares (``gateway_add_hookspecs``) and another calls when it is there:
        without the declaring plugin installed there is no answer, None.  Pass every argument by name.
        """
        return await acall_first(self.pm, hook_name, **kwargs)

    def emit_alert(self, kind: str, message: str, **details: Any) -> None:
        """Queue an operational alert for ``gateway_alert`` implementations (never blocks)."""
        log.warning("alert", kind=kind, alert=message, **details)
        self.alert_dispatcher.submit(Alert(kind, message, details))

    def model_names_for(self, principal: Principal | None) -> list[str]:
        names = list(self.router.groups) + [a for a in self.router.aliases]
        if principal is not None:
            names += [a for a in principal.aliases]
            if principal.models is not None:
                names = [n for n in names if principal.may_use(self.resolve_model(n, principal))]
        return sorted(dict.fromkeys(names))

    def resolve_model(self, name: str, principal: Principal | None) -> str:
        if principal is not None and name in principal.aliases:
            name = principal.aliases[name]
        return self.router.resolve_alias(name)

    def plugin_names(self) -> list[str]:
        return [name for name, rec in self.pm.records.items() if rec.status == "loaded"]
