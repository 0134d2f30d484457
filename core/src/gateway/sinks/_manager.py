"""The per-gateway sink manager: which sinks run, their runners, counters and shared session."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from gateway._errors import ConfigError
from gateway._hooks import PerPlugin, call_startup_hook
from gateway._log_payload import PayloadOptions
from gateway._logs import get_logger
from gateway._registry import Registry
from gateway.sinks._base import DeliverySettings, Sink
from gateway.sinks._delivery import SinkRunner
from gateway.sinks._names import EnabledSink, enabled_sinks

if TYPE_CHECKING:
    import aiohttp

    from gateway._gateway import Gateway

log = get_logger("gateway.sinks")

SinkFactory = Callable[..., Sink]
#: seconds between two ``sink_dropping`` alerts for one sink
DROP_ALERT_INTERVAL = 60.0


class SinksConfig(BaseModel):
    """``plugins.sinks``: the sink framework's own settings."""

    model_config = ConfigDict(extra="forbid")

    #: one structured ``request`` log line per finished model request
    access_log: bool = True
    #: longest string exported to sinks; longer ones are cut with a marker
    max_string_chars: int = Field(default=32_768, ge=64, le=10_000_000)
    #: total characters of messages and response content per exported request
    max_content_chars: int = Field(default=262_144, ge=64, le=100_000_000)
    #: seconds the shutdown waits for queued events to be delivered
    flush_timeout: float = Field(default=5.0, ge=0, le=300)
    #: delivery defaults for every sink (only the keys given here override a sink's own defaults)
    delivery_defaults: DeliverySettings = Field(default_factory=DeliverySettings)
    #: per-sink delivery settings, by sink name
    delivery: dict[str, DeliverySettings] = Field(default_factory=dict)


@dataclass
class ActiveSink:
    sink: Sink
    enabled: EnabledSink
    runner: SinkRunner


class SinkManager:
    """Owns the enabled sinks of one gateway (``gateway.state["sinks"]``)."""

    def __init__(self, gateway: Gateway, config: SinksConfig) -> None:
        self.gateway = gateway
        self.config = config
        litellm = gateway.config.litellm_settings
        self.options = PayloadOptions(
            include_content=not litellm.turn_off_message_logging,
            redact_principal=bool(litellm.redact_user_api_key_info),
            max_string_chars=config.max_string_chars,
            max_content_chars=config.max_content_chars,
        )
        self.active: dict[str, ActiveSink] = {}
        self._drop_listeners: list[Callable[[str, str, int], None]] = []
        self._last_drop_alert: dict[str, float] = {}
        self.session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ building

    def build(self) -> None:
        """Collect registered factories and build the sinks the config names (start-up errors raise)."""
        factories: Registry[SinkFactory] = Registry("sink")
        call_startup_hook(
            self.gateway.pm, "gateway_register_sinks", register=PerPlugin(factories.registrar), gateway=self.gateway
        )
        problems = self.gateway.config.problems()
        for name, enabled in enabled_sinks(self.gateway, set(factories.names()), problems).items():
            plugin, factory = factories.owner(name) or "?", factories.get(name)
            assert factory is not None
            try:
                sink = factory(self.gateway)
            except ConfigError as exc:
                problems.add(enabled.path, f"sink {name!r} (plugin {plugin!r}) cannot start: {exc}")
                continue
            sink.name = name
            runner = SinkRunner(sink, self._delivery_for(name, sink), self._dropped)
            self.active[name] = ActiveSink(sink, enabled, runner)
        problems.raise_if_any()

    def _delivery_for(self, name: str, sink: Sink) -> DeliverySettings:
        merged: dict[str, Any] = dict(sink.default_delivery)
        merged.update(self.config.delivery_defaults.model_dump(exclude_unset=True))
        specific = self.config.delivery.get(name)
        if specific is not None:
            merged.update(specific.model_dump(exclude_unset=True))
        return DeliverySettings.model_validate(merged)

    @property
    def wants_content(self) -> bool:
        return self.options.include_content and any(a.sink.wants_content for a in self.active.values())

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        import aiohttp

        if not self.active:
            return
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64, ttl_dns_cache=300),
            # a sink endpoint that redirects is misconfigured: we never follow it with our credentials
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        )
        for active in self.active.values():
            active.sink.session = self.session
            try:
                await active.sink.start()
            except Exception as exc:  # one broken sink must not stop the gateway or the others
                log.error("sink_start_failed", sink=active.sink.name, error=f"{type(exc).__name__}: {exc}")
            active.runner.start()

    async def stop(self) -> None:
        deadline = time.monotonic() + self.config.flush_timeout
        for active in self.active.values():
            await active.runner.flush(deadline)
        for active in self.active.values():
            try:
                await active.sink.close()
            except Exception as exc:
                log.warning("sink_close_failed", sink=active.sink.name, error=f"{type(exc).__name__}: {exc}")
        if self.session is not None:
            await self.session.close()
            self.session = None

    # ------------------------------------------------------------------ drops

    def add_drop_listener(self, listener: Callable[[str, str, int], None]) -> None:
        """Call ``listener(sink_name, reason, count)`` whenever events are dropped (metrics)."""
        self._drop_listeners.append(listener)

    def _dropped(self, sink: str, reason: str, count: int) -> None:
        for listener in self._drop_listeners:
            try:
                listener(sink, reason, count)
            except Exception as exc:
                log.warning("sink_drop_listener_failed", error=f"{type(exc).__name__}: {exc}")
        now = time.monotonic()
        if now - self._last_drop_alert.get(sink, -DROP_ALERT_INTERVAL) >= DROP_ALERT_INTERVAL:
            self._last_drop_alert[sink] = now
            self.gateway.emit_alert(
                "sink_dropping",
                f"the {sink} sink is dropping log events ({reason}); check its endpoint",
                sink=sink,
                reason=reason,
            )

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per-sink counters: submitted, delivered, queued, sending, retries, dropped by reason."""
        return {name: active.runner.stats() for name, active in self.active.items()}
