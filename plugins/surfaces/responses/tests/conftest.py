"""Fixtures: a mock model, an OpenAI-format upstream and the validating fake Anthropic server, behind
gateways that load only this plugin and the providers (through their entry points, as a user
install does), with the stored responses in a SQLite file of the test (PostgreSQL in the
two-worker test)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_anthropic.testing import FakeAnthropic

from gateway.testing import FakeUpstream, RunningGateway

sys.path.insert(0, str(Path(__file__).parent))  # the helper module next to this file

from responses_helpers import UPSTREAM_KEY, config


@pytest.fixture
def anthropic_server() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic(api_key=UPSTREAM_KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def start(
    gateway_factory: Callable[..., RunningGateway], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., RunningGateway]:
    monkeypatch.setenv("GATEWAY_LOAD_PLUGINS", "responses,mock,openai,anthropic")
    monkeypatch.delenv("DATABASE_URL", raising=False)

    def run(cfg: dict[str, Any], **kwargs: Any) -> RunningGateway:
        return gateway_factory(cfg, **kwargs)

    return run


@pytest.fixture
def gw(start: Callable[..., RunningGateway], sqlite_url: str, anthropic_server: FakeAnthropic,
       fake_upstream: FakeUpstream) -> RunningGateway:  # fmt: skip
    return start(config(sqlite_url, anthropic_server, fake_upstream))
