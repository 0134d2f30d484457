"""The decisions behind general_settings.allowed_ips and allowed_routes, address by address and path
by path (the HTTP behaviour is tested end to end in tests/test_access_controls.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import ConfigError, Principal
from gateway._access import AccessPolicy, RoutePatterns
from gateway._config.schema import GeneralSettings

USER = Principal(id="u", kind="virtual_key")
ADMIN = Principal(id="a", kind="master", is_admin=True)


def policy(**general: object) -> AccessPolicy:
    return AccessPolicy(GeneralSettings.model_validate(general))


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.1.2.3", True),
        ("192.168.1.7", True),
        ("192.168.1.8", False),
        ("::ffff:10.9.9.9", True),  # an IPv4 client seen through a dual-stack socket
        ("2001:db8::1", True),
        ("2001:db9::1", False),
        ("fe80::1%eth0", False),
        ("not-an-address", False),
        (None, False),
    ],
)
def test_addresses_and_networks(address: str | None, allowed: bool) -> None:
    checked = policy(allowed_ips=["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"])
    assert checked.ip_allowed(address) is allowed
    assert checked.ip_allowed(address) is allowed  # the remembered answer is the same


def test_no_list_allows_everyone_and_an_empty_list_no_one() -> None:
    assert policy().ip_allowed(None)
    assert not policy(allowed_ips=[]).ip_allowed("127.0.0.1")


@pytest.mark.parametrize(
    ("entries", "path", "allowed"),
    [
        (["/chat/completions"], "/v1/chat/completions", True),
        (["/v1/chat/completions"], "/chat/completions", True),
        (["chat/completions"], "/v1/chat/completions/", True),
        (["/chat/completions"], "/v1/embeddings", False),
        (["/key/*"], "/key/info", True),
        (["/key/*"], "/keys", False),
        (["*"], "/anything/at/all", True),
        (["LiteLLMRoutes.info_routes.value"], "/key/info", True),
        (["info_routes"], "/key/generate", False),
        (["public_routes"], "/health/readiness", True),
        (["mapped_pass_through_routes"], "/anthropic/v1/messages", True),
    ],
)
def test_route_entries(entries: list[str], path: str, allowed: bool) -> None:
    assert RoutePatterns(entries).allows(path) is allowed


def test_model_groups_take_the_served_model_routes() -> None:
    routes = RoutePatterns(["openai_routes"])
    routes.bind_model_paths(["/v1/chat/completions", "/v1/messages", "/openai/deployments/{deployment}/embeddings"])
    assert routes.allows("/v1/chat/completions")
    assert routes.allows("/openai/deployments/my-gpt/embeddings")
    assert not routes.allows("/v1/messages")  # Anthropic's format is not an OpenAI route
    everything = RoutePatterns(["llm_api_routes"])
    everything.bind_model_paths(["/v1/messages"])
    assert everything.allows("/v1/messages") and everything.allows("/v1/messages/count_tokens")


def test_admins_are_not_limited_and_the_refusal_names_the_setting() -> None:
    checked = policy(allowed_routes=["/chat/completions"])
    checked.check_route(ADMIN, "/key/generate")
    checked.check_route(USER, "/chat/completions")
    with pytest.raises(Exception, match=r"general_settings\.allowed_routes") as refused:
        checked.check_route(USER, "/key/generate")
    assert getattr(refused.value, "status", None) == 403


def test_a_word_that_is_no_route_group_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="llm_api_routes"):
        RoutePatterns(["llm_routes"])


def test_an_empty_address_list_is_said_at_start_up(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("general_settings:\n  allowed_ips: []\n")
    env = {**os.environ, "GATEWAY_LOAD_PLUGINS": "openai"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", str(config)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "allowed_ips_empty" in done.stdout + done.stderr
