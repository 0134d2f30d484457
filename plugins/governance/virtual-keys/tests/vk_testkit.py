"""Helpers shared by this plugin's tests (imported by conftest.py, which puts this folder on sys.path)."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import gateway_virtual_keys
import httpx

from gateway import JSONResponseBody, Provider, fake_openai, hookimpl, hookspec
from gateway.guardrails import Guardrail, GuardrailResult
from gateway.testing import RunningGateway, start_gateway

MASTER = "sk-master-for-tests-0123456789abcdef"
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet")


class EchoProvider(Provider):
    """Answers chat requests like a tiny deterministic model (no network)."""

    async def chat(self, ctx: Any, deployment: Any, gateway: Any) -> JSONResponseBody:
        prompt = fake_openai.request_prompt_tokens(ctx.request)
        return JSONResponseBody(
            data=fake_openai.chat_completion(deployment.model_group, "Hello from echo", prompt=prompt)
        )


class EchoProviderPlugin:
    gateway_plugin_name = "echo_provider"

    @hookimpl
    def gateway_register_providers(self, register: Any) -> None:
        register("echo", EchoProvider())


@hookspec(firstresult=True)
def _enforced_limits_spec(gateway: Any) -> Any:
    """gateway-spend's ``gateway_enforced_limits``, same signature (declared by the stand-in below)."""


#: declared by the stand-in when gateway-spend is not installed, as the hook's page says a plugin
#: that enforces limits on its own does
ENFORCED_LIMITS_SPEC = SimpleNamespace(gateway_enforced_limits=_enforced_limits_spec)


class EnforcerStandIn:
    """Says that budgets and limits are enforced, as gateway-spend does, so that these tests of
    storage, answers and permissions may set them: this plugin's tests run with core and this plugin
    only.  Enforcement itself is gateway-spend's (its tests, and ``tests/test_governance_flow.py``);
    the refusal without any enforcer is tested by starting a gateway without this stand-in."""

    gateway_plugin_name = "enforcer_stand_in"
    LIMITS = frozenset(
        {"max_budget", "soft_budget", "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests"}
    )

    @hookimpl
    def gateway_add_hookspecs(self, pluginmanager: Any) -> None:
        pluginmanager.add_hookspecs(ENFORCED_LIMITS_SPEC)

    @hookimpl
    def gateway_enforced_limits(self, gateway: Any) -> frozenset[str]:
        return self.LIMITS


@dataclass
class Database:
    kind: str
    url: str


# --------------------------------------------------------------------------- gateways and clients


class NoopGuardrail(Guardrail):
    """A guardrail type that passes everything: lets tests attach configured guardrails to keys."""

    async def check(self, batch: Any) -> GuardrailResult:
        return GuardrailResult.passed()


class NoopGuardrailPlugin:
    gateway_plugin_name = "noop_guardrail"

    @hookimpl
    def gateway_register_guardrails(self, register: Any) -> None:
        register("noop", NoopGuardrail)


def noop_guardrails(*names: str) -> list[dict[str, Any]]:
    """``guardrails:`` entries of the no-op type (start the gateway with ``NoopGuardrailPlugin()``)."""
    return [{"guardrail_name": name, "litellm_params": {"guardrail": "noop", "mode": "pre_call"}} for name in names]


def vk_config(
    db_url: str, *, master_key: str | None = MASTER, guardrails: tuple[str, ...] = (), **settings: Any
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model_list": [
            {
                "model_name": name,
                "litellm_params": {"model": f"echo/{name}"},
                "model_info": {"access_groups": ["chat-models"]},
            }
            for name in MODELS
        ],
        "general_settings": {"database_url": db_url},
        # one process per gateway here: the cross-worker wait on revocations only slows tests down
        # (test_offboarding runs the default, with it)
        "plugins": {"virtual_keys": {"revocation_wait": False, **settings}},
    }
    if master_key:
        config["general_settings"]["master_key"] = master_key
    if guardrails:
        config["guardrails"] = noop_guardrails(*guardrails)
    return config


class Api:
    """A small admin-API client: ``api.post("/key/generate", {...}, key=...)``."""

    def __init__(self, running: RunningGateway, key: str | None) -> None:
        self.running = running
        self.key = key
        self.http = httpx.Client(base_url=running.url, timeout=30)

    def headers(self, key: str | None) -> dict[str, str]:
        key = key if key is not None else self.key
        return {"Authorization": f"Bearer {key}"} if key else {}

    def post(self, path: str, body: Any = None, *, key: str | None = None, raw: bytes | None = None) -> httpx.Response:
        if raw is not None:
            return self.http.post(path, content=raw, headers=self.headers(key))
        return self.http.post(path, json=body if body is not None else {}, headers=self.headers(key))

    def get(self, path: str, params: dict[str, Any] | None = None, *, key: str | None = None) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers(key))

    def send(self, method: str, path: str, body: Any = None, *, key: str | None = None) -> httpx.Response:
        """A request with a JSON body and any method (LiteLLM's PATCH and DELETE routes)."""
        return self.http.request(method, path, json=body if body is not None else {}, headers=self.headers(key))

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        if method in ("PATCH", "DELETE"):
            response = self.send(method, path, body, **kw)
        else:
            response = self.post(path, body, **kw) if method == "POST" else self.get(path, body, **kw)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def new_key(self, **fields: Any) -> dict[str, Any]:
        return self.ok("POST", "/key/generate", fields)

    def chat(self, key: str, model: str = "gpt-4o") -> httpx.Response:
        return self.http.post(
            "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": f"Bearer {key}"},
        )

    def close(self) -> None:
        self.http.close()


def start(config: dict[str, Any], *extra_plugins: Any, enforcer: bool = True) -> RunningGateway:
    """A gateway with this plugin, the echo provider and (``enforcer``) the :class:`EnforcerStandIn`."""
    plugins = [("virtual_keys", gateway_virtual_keys), EchoProviderPlugin(), *extra_plugins]
    if enforcer:
        plugins.append(EnforcerStandIn())
    return start_gateway(config, plugins=plugins, load_entrypoints=False)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The OpenAI error envelope's inner object (asserting the shape on the way)."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"message", "type", "param", "code"} <= set(error), error
    return error
