"""Fixtures: a local Gemini API server (``gateway_gemini.testing``) and gateways pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gateway_gemini.testing import FakeGemini, gemini_config


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    server = FakeGemini().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(gemini: FakeGemini, gateway_factory: Any) -> Any:
    import gateway_gemini

    return gateway_factory(gemini_config(gemini), plugins=[gateway_gemini], load_entrypoints=False)


@pytest.fixture
def dropping_proxy(gemini: FakeGemini, gateway_factory: Any) -> Any:
    import gateway_gemini

    return gateway_factory(gemini_config(gemini, drop_params=True), plugins=[gateway_gemini], load_entrypoints=False)
