"""schemathesis against ``GET /openapi.json``: every operation the gateway describes gets requests
generated from its own schema, and no answer is a 5xx or strays from the schema it declares.

One gateway in this process (``gateway.testing.start_gateway``: every installed plugin, the mock
provider, the master key, SQLite in a temporary folder), sent ``GATEWAY_SCHEMATHESIS_EXAMPLES``
examples per operation (default 3; derandomized, so CI sends the same ones every run) with the
master key.  Each example is checked with schemathesis' ``not_a_server_error`` and
``response_schema_conformance`` (a 503 in the error envelope saying ``service_unavailable`` is the
gateway's deliberate answer for a feature the configuration leaves off, as LiteLLM's, and is only
checked against the schema); every failure is collected and the test fails naming each one
(operation, status, what schemathesis said) instead of stopping at the first.  Malformed input is
tests/test_fuzz_routes.py's job: the examples here are valid by the schema, which is what makes the
success answers meet their schemas.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from gateway.testing import RunningGateway, start_gateway

pytestmark = pytest.mark.schemathesis

MASTER = "sk-schemathesis-master-0123456789"
#: the model each model route's examples ask for (the others: gpt-4o)
MODELS = {path: "text-embedding-3-small" for path in ("/v1/embeddings", "/embeddings")}
EXAMPLES = int(os.environ.get("GATEWAY_SCHEMATHESIS_EXAMPLES", "3"))
EXAMPLE_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
    phases=[Phase.explicit, Phase.generate],  # every failure is collected, none shrunk
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    config: dict[str, Any] = {
        "model_list": [
            {"model_name": "gpt-4o", "litellm_params": {"model": "mock/gpt-4o", "input_cost_per_token": 1e-6}},
            {"model_name": "text-embedding-3-small", "litellm_params": {"model": "mock/text-embedding-3-small"}},
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite+aiosqlite:///{folder / 'gateway.db'}"},
    }
    gateway = start_gateway(config)
    try:
        yield gateway
    finally:
        gateway.stop()


def _deliberate_unavailable(response: Any) -> bool:
    """A 503 the gateway answers on purpose: a feature the configuration leaves off (``GET /cache/ping``
    without a cache) or a dependency down, in the error envelope with ``type: service_unavailable``.
    Any other 5xx (a 500: a bug) fails the test."""
    try:
        error = response.json().get("error")
    except ValueError:
        return False
    return isinstance(error, dict) and error.get("type") == "service_unavailable"


def send_examples(operation: Any, url: str, failures: list[str], statuses: list[int]) -> None:
    """``EXAMPLES`` requests to one operation; each answer's status goes to ``statuses``, each failed check to ``failures``."""

    @EXAMPLE_SETTINGS
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        if isinstance(case.body, dict) and isinstance(case.body.get("model"), str):
            # a model this gateway serves: the answer is then the model's, checked against its schema
            case.body["model"] = MODELS.get(operation.path, "gpt-4o")
        response = case.call(base_url=url, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30)
        statuses.append(response.status_code)
        if response.status_code == 503 and _deliberate_unavailable(response):
            checks = [response_schema_conformance]  # documented: LiteLLM answers the same with 503
        else:
            checks = [not_a_server_error, response_schema_conformance]
        try:
            case.validate_response(response, checks=checks)
        except (AssertionError, FailureGroup) as exc:  # one group per example; all of them are reported
            failures.append(
                f"{operation.label} -> {response.status_code}: {str(exc).strip()[:600]}\n"
                f"  sent: {case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]}"
            )

    check()


def test_the_document_lists_every_route_with_every_plugin_installed(served: RunningGateway) -> None:
    document = httpx.get(served.url + "/openapi.json", timeout=30).json()
    table = httpx.get(served.url + "/routes", headers={"Authorization": f"Bearer {MASTER}"}, timeout=30).json()
    listed = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served_routes = {
        (re.sub(r"{([^}:]+)(:[^}]+)?}", r"{\1}", row["path"]), method)
        for row in table["routes"]
        for method in row["methods"]
        if method != "*"  # a Mount (a sub-application) has no operations to describe
    }
    assert listed == served_routes


def test_no_server_error_and_answers_match_the_schema(served: RunningGateway) -> None:
    schema = schemathesis.openapi.from_url(served.url + "/openapi.json")
    failures: list[str] = []
    statuses: dict[str, list[int]] = defaultdict(list)
    for result in schema.get_all_operations():
        operation = result.ok()
        send_examples(operation, served.url, failures, statuses[operation.label])
    sent = sum(len(codes) for codes in statuses.values())
    answered = sum(1 for codes in statuses.values() for code in codes if code < 300)
    print(f"schemathesis: {len(statuses)} operations, {sent} requests ({answered} 2xx), {len(failures)} failures")
    assert len(statuses) > 50, "the document lists every route the gateway serves"
    assert failures == [], "\n\n".join(failures)
    # the success schemas were put to the test: the model routes answered some examples
    for label in ("POST /v1/chat/completions", "POST /v1/embeddings", "POST /v1/messages", "POST /key/generate"):
        assert any(code == 200 for code in statuses[label]), f"{label}: no example was served ({statuses[label]})"
