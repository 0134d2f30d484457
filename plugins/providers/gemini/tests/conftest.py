"""Fixtures: a local Gemini API server (``fake_gemini.py``) and gateways pointed at it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

# test modules import the fake server by name (pytest runs with --import-mode=importlib)
sys.path.insert(0, os.path.dirname(__file__))

from fake_gemini import FakeGemini, gemini_config


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
