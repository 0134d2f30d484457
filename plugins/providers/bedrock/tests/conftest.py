"""Fixtures: a local Bedrock Runtime (``gateway_bedrock.testing``) and gateways pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gateway_bedrock.testing import FakeBedrock, bedrock_config


@pytest.fixture(autouse=True)
def no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Tests never see the machine's AWS identity, and never wait on the instance metadata service."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_BEDROCK_RUNTIME_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


@pytest.fixture
def bedrock() -> Iterator[FakeBedrock]:
    server = FakeBedrock().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(bedrock: FakeBedrock, gateway_factory: Any) -> Any:
    import gateway_bedrock

    return gateway_factory(bedrock_config(bedrock), plugins=[gateway_bedrock], load_entrypoints=False)


@pytest.fixture
def dropping_proxy(bedrock: FakeBedrock, gateway_factory: Any) -> Any:
    import gateway_bedrock

    return gateway_factory(bedrock_config(bedrock, drop_params=True), plugins=[gateway_bedrock], load_entrypoints=False)
