"""Test helpers for the gateway and its plugins (a pytest plugin, entry point ``pytest11``).

* :func:`start_gateway` runs a real gateway (uvicorn, real sockets) in a background thread from a
  config dict and an explicit plugin list, so tests use the official ``openai`` SDK against it.
* :class:`FakeUpstream` is a local OpenAI-compatible server that records what it received and
  answers from a script (errors, hangs, broken streams), for provider behaviour.
* :func:`in_process_client` builds a gateway and an ``httpx.AsyncClient`` that calls its ASGI app
  in-process (lifespan included: plugins' ``gateway_lifespan`` runs, the log queue drains at the
  end), for fast tests that need no socket on the gateway's side.
* :func:`local_redis_cluster` starts a Redis Cluster (or Valkey cluster) of three masters on free
  ports for the duration of a ``with`` block (``redis-server --cluster-enabled yes``, ``redis-cli
  --cluster create``); it raises ``FileNotFoundError`` naming the missing binary.
* :func:`postgres_database` creates an empty PostgreSQL database on the test server (127.0.0.1:5432,
  or ``GATEWAY_TEST_POSTGRES``) and drops it afterwards; :func:`run_sql` runs one statement there.
* Fixtures: ``gateway_factory`` (start any number of gateways, all stopped at the end),
  ``gateway_client`` (:func:`in_process_client`), ``fake_upstream``, ``log_collector`` (collects
  ``gateway_log`` payloads) and ``server_logs`` (the gateway's own structured log lines).

Installed with the ``gateway`` distribution (entry point ``pytest11``), so a plugin's tests use
these fixtures without any import or ``conftest.py``.  Nothing here patches the gateway's own
code: traffic goes over real HTTP or through the real ASGI app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

from gateway.testing._cluster import local_redis_cluster
from gateway.testing._collectors import LogCollector, ServerLogs
from gateway.testing._databases import postgres_database, run_sql
from gateway.testing._servers import (
    LocalServer,
    RunningGateway,
    ServerThread,
    asgi_lifespan,
    free_port,
    in_process_client,
    start_gateway,
)
from gateway.testing._upstream import FakeUpstream, RecordedRequest, Reply

try:
    import pytest
except ImportError:  # pragma: no cover - the helpers above work without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def fake_upstream() -> Iterator[FakeUpstream]:
        """A started :class:`FakeUpstream` (``.base_url`` for ``api_base``), stopped after the test."""
        upstream = FakeUpstream().start()
        try:
            yield upstream
        finally:
            upstream.stop()

    @pytest.fixture
    def gateway_factory() -> Iterator[Callable[..., RunningGateway]]:
        """``gateway_factory(config, plugins=[...], load_entrypoints=...)`` -> a served gateway."""
        running: list[RunningGateway] = []

        def factory(config: dict[str, Any] | str | None = None, **kwargs: Any) -> RunningGateway:
            gw = start_gateway(config, **kwargs)
            running.append(gw)
            return gw

        try:
            yield factory
        finally:
            for gw in running:
                gw.stop()

    @pytest.fixture
    def gateway_client() -> Callable[..., Any]:
        """:func:`in_process_client`: ``async with gateway_client(config, plugins=[...]) as client``."""
        return in_process_client

    @pytest.fixture
    def log_collector() -> LogCollector:
        """A fresh :class:`LogCollector`; pass it in ``plugins=[...]`` and assert on its events."""
        return LogCollector()

    @pytest.fixture
    def server_logs() -> Iterator[ServerLogs]:
        """Every structlog line the gateway logs during the test (``plugin_failed``, ``log_hook_failed`` ...)."""
        import structlog

        from gateway._logs import access_log

        with structlog.testing.capture_logs() as captured:
            access_log.listeners.append(captured.append)
            try:
                # structlog types the lines as EventDict (a MutableMapping); with its default context_class they are dicts
                yield ServerLogs(cast("list[dict[str, Any]]", captured))
            finally:
                access_log.listeners.remove(captured.append)

    class _AsyncioOnly:
        """Registered at configure time, after anyio's plugin, so that this fixture is the one used."""

        @pytest.fixture(scope="module")
        def anyio_backend(self) -> str:
            """``@pytest.mark.anyio`` tests run on asyncio, the loop the gateway serves on: anyio's own
            fixture also runs them on trio whenever trio is installed (selenium installs it)."""
            return "asyncio"

    def pytest_configure(config: pytest.Config) -> None:
        config.pluginmanager.register(_AsyncioOnly(), "gateway-asyncio-only")

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(item: pytest.Item) -> None:
        """Write the access lines a test's gateways left queued while its output is still captured.

        Lines are written in batches a moment later (``gateway._logs.AccessLog``); a gateway that
        outlives its test's requests by less than that moment left them for the interpreter's exit,
        which printed them after pytest's summary (issue 21: hundreds of lines after it)."""
        from gateway._logs import access_log

        access_log.flush()


__all__ = [
    "local_redis_cluster",
    "start_gateway",
    "in_process_client",
    "RunningGateway",
    "FakeUpstream",
    "Reply",
    "RecordedRequest",
    "LogCollector",
    "ServerLogs",
    "free_port",
    "ServerThread",
    "LocalServer",
    "asgi_lifespan",
    "postgres_database",
    "run_sql",
]
