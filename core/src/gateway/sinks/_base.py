"""The ``Sink`` contract: what an observability plugin implements to receive log events.

A sink plugin registers a factory through ``gateway_register_sinks``; the sink framework (the
core builtin plugin ``sinks``) builds the sinks that ``litellm_settings.success_callback`` /
``failure_callback`` / ``callbacks`` name and feeds each one through its own bounded queue, in
batches, with retries and a counted drop policy (see :mod:`gateway.sinks._delivery`).  A sink only
has to turn a batch of payloads into its vendor's wire format and send it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import aiohttp

    from gateway._types import LogEvent


class DeliverySettings(BaseModel):
    """How events reach one sink; ``plugins.sinks.delivery.<sink name>`` overrides the defaults."""

    model_config = ConfigDict(extra="forbid")

    #: events waiting for this sink; beyond it new events are dropped and counted (``queue_full``)
    queue_size: int = Field(default=5000, gt=0, le=1_000_000)
    #: at most this many events per ``send_batch`` call
    batch_size: int = Field(default=100, gt=0, le=10_000)
    #: seconds a partial batch waits for more events before it is sent anyway
    flush_interval: float = Field(default=1.0, ge=0, le=300)
    #: attempts after the first failed one; then the batch is dropped and counted (``send_failed``)
    max_retries: int = Field(default=3, ge=0, le=20)
    #: first backoff in seconds; doubles per retry up to ``retry_backoff_max`` (with jitter)
    retry_backoff: float = Field(default=0.5, ge=0, le=60)
    retry_backoff_max: float = Field(default=10.0, ge=0, le=600)
    #: seconds one ``send_batch`` call may take before it counts as failed (a hanging endpoint)
    send_timeout: float = Field(default=10.0, gt=0, le=600)


class SinkError(Exception):
    """Raised by ``send_batch`` when delivery failed; ``retryable=False`` drops the batch at once.

    Any other exception (including timeouts) counts as retryable.  The message is logged, so it
    must never contain a credential.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Sink:
    """Base class for observability sinks.

    Override :meth:`send_batch`; optionally :meth:`prepare` (turn one finished request into the
    queued item, or ``None`` to skip it), :meth:`start` and :meth:`close`.  One instance per
    gateway; keep per-gateway state on the instance, never in module globals.
    """

    #: defaults for this sink's delivery, applied under the config's overrides
    default_delivery: ClassVar[dict[str, Any]] = {}
    #: True when the sink exports request messages and responses (streams are then captured)
    wants_content: ClassVar[bool] = True
    #: True for sinks that must see every finished request whichever list names them (metrics)
    receives_all: ClassVar[bool] = False

    #: the name the sink was enabled under (set by the framework before ``start``)
    name: str = ""
    #: the framework's HTTP session for sinks (separate from the upstream pool); set before ``start``
    session: aiohttp.ClientSession

    def prepare(self, payload: dict[str, Any], event: LogEvent) -> Any:
        """Turn one finished request into what gets queued (default: the payload itself).

        Runs in the log worker, off the request path, once per event and sink; keep it quick and
        never block.  ``payload`` is shared between sinks: do not mutate it.  ``event.ctx`` gives
        access to what the payload deliberately leaves out (per-request sink credentials in the
        request metadata, for instance).  Return ``None`` to queue nothing (a sink that only
        updates in-memory counters does its work here).
        """
        return payload

    async def start(self) -> None:
        """Open resources (runs in the gateway's lifespan, after ``session`` is set)."""

    async def send_batch(self, items: list[Any]) -> None:
        """Deliver a batch of prepared items; raise to have it retried (see :class:`SinkError`)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release resources, after the final flush."""
