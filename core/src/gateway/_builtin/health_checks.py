"""Starts and stops the live health checks (``gateway.http._health_checks``) with the gateway:
opens their Redis link and runs ``background_health_checks`` when the config asks for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from gateway._hookspecs import hookimpl
from gateway.http._health_checks import HealthChecks, health_checks

if TYPE_CHECKING:
    from gateway._gateway import Gateway


@hookimpl
def gateway_lifespan(gateway: Gateway) -> AbstractAsyncContextManager[None] | None:
    return _running(health_checks(gateway))


@asynccontextmanager
async def _running(checks: HealthChecks) -> AsyncIterator[Any]:
    await checks.start()
    try:
        yield
    finally:
        await checks.stop()
