"""Bad input is a 4xx, never a 5xx, and never breaks the client's keep-alive connection.

One real ``gateway`` process (the CLI, every installed plugin found through its entry point) on a
fresh PostgreSQL database, with Redis for spend counters, the master key, a virtual key, a
``mock/`` model and an ``anthropic/`` one (its provider translates every request, for a local
server that checks requests as Anthropic's API does).  Hypothesis sends every admin and model
route bodies (and GET routes query strings) built from a valid request and then broken: NUL bytes
in strings and keys, integers past every column's range, 1e308, 300-level nesting, out-of-range
durations and dates, wrong types, long and non-ASCII strings, and bodies that are not JSON
objects at all.  For every example:

* the status is below 500 (a 500 fails the test with the gateway's log lines for that request);
* an error body is well formed in the route's own envelope (OpenAI's on OpenAI and admin routes,
  Anthropic's on ``/v1/messages``), and a stream carries no internal-error event;
* the next request on the same TCP connection (``GET /health/liveliness``) still works.

Examples per route: ``GATEWAY_FUZZ_EXAMPLES`` (default 60); the generation is derandomized, so
CI runs the same examples every time.
"""

from __future__ import annotations

import asyncio
import copy
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, Phase, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from gateway.testing import free_port, run_sql

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

MASTER = "sk-fuzz-master-0123456789abcdef"
REDIS_URL = os.environ.get("GATEWAY_FUZZ_REDIS_URL", "redis://127.0.0.1:6379/0")
VENV_BIN = Path(sys.executable).parent
ANTHROPIC_KEY = "sk-ant-fuzz"

FUZZ = settings(
    max_examples=int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "60")),
    derandomize=True,  # the same examples on every run: CI is reproducible
    database=None,  # nothing remembered between runs, nothing written into the checkout
    deadline=None,  # a request's time is not what this test is about
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=False,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # shrunk to a minimal body, no explain re-runs
)

# --------------------------------------------------------------------------- hostile values

#: 2^31 and 2^63 are the edges of PostgreSQL's INTEGER and BIGINT; 2^200 fits no column at all
HUGE_INTS = st.sampled_from(
    [2**31, 2**31 - 1, -(2**31) - 1, 2**63, 2**63 - 1, -(2**63) - 1, 2**64, 2**200, -(2**200), -1, 0]
)
EXTREME_FLOATS = st.sampled_from([1e308, -1e308, 5e-324, -0.0, 0.5, 1e20])
TEXT = st.text(max_size=12)  # any code point but lone surrogates, which JSON in UTF-8 cannot carry
NUL_TEXT = st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=4), st.text(max_size=4))
LONG_TEXT = st.sampled_from(["x" * 70_000, "\u00e9\u4e2d\U0001f600" * 10_000])
#: LiteLLM-style durations past any date a database can hold, or not durations at all
DURATIONS = st.sampled_from(["9999999d", "99999999999999999999s", "9999999999mo", "0s", "-1d", "1.5h", "30x", "d"])
#: timestamps at the very edge of the calendar, with offsets that push them past it
DATES = st.sampled_from(
    [
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31",
        "0001-01-01",
        "2026-02-30",
        "0000-00-00",
        "2026-01-01T25:00:00Z",
        "99999-01-01",
    ]
)


def nested(depth: int, kind: type) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value] if kind is list else {"a": value}
    return value


#: around and past the 255 levels orjson handles (built per draw: a later mutation may write into it)
DEEP_OBJECTS = st.sampled_from([300, 256]).map(lambda depth: nested(depth, dict))
DEEP_ARRAYS = st.sampled_from([300, 254]).map(lambda depth: nested(depth, list))
DEEP = st.one_of(DEEP_OBJECTS, DEEP_ARRAYS)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
#: a value of the wrong JSON type for whatever field it lands in
WRONG_TYPES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.one_of(TEXT, NUL_TEXT), SCALARS, max_size=3),
)
NASTY = st.one_of(NUL_TEXT, HUGE_INTS, EXTREME_FLOATS, DEEP, WRONG_TYPES, DURATIONS, DATES, LONG_TEXT, TEXT)
INT_STRINGS = st.sampled_from(["9223372036854775808", "2147483648", "-1", "0", "1e308", "nan", "99999999999999999999"])
#: what a query parameter can be: any string
NASTY_QUERY = st.one_of(
    NUL_TEXT,
    INT_STRINGS,
    st.just(""),
    DURATIONS,
    DATES,
    TEXT,
    st.just("x" * 5_000),
)
#: request bodies that are not a JSON object, or not JSON, or not UTF-8
_RAW = [
    b"",
    b" ",
    b"null",
    b"[]",
    b'"text"',
    b"1",
    b"{",
    b'{"model": }',
    b"\x00",
    b"\xff\xfe\xfd",
    b'{"a": "\xff"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a": 1e999}',
    b'{"a": NaN}',
    b'{"a": 1, "a": 2}',
]
RAW_BODIES = st.integers(0, len(_RAW) - 1).map(_RAW.__getitem__)  # (a short repr in Hypothesis' reports)
#: mutations reach this deep into a body, not into the deep values they planted themselves
MUTABLE_DEPTH = 8


def hostile_like(value: Any) -> st.SearchStrategy[Any]:
    """A hostile value of the same JSON type as ``value`` (it passes type checks and reaches the
    code behind them: the database, a provider's encoder), or of any type."""
    if isinstance(value, bool):
        same: st.SearchStrategy[Any] = st.booleans()
    elif isinstance(value, int):
        same = st.one_of(HUGE_INTS, st.integers())
    elif isinstance(value, float):
        same = EXTREME_FLOATS
    elif isinstance(value, str):
        same = st.one_of(NUL_TEXT, LONG_TEXT, TEXT, DURATIONS, DATES)
    elif isinstance(value, dict):
        same = st.one_of(DEEP_OBJECTS, st.dictionaries(st.one_of(NUL_TEXT, TEXT), SCALARS, max_size=3))
    elif isinstance(value, list):
        same = st.one_of(DEEP_ARRAYS, st.lists(st.one_of(NUL_TEXT, TEXT, HUGE_INTS), max_size=3))
    else:
        return NASTY
    return st.one_of(same, NASTY)


def positions(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON tree (containers included, down to ``MUTABLE_DEPTH``) that a
    mutation can overwrite."""
    found: list[tuple[Any, ...]] = []
    if len(prefix) >= MUTABLE_DEPTH:
        return found
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found += positions(value, (*prefix, key))
    return found


def value_at(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def overwrite(tree: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


@st.composite
def broken_body(draw: st.DrawFn, templates: list[dict[str, Any]], extras: dict[str, Any]) -> dict[str, Any]:
    """A valid body with up to three places overwritten by hostile values (zero: the valid body
    itself), or with a field added (a known optional field, or one nobody knows)."""
    body = copy.deepcopy(draw(st.sampled_from(templates)))
    for _ in range(draw(st.integers(0, 3))):
        places = positions(body)
        pick = draw(st.integers(0, len(places)))
        if pick < len(places):
            overwrite(body, places[pick], draw(hostile_like(value_at(body, places[pick]))))
        elif extras and draw(st.booleans()):
            name = draw(st.sampled_from(sorted(extras)))
            body[name] = draw(st.one_of(st.just(extras[name]).map(copy.deepcopy), NASTY))
        else:
            body[draw(st.one_of(NUL_TEXT, TEXT))] = draw(NASTY)
    return body


def hostile_query_like(value: str) -> st.SearchStrategy[str]:
    """A hostile parameter of the same kind as ``value`` (a date, a number), or any string."""
    if value[:4].isdigit() and value[4:5] == "-":
        return st.one_of(DATES, NASTY_QUERY)
    if value.isdigit():
        return st.one_of(INT_STRINGS, NASTY_QUERY)
    return NASTY_QUERY


@st.composite
def broken_query(draw: st.DrawFn, template: dict[str, str]) -> str:
    """The valid query string with up to three parameters overwritten, left out or added."""
    params = dict(template)
    for _ in range(draw(st.integers(0, 3))):
        names = sorted(params)
        pick = draw(st.integers(0, len(names)))
        name = names[pick] if pick < len(names) else draw(st.one_of(TEXT, NUL_TEXT))
        if pick < len(names) and draw(st.integers(0, 3)) == 0:
            del params[name]  # a default takes its place
        else:
            params[name] = draw(hostile_query_like(params.get(name, "")))
    query = urllib.parse.urlencode(params)
    # percent-escapes that decode to no UTF-8 at all
    return query + draw(st.sampled_from(["", "&junk=%ff%fe", "&%00=%00"]))


# --------------------------------------------------------------------------- the routes


#: stands for a number new in every request (ids and aliases that must be unique)
UNIQUE = "~unique~"


@dataclass
class Target:
    """What the valid bodies refer to: entities created once per module."""

    virtual_key: str
    key_id: str  # the token id of a key the admin bodies may change (never the virtual key above)
    team_id: str
    user_id: str


LIMITS: dict[str, Any] = {
    "max_budget": 10,
    "soft_budget": 5,
    "budget_duration": "30d",
    "tpm_limit": 1000,
    "rpm_limit": 100,
    "max_parallel_requests": 5,
    "metadata": {"owner": "fuzz", "nested": {"list": [1, "two"]}},
}


@dataclass
class Route:
    method: str
    path: str
    #: valid bodies (POST) or query parameters (GET), built from the module's entities
    valid: Callable[[Target], list[dict[str, Any]]]
    #: optional fields the valid bodies leave out, with a valid value each
    extras: Callable[[Target], dict[str, Any]] = field(default=lambda t: {})
    anthropic: bool = False
    model: bool = False
    #: what a valid body gets (404: a deletion of what does not exist, so the fuzz deletes nothing)
    valid_status: int = 200
    #: a pass-through route: an answer may be the upstream's own, passed on unchanged (its error body
    #: is then the upstream's, not necessarily JSON); the gateway's own errors are still checked
    forwarded: bool = False


#: OpenAI parameters Anthropic's API has no counterpart for (the gateway refuses them for claude)
NOT_FOR_ANTHROPIC = frozenset({"frequency_penalty", "presence_penalty", "logit_bias", "seed", "n"})


def both_models(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each body for the mock model and for the Anthropic-served one (whose provider translates it)."""
    return [
        *({**body, "model": "gpt-4o"} for body in bodies),
        *({**{k: v for k, v in body.items() if k not in NOT_FOR_ANTHROPIC}, "model": "claude"} for body in bodies),
    ]


def chat_bodies(t: Target) -> list[dict[str, Any]]:
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": 1}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "found"},
        {"role": "user", "content": "thanks", "name": "alice"},
    ]
    schema = {"type": "object", "properties": {"q": {"type": "integer"}}}
    tools = [{"type": "function", "function": {"name": "lookup", "description": "look up", "parameters": schema}}]
    return both_models(
        [
            {
                "model": "gpt-4o",
                "messages": messages,
                "max_tokens": 16,
                "temperature": 0.5,
                "top_p": 1,
                "n": 1,
                "stop": ["\n"],
                "tools": tools,
                "tool_choice": "auto",
                "user": "end-user",
                "metadata": {"tag": "x"},
                "response_format": {"type": "text"},
                "seed": 1,
                "logit_bias": {"50256": -100},
                "presence_penalty": 0,
                "frequency_penalty": 0,
                "stream": False,
            },
            {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "stream this"}],
                "stream": True,
                "stream_options": {"include_usage": True},
                "max_completion_tokens": 8,
            },
        ]
    )


CHAT_EXTRAS = {
    "parallel_tool_calls": True,
    "logprobs": True,
    "top_logprobs": 2,
    "fallbacks": ["gpt-4o"],
    "guardrails": [],
    "reasoning_effort": "low",
    "modalities": ["text"],
    "store": False,
    "service_tier": "auto",
    "prediction": {"type": "content", "content": "x"},
    # gateway-cache's per-request controls (LiteLLM's `cache` object)
    "cache": {"use-cache": True, "no-store": False, "ttl": 60, "s-maxage": 60, "namespace": "fuzz"},
}


def messages_bodies(t: Target) -> list[dict[str, Any]]:
    return both_models(
        [
            {
                "model": "gpt-4o",
                "max_tokens": 16,
                "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "hi"},
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                        ],
                    },
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                            {"type": "text", "text": "let me look"},
                            {"type": "tool_use", "id": "tu_1", "name": "lookup", "input": {"q": 1}},
                        ],
                    },
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "tu_1",
                                "content": [{"type": "text", "text": "found"}],
                            },
                            {
                                "type": "document",
                                "source": {"type": "text", "media_type": "text/plain", "data": "a doc"},
                            },
                        ],
                    },
                ],
                "tools": [{"name": "lookup", "description": "look up", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "auto"},
                "temperature": 0.5,
                "top_p": 1,
                "top_k": 5,
                "stop_sequences": ["\n"],
                "metadata": {"user_id": "end-user"},
                "stream": False,
            },
            {
                "model": "gpt-4o",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": "stream this"}],
                "stream": True,
            },
        ]
    )


MESSAGES_EXTRAS = {
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
    "service_tier": "auto",
}


def count_tokens_bodies(t: Target) -> list[dict[str, Any]]:
    """A Messages body without what only generation takes (Anthropic's count refuses those)."""
    generation = {"max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata"}
    return [{k: v for k, v in body.items() if k not in generation} for body in messages_bodies(t)]


COUNT_TOKENS_EXTRAS = {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 16}


def responses_bodies(t: Target) -> list[dict[str, Any]]:
    schema = {"type": "object", "properties": {"q": {"type": "integer"}}}
    return both_models(
        [
            {
                "model": "gpt-4o",
                "instructions": "be brief",
                "input": [
                    {"role": "user", "content": [{"type": "input_text", "text": "hi"},
                                                 {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]},
                    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "look"}]},
                    {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": '{"q": 1}'},
                    {"type": "function_call_output", "call_id": "call_1", "output": "found"},
                    {"type": "message", "role": "user", "content": "thanks"},
                ],
                "tools": [{"type": "function", "name": "lookup", "description": "look up", "parameters": schema}],
                "tool_choice": "auto",
                "max_output_tokens": 16,
                "temperature": 0.5,
                "top_p": 1,
                "user": "end-user",
                "metadata": {"tag": "x"},
                "store": False,
                "stream": False,
            },
            {"model": "gpt-4o", "input": "stream this", "stream": True, "max_output_tokens": 8, "store": False},
        ]
    )  # fmt: skip


RESPONSES_EXTRAS = {
    "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}}},
    "reasoning": {"effort": "low", "summary": "auto"},
    "parallel_tool_calls": True,
    "previous_response_id": "resp_fuzz_missing",
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "k",
    "fallbacks": ["gpt-4o"],
}


def completion_bodies(t: Target) -> list[dict[str, Any]]:
    return [
        {
            "model": "gpt-4o",
            "prompt": "Once upon a time",
            "max_tokens": 8,
            "temperature": 0,
            "stop": "\n",
            "echo": False,
            "user": "end-user",
            "stream": False,
        },
        {"model": "gpt-4o", "prompt": ["a", "b"], "stream": True},
    ]


def embedding_bodies(t: Target) -> list[dict[str, Any]]:
    return [
        {"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "float", "user": "end-user"},
        {"model": "text-embedding-3-small", "input": "one"},
    ]


def key_fields(t: Target) -> dict[str, Any]:
    return {
        "key_alias": f"fuzz-alias-{UNIQUE}",
        "models": ["gpt-4o"],
        "aliases": {"fast": "gpt-4o"},
        "duration": "30d",
        "blocked": False,
        "permissions": {"allow": True},
        "guardrails": [],
        **LIMITS,
    }


def key_extras(t: Target) -> dict[str, Any]:
    return {"expires": "2030-01-01T00:00:00Z", "user_id": t.user_id, "team_id": t.team_id}


def team_fields(t: Target) -> dict[str, Any]:
    return {
        "team_alias": "fuzz team",
        "models": ["gpt-4o"],
        "model_aliases": {"fast": "gpt-4o"},
        "guardrails": [],
        "blocked": False,
        **LIMITS,
    }


def user_fields(t: Target) -> dict[str, Any]:
    return {
        "user_email": "fuzz@example.com",
        "user_alias": "fuzzer",
        "user_role": "internal_user",
        "models": ["gpt-4o"],
        **LIMITS,
    }


OPENAI = {
    "chat/completions": (chat_bodies, CHAT_EXTRAS),
    "completions": (completion_bodies, {"suffix": "!", "n": 1}),
    "embeddings": (embedding_bodies, {"dimensions": 8}),
}

ROUTES: list[Route] = [
    *(
        Route("POST", f"{prefix}/{path}", bodies, lambda t, e=extras: e, model=True)
        for prefix in ("/v1", "")
        for path, (bodies, extras) in OPENAI.items()
    ),
    # Azure OpenAI's routes: the deployment in the path is the model, whatever the body names
    *(
        Route("POST", f"/openai/deployments/{{deployment}}/{path}", bodies, lambda t, e=extras: e, model=True)
        for path, (bodies, extras) in OPENAI.items()
    ),
    Route("POST", "/v1/messages", messages_bodies, lambda t: MESSAGES_EXTRAS, anthropic=True, model=True),
    # the Responses API (gateway-responses); the stored response the fuzz asks for does not exist
    Route("POST", "/v1/responses", responses_bodies, lambda t: RESPONSES_EXTRAS, model=True),
    Route("GET", "/v1/responses/{response_id}", lambda t: [{}], model=True, valid_status=404),
    Route("DELETE", "/v1/responses/{response_id}", lambda t: [{}], model=True, valid_status=404),
    Route(
        "GET",
        "/v1/responses/{response_id}/input_items",
        lambda t: [{"limit": "10", "order": "asc"}],
        model=True,
        valid_status=404,
    ),  # fmt: skip
    Route(
        "POST",
        "/v1/messages/count_tokens",
        count_tokens_bodies,
        lambda t: COUNT_TOKENS_EXTRAS,
        anthropic=True,
        model=True,
    ),
    # virtual keys
    Route(
        "POST",
        "/key/generate",
        lambda t: [
            {**key_fields(t), "user_id": t.user_id, "team_id": t.team_id},
            {"expires": "2030-01-01T00:00:00+02:00", "team_id": t.team_id, "max_budget": 1},
        ],
        lambda t: {"key": f"sk-fuzz-custom-key-{UNIQUE}-0123456789abcdef"},
    ),
    Route(
        "POST",
        "/key/update",
        lambda t: [{"key": t.key_id, **key_fields(t)}, {"key": t.key_id, "expires": "2030-01-01T00:00:00Z"}],
        key_extras,
    ),
    Route(
        "POST",
        "/key/delete",
        lambda t: [{"keys": ["sk-" + "0" * 40], "key_aliases": ["no-such-alias"]}],
        valid_status=404,
    ),
    Route("POST", "/key/block", lambda t: [{"key": t.key_id}]),
    Route("POST", "/key/unblock", lambda t: [{"key": t.key_id}]),
    Route(
        "POST",
        "/key/regenerate",
        lambda t: [{"key": t.key_id, "grace_period": "1h", "max_budget": 5}],
        lambda t: {"new_key": f"sk-fuzz-new-key-{UNIQUE}-0123456789abcdef", **key_extras(t)},
    ),
    Route("POST", "/key/{key}/regenerate", lambda t: [{"grace_period": "1h"}, {}]),
    Route("GET", "/key/info", lambda t: [{"key": t.key_id}]),
    Route(
        "GET",
        "/key/list",
        lambda t: [
            {
                "page": "1",
                "size": "10",
                "user_id": t.user_id,
                "team_id": t.team_id,
                "key_alias": "fuzz-alias",
                "key_hash": t.key_id,
                "return_full_object": "true",
            }
        ],
    ),
    Route(
        "POST",
        "/team/new",
        lambda t: [
            {
                "team_id": f"fuzz-new-team-{UNIQUE}",
                **team_fields(t),
                "members_with_roles": [{"role": "user", "user_id": t.user_id}],
            }
        ],
    ),
    Route("POST", "/team/update", lambda t: [{"team_id": t.team_id, **team_fields(t)}]),
    Route("POST", "/team/delete", lambda t: [{"team_ids": ["no-such-team"]}], valid_status=404),
    Route(
        "POST",
        "/team/member_add",
        lambda t: [
            {"team_id": t.team_id, "member": {"role": "user", "user_id": "fuzz-member"}},
            {"team_id": t.team_id, "member": [{"role": "admin", "user_email": "m@example.com"}]},
        ],
    ),
    Route(
        "POST",
        "/team/member_delete",
        lambda t: [{"team_id": t.team_id, "user_id": "fuzz-member", "user_email": "m@example.com"}],
    ),
    Route(
        "POST",
        "/team/member_update",
        lambda t: [{"team_id": t.team_id, "user_id": t.user_id, "role": "user"}],
        lambda t: {"user_email": "fuzz@example.com"},
    ),
    Route("GET", "/team/info", lambda t: [{"team_id": t.team_id}]),
    Route("GET", "/team/list", lambda t: [{"user_id": t.user_id}]),
    Route(
        "POST",
        "/user/new",
        lambda t: [
            {
                "user_id": f"fuzz-new-user-{UNIQUE}",
                **user_fields(t),
                "teams": [t.team_id],
                "auto_create_key": True,
                "key_alias": f"fuzz-user-key-{UNIQUE}",
                "duration": "1d",
            }
        ],
    ),
    Route("POST", "/user/update", lambda t: [{"user_id": t.user_id, **user_fields(t)}]),
    Route("POST", "/user/delete", lambda t: [{"user_ids": ["no-such-user"]}], valid_status=404),
    Route("GET", "/user/info", lambda t: [{"user_id": t.user_id}]),
    Route(
        "GET",
        "/user/list",
        lambda t: [{"page": "1", "page_size": "25", "role": "internal_user", "user_ids": f"{t.user_id},other"}],
    ),
    # budget tiers (gateway-virtual-keys); the fuzz touches no real one
    Route(
        "POST",
        "/budget/new",
        lambda t: [
            {
                "budget_id": f"fuzz-tier-{UNIQUE}",
                **{name: value for name, value in LIMITS.items() if name != "metadata"},
            },
            {},
        ],
    ),
    Route("POST", "/budget/update", lambda t: [{"budget_id": "no-such-tier", "max_budget": 5.0}], valid_status=404),
    Route("POST", "/budget/info", lambda t: [{"budgets": ["no-such-tier"]}], valid_status=404),
    Route("GET", "/budget/list", lambda t: [{}]),
    Route("GET", "/budget/settings", lambda t: [{"budget_id": "no-such-tier"}], valid_status=404),
    Route("POST", "/budget/delete", lambda t: [{"id": "no-such-tier"}], valid_status=404),
    # tags with budgets (gateway-virtual-keys); the fuzz touches no real one
    Route(
        "POST",
        "/tag/new",
        lambda t: [
            {
                "name": f"fuzz-tag-{UNIQUE}",
                "description": "fuzz",
                **{name: value for name, value in LIMITS.items() if name != "metadata"},
            }
        ],
    ),
    Route("POST", "/tag/update", lambda t: [{"name": "no-such-tag", "max_budget": 5.0}], valid_status=404),
    Route("POST", "/tag/info", lambda t: [{"names": ["no-such-tag"]}], valid_status=404),
    Route("GET", "/tag/list", lambda t: [{}]),
    Route("POST", "/tag/delete", lambda t: [{"name": "no-such-tag"}], valid_status=404),
    # organizations (gateway-virtual-keys), with LiteLLM's methods; the fuzz touches no real one
    Route(
        "POST",
        "/organization/new",
        lambda t: [
            {
                "organization_id": f"fuzz-org-{UNIQUE}",
                "organization_alias": "fuzz",
                "models": ["gpt-4o"],
                "blocked": False,
                **LIMITS,
            }
        ],
    ),
    Route("GET", "/organization/info", lambda t: [{"organization_id": "no-such-org"}], valid_status=404),
    Route("POST", "/organization/info", lambda t: [{"organizations": ["no-such-org"]}], valid_status=404),
    Route(
        "PATCH",
        "/organization/update",
        lambda t: [{"organization_id": "no-such-org", "max_budget": 5.0, "models": ["gpt-4o"]}],
        valid_status=404,
    ),
    Route("DELETE", "/organization/delete", lambda t: [{"organization_ids": ["no-such-org"]}], valid_status=404),
    Route("GET", "/organization/list", lambda t: [{}]),
    Route(
        "POST",
        "/organization/member_add",
        lambda t: [{"organization_id": "no-such-org", "member": {"user_id": "fuzz-member", "role": "internal_user"}}],
        valid_status=404,
    ),
    Route(
        "PATCH",
        "/organization/member_update",
        lambda t: [{"organization_id": "no-such-org", "user_id": "fuzz-member", "role": "internal_user"}],
        valid_status=404,
    ),
    Route(
        "DELETE",
        "/organization/member_delete",
        lambda t: [{"organization_id": "no-such-org", "user_id": "fuzz-member"}],
        valid_status=404,
    ),
    # customers (gateway-virtual-keys), under both of LiteLLM's names; the fuzz touches no real one
    *(
        spec
        for prefix in ("/customer", "/end_user")
        for spec in (
            Route(
                "POST",
                f"{prefix}/new",
                lambda t, p=prefix: [
                    {
                        "user_id": f"fuzz-customer{p.replace('/', '-')}-{UNIQUE}",
                        "alias": "fuzz",
                        "max_budget": 10.0,
                        "budget_duration": "30d",
                        "models": ["gpt-4o"],
                        "default_model": "gpt-4o",
                    }
                ],
            ),
            Route("GET", f"{prefix}/info", lambda t: [{"end_user_id": "no-such-customer"}], valid_status=404),
            Route(
                "POST",
                f"{prefix}/update",
                lambda t: [{"user_id": "no-such-customer", "max_budget": 5.0}],
                valid_status=404,
            ),
            Route("POST", f"{prefix}/delete", lambda t: [{"user_ids": ["no-such-customer"]}], valid_status=404),
            # blocking an end user never created makes it, blocked (LiteLLM's block_user): one of the fuzz's own
            Route(
                "POST",
                f"{prefix}/block",
                lambda t, p=prefix: [{"user_ids": [f"fuzz-blocked{p.replace('/', '-')}-{UNIQUE}"]}],
            ),
            Route("POST", f"{prefix}/unblock", lambda t: [{"user_ids": ["no-such-customer"]}], valid_status=404),
            Route("GET", f"{prefix}/list", lambda t: [{}]),
        )
    ),
    # spend
    *(
        Route(
            "GET",
            path,
            lambda t: [
                {
                    "api_key": t.key_id,
                    "user_id": t.user_id,
                    "team_id": t.team_id,
                    "end_user": "end-user",
                    "customer_id": "c",
                    "request_id": "r",
                    "model": "gpt-4o",
                    "start_date": "2026-01-01",
                    "end_date": "2026-12-31",
                    "page": "1",
                    "page_size": "50",
                }
            ],
        )
        for path in ("/spend/logs", "/spend/logs/v2")
    ),
    Route(
        "GET",
        "/global/spend/report",
        lambda t: [
            {
                "group_by": "team",
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
                "api_key": t.key_id,
                "internal_user_id": t.user_id,
                "team_id": t.team_id,
                "customer_id": "c",
            },
            {"group_by": "model", "end_date": "2026-12-31"},
            {"group_by": "organization", "organization_id": "o", "start_date": "2026-01-01"},
            {"group_by": "tag", "team_id": "t", "start_date": "2026-01-01"},
        ],
    ),
    Route("GET", "/spend/ledger/status", lambda t: [{}]),
    # cache (gateway-cache; the fuzz config turns on a local cache in default_off mode)
    Route("GET", "/cache/ping", lambda t: [{}]),
    Route("POST", "/cache/delete", lambda t: [{"keys": ["gateway-cache:global:-:0123456789abcdef"]}]),
    # models at runtime (gateway-model-store; the fuzz config sets store_model_in_db): a valid body stores a
    # model of its own group (a new id each time); updates and deletions touch no real one
    Route(
        "POST",
        "/model/new",
        lambda t: [
            {
                "model_name": f"fuzz-model-{UNIQUE}",
                "litellm_params": {
                    "model": "mock/gpt-4o",
                    "api_key": "sk-fuzz",
                    "rpm": 10,
                    "input_cost_per_token": 1e-6,
                },
                "model_info": {"mode": "chat"},
            }
        ],
    ),
    Route(
        "POST",
        "/model/update",
        lambda t: [{"model_info": {"id": "no-such-model"}, "litellm_params": {"rpm": 5}}],
        valid_status=404,
    ),
    Route("POST", "/model/delete", lambda t: [{"id": "no-such-model"}], valid_status=404),
    Route("POST", "/config/reload", lambda t: [{}]),
    Route("GET", "/model/info", lambda t: [{}, {"litellm_model_id": "no-such-model"}]),
    Route("GET", "/v1/model/info", lambda t: [{}]),
    Route("GET", "/model_group/info", lambda t: [{"model_group": "gpt-4o"}, {}]),
    # core and other plugins' read-only routes
    Route("GET", "/health", lambda t: [{"model": "gpt-4o"}]),
    *(
        Route("GET", path, lambda t: [{}])
        for path in (
            "/health/liveliness",
            "/health/liveness",
            "/health/readiness",
            "/health/readiness/details",
            "/v1/models",
            "/models",
            "/v1/models/{model_id:path}",
            "/models/{model_id:path}",
            "/guardrails/list",
            "/routes",
            "/openapi.json",
            "/docs",
        )
    ),
    Route("GET", "/docs/{asset}", lambda t: [{}]),
    # gateway-admin-ui: its page and assets; the session routes refuse a bearer key (401 without the
    # UI's cookie, 403 for login and logout without the page's Origin) before reading anything
    Route("GET", "/ui", lambda t: [{}], valid_status=308),
    Route("GET", "/ui/", lambda t: [{}]),
    Route("GET", "/ui/assets/{asset:path}", lambda t: [{}]),
    Route("POST", "/ui/login", lambda t: [{"key": MASTER}], valid_status=403),
    Route("POST", "/ui/logout", lambda t: [{}], valid_status=403),
    Route("GET", "/ui/session", lambda t: [{}], valid_status=401),
    *(
        Route(method, "/ui/api/{path:path}", lambda t: [{}], valid_status=401)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    ),
]

#: LiteLLM's provider pass-through routes (core).  /anthropic forwards to the module's Anthropic
#: server (a valid body gets its 200; other methods its 405, passed on as it sent it); nothing
#: configures the others here, so every request gets the gateway's 404 naming what to set
PASSTHROUGH_PREFIXES = ("/openai", "/azure", "/anthropic", "/gemini", "/bedrock", "/vertex_ai")
#: LiteLLM's environment variables the provider pass-through routes take credentials from
PASSTHROUGH_CREDENTIALS = (
    "OPENAI_API_KEY", "OPENAI_API_BASE", "AZURE_API_KEY", "AZURE_API_BASE", "ANTHROPIC_API_KEY",
    "ANTHROPIC_API_BASE", "GEMINI_API_KEY", "GEMINI_API_BASE", "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_BEDROCK_RUNTIME_ENDPOINT", "AWS_REGION", "AWS_DEFAULT_REGION",
)  # fmt: skip
ROUTES += [
    Route(
        method,
        f"{prefix}/{{path:path}}",
        (lambda t: [{"limit": "10"}]) if method == "GET" else messages_bodies,
        (lambda t: {}) if method == "GET" else (lambda t: MESSAGES_EXTRAS),
        anthropic=prefix == "/anthropic",
        model=True,
        valid_status=(200 if method == "POST" else 405) if prefix == "/anthropic" else 404,
        forwarded=True,
    )
    for prefix in PASSTHROUGH_PREFIXES
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
]

# --------------------------------------------------------------------------- the gateway process


def delete_redis_keys(prefix: str) -> None:
    """The spend counters this module's gateway left in Redis (every key is ``{prefix}:...``)."""
    from gateway_spend.resp import RespClient

    async def run() -> None:
        client = RespClient(REDIS_URL, timeout=10)
        try:
            cursor: Any = b"0"
            while True:
                cursor, keys = await client.execute("SCAN", cursor, "MATCH", f"{{{prefix}}}:*", "COUNT", 1000)
                if keys:
                    await client.execute("DEL", *keys)
                if cursor in (b"0", "0", 0):
                    return
        finally:
            await client.close()

    asyncio.run(run())


def gateway_config(database_url: str, workdir: Path, anthropic_url: str, redis_prefix: str) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {
                    "model": "mock/gpt-4o",
                    "input_cost_per_token": 0.000001,
                    "output_cost_per_token": 0.000002,
                },
            },
            # a provider that translates every request (to a local server that checks it as Anthropic's API does)
            {
                "model_name": "claude",
                "litellm_params": {
                    "model": "anthropic/claude-sonnet-4-5",
                    "api_base": anthropic_url,
                    "api_key": ANTHROPIC_KEY,
                },
            },
            {"model_name": "text-embedding-3-small", "litellm_params": {"model": "mock/text-embedding-3-small"}},
        ],
        "general_settings": {"master_key": MASTER, "database_url": database_url, "store_model_in_db": True},
        "litellm_settings": {"cache": True, "cache_params": {"type": "local", "mode": "default_off"}},
        "plugins": {
            "virtual_keys": {"revocation_wait": False},
            "spend": {"redis_url": REDIS_URL, "redis_prefix": redis_prefix, "wal_dir": str(workdir / "wal")},
        },
    }


@dataclass
class GatewayProcess:
    url: str
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes]

    def log_for(self, *request_ids: str) -> str:
        """The gateway's log lines about one request (the traceback of a 500 is among them)."""
        wanted = [i for i in request_ids if i]
        text = self.log_path.read_text(errors="replace")
        lines = [line for line in text.splitlines() if any(i in line for i in wanted)]
        return "\n".join(lines)[-6000:] or text[-3000:]


@pytest.fixture(scope="module")
def anthropic_upstream() -> Iterator[str]:
    from gateway_anthropic.testing import FakeAnthropic

    with FakeAnthropic(api_key=ANTHROPIC_KEY) as server:
        yield server.url


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, anthropic_upstream: str) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("fuzz")
    database = f"fuzz_test_{uuid.uuid4().hex[:10]}"
    redis_prefix = f"fuzz-{uuid.uuid4().hex[:10]}"
    run_sql(f'CREATE DATABASE "{database}"')
    port = free_port()
    config_path = workdir / "gateway.yaml"
    config_path.write_text(
        yaml.safe_dump(
            gateway_config(
                f"postgresql://postgres@127.0.0.1:5432/{database}", workdir, anthropic_upstream, redis_prefix
            )
        )
    )
    env = {**os.environ, "GATEWAY_LOG_FORMAT": "json"}
    for name in ("GATEWAY_LOAD_PLUGINS", "DATABASE_URL", "REDIS_URL", "GATEWAY_MASTER_KEY", "LITELLM_MASTER_KEY"):
        env.pop(name, None)  # every installed plugin, and only this file's settings
    # the pass-through routes forward with these: a machine that has them must not send fuzz to the vendors
    for name in PASSTHROUGH_CREDENTIALS:
        env.pop(name, None)
    log_path = workdir / "gateway.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(VENV_BIN / "gateway"), "--config", str(config_path), "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = GatewayProcess(f"http://127.0.0.1:{port}", port, log_path, proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the gateway exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(running.url + "/health/readiness", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        run_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        delete_redis_keys(redis_prefix)


def admin_call(gateway: GatewayProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(gateway.url + path, json=body, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30)
    assert response.status_code == 200, f"{path}: {response.text}"
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def target(gateway: GatewayProcess) -> Target:
    admin_call(gateway, "/team/new", {"team_id": "fuzz-team", "models": ["gpt-4o", "claude", "text-embedding-3-small"]})
    admin_call(gateway, "/user/new", {"user_id": "fuzz-user", "teams": ["fuzz-team"], "auto_create_key": False})
    changed = admin_call(
        gateway, "/key/generate", {"team_id": "fuzz-team", "user_id": "fuzz-user", "key_alias": "fuzz-target"}
    )
    # the key model requests use: no team, no user, no limits, and no admin body ever names it
    plain = admin_call(gateway, "/key/generate", {"key_alias": "fuzz-plain"})
    return Target(virtual_key=plain["key"], key_id=changed["token_id"], team_id="fuzz-team", user_id="fuzz-user")


# --------------------------------------------------------------------------- one keep-alive connection


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class KeepAliveConnection:
    """One TCP connection, reused request after request (``http.client`` never hides a broken one)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Reply:
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(scope="module")
def connection(gateway: GatewayProcess) -> Iterator[KeepAliveConnection]:
    conn = KeepAliveConnection(gateway.port)
    yield conn
    conn.close()


# --------------------------------------------------------------------------- checks


def check_error_envelope(route: Route, reply: Reply) -> None:
    data = json.loads(reply.body)
    if route.anthropic:
        assert data["type"] == "error", data
        assert isinstance(data["error"]["type"], str) and isinstance(data["error"]["message"], str), data
        return
    error = data["error"]
    assert isinstance(error["message"], str) and error["message"], data
    assert isinstance(error["type"], str), data
    assert "param" in error and "code" in error, data


#: error types of the gateway's own failures (a bug, a plugin that raised), in either envelope
INTERNAL_ERRORS = frozenset({"internal_server_error", "plugin_error", "api_error"})


def check_stream(route: Route, reply: Reply) -> None:
    """A stream that started with 200 may still fail, but not with an internal error."""
    for line in reply.body.decode().splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            event = json.loads(line[len("data: ") :])
            error = event.get("error") if isinstance(event, dict) else None
            assert not (isinstance(error, dict) and error.get("type") in INTERNAL_ERRORS), line


_counter = iter(range(10**9))


def send_and_check(
    gateway: GatewayProcess, conn: KeepAliveConnection, route: Route, path: str, body: bytes | None, key: str
) -> None:
    try:
        _send_and_check(gateway, conn, route, path, body, key)
    except BaseException:
        conn.close()  # the next example starts on a fresh connection, whatever this one left behind
        raise


def _send_and_check(
    gateway: GatewayProcess, conn: KeepAliveConnection, route: Route, path: str, body: bytes | None, key: str
) -> None:
    number = next(_counter)
    request_id = f"fuzz-{number}"
    path = path.replace(UNIQUE, str(number))
    if body is not None:
        body = body.replace(UNIQUE.encode(), str(number).encode())
    headers = {"Authorization": f"Bearer {key}", "x-request-id": request_id}
    if body is not None:
        headers["Content-Type"] = "application/json"
    shown = (body or b"")[:600]
    reply = conn.request(route.method, path, body, headers)
    if currently_in_test_context():
        event(f"status {reply.status}")  # (pytest --hypothesis-show-statistics: how many got through)
    assert reply.status < 500, (
        f"{route.method} {path} answered {reply.status} (connection: {reply.headers.get('connection')}) to "
        f"{shown!r}:\n{reply.body[:500]!r}\n"
        f"gateway log:\n{gateway.log_for(request_id, reply.headers.get('x-litellm-call-id', ''))}"
    )
    if reply.status >= 400:
        if not (route.forwarded and not reply.headers.get("content-type", "").startswith("application/json")):
            check_error_envelope(route, reply)
    elif reply.headers.get("content-type", "").startswith("text/event-stream"):
        check_stream(route, reply)
    elif reply.headers.get("content-type", "").startswith("application/json"):
        json.loads(reply.body)
    if reply.headers.get("connection", "").lower() == "close":
        return  # announced: the client opens a new connection, nothing is left broken
    sock = conn.conn.sock
    try:
        live = conn.request("GET", "/health/liveliness", None, {})
    except (http.client.HTTPException, OSError) as exc:
        raise AssertionError(
            f"the connection broke after {route.method} {path} answered {reply.status} to {shown!r}: {exc!r}"
        ) from None
    assert live.status == 200 and conn.conn.sock is sock, "the next request did not reuse the same connection"


# --------------------------------------------------------------------------- the tests


def test_every_route_of_the_app_is_fuzzed(gateway: GatewayProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """The route table above covers every route the installed plugins register (a new admin
    route without a fuzz entry fails here)."""
    monkeypatch.delenv("GATEWAY_LOAD_PLUGINS", raising=False)  # every installed plugin, as the process
    from starlette.routing import Route as StarletteRoute

    from gateway import Gateway, create_app

    config = yaml.safe_load((gateway.log_path.parent / "gateway.yaml").read_text())
    app = create_app(Gateway(config))
    served = {
        (method, route.path)
        for route in app.starlette.routes
        if isinstance(route, StarletteRoute)
        for method in route.methods or ()
        if method != "HEAD"
    }
    fuzzed = {(route.method, route.path) for route in ROUTES}
    assert served - fuzzed == set(), "routes without a fuzz entry in tests/test_fuzz_routes.py"
    assert fuzzed - served == set(), "fuzz entries for routes the gateway does not serve"


#: path parameters other than ``{key}`` and the valid value each stands for
PATH_PARAMETERS = {
    "{path:path}": "v1/messages",
    "{model_id:path}": "gpt-4o",
    "{deployment}": "gpt-4o",
    "{response_id}": "resp_fuzz_missing",
    "{asset:path}": "app.css",
    "{asset}": "swagger-ui.css",
}


def route_path(route: Route, target: Target) -> str:
    path = route.path.replace("{key}", target.key_id)
    for parameter, value in PATH_PARAMETERS.items():
        path = path.replace(parameter, value)
    return path


def test_the_valid_bodies_are_served(target: Target, connection: KeepAliveConnection) -> None:
    """Every fuzzed body starts from one the gateway serves (so the fuzz reaches past validation)."""
    for route in ROUTES:
        for valid in route.valid(target):
            number = next(_counter)
            headers = {"Authorization": f"Bearer {MASTER}"}
            if route.method == "GET":
                path, body = f"{route_path(route, target)}?{urllib.parse.urlencode(valid)}", None
            else:
                path, body = route_path(route, target), json.dumps(valid).replace(UNIQUE, str(number)).encode()
            reply = connection.request(route.method, path, body, headers)
            assert reply.status == route.valid_status, f"{route.method} {path}: {reply.status} {reply.body[:300]!r}"


ROUTE_IDS = [f"{r.method} {r.path}" for r in ROUTES]

#: the values the issue found 500s with, and their neighbours: each goes into every field in turn
SWEEP_VALUES: list[Any] = [
    "a\x00b",
    {"a\x00b": 1},
    2**31,
    2**63,
    -(2**63) - 1,
    2**200,
    1e308,
    "9999999d",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    nested(300, dict),
    nested(300, list),
    [5],
    {"text": 5},
    5,
    True,
    None,
    "",
]
SWEEP_QUERY: list[str | None] = [
    "a\x00b",
    "",
    "9999-12-31",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01",
    "9223372036854775808",
    "-1",
    "x" * 5000,
    None,  # left out: the route's default takes its place
]


def sweep_cases(route: Route, target: Target) -> Iterator[tuple[str, bytes | None]]:
    """(path, body) with one field of a valid request replaced by one known-bad value, for every
    field and value."""
    path = route_path(route, target)
    for valid in route.valid(target):
        if route.method == "GET":
            for name in valid:
                for value in SWEEP_QUERY:
                    params = {k: v for k, v in valid.items() if k != name}
                    if value is not None:
                        params[name] = value
                    yield f"{path}?{urllib.parse.urlencode(params)}", None
            continue
        for place in positions(valid):
            for value in SWEEP_VALUES:
                body = copy.deepcopy(valid)
                overwrite(body, place, copy.deepcopy(value))
                yield path, json.dumps(body, ensure_ascii=False).encode()


SWEPT = [r for r in ROUTES if not (r.model and not r.path.startswith("/v1/"))]  # (/chat/... is /v1/chat/...)


@pytest.mark.parametrize("route", SWEPT, ids=[f"{r.method} {r.path}" for r in SWEPT])
def test_every_field_with_every_value_the_issue_found(
    route: Route, gateway: GatewayProcess, target: Target, connection: KeepAliveConnection
) -> None:
    """Deterministic, and complete for these values: every field of every valid body (every query
    parameter) in turn gets each value the issue saw a 500 with; all failures are listed at once."""
    key = target.virtual_key if route.model else MASTER
    failures: list[str] = []
    for path, body in sweep_cases(route, target):
        try:
            send_and_check(gateway, connection, route, path, body, key)
        except AssertionError as exc:
            failures.append(str(exc)[:1500])
    assert not failures, f"{len(failures)} failures, the first ones:\n\n" + "\n\n".join(failures[:5])


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
@FUZZ
@given(data=st.data())
def test_hostile_input_gets_4xx_and_keeps_the_connection(
    route: Route, data: st.DataObject, gateway: GatewayProcess, target: Target, connection: KeepAliveConnection
) -> None:
    # model routes mostly with the virtual key, admin routes mostly with the master key (a
    # virtual key is refused there early, which tests less)
    usual, other = (target.virtual_key, MASTER) if route.model else (MASTER, target.virtual_key)
    key = data.draw(st.sampled_from([usual, usual, usual, other]), label="key")
    path = route.path
    if "{key}" in path:
        segment = data.draw(
            st.one_of(st.just(target.key_id), NUL_TEXT, TEXT.filter(bool), st.just("x" * 5000)), label="path key"
        )
        path = path.replace("{key}", urllib.parse.quote(segment, safe=""))
    for parameter, value in PATH_PARAMETERS.items():
        if parameter in path:
            segment = data.draw(st.one_of(st.just(value), NUL_TEXT, TEXT.filter(bool)), label=parameter)
            path = path.replace(parameter, urllib.parse.quote(segment, safe=""))
    if route.method == "GET":
        query = data.draw(st.sampled_from(route.valid(target)).flatmap(broken_query), label="query")
        send_and_check(gateway, connection, route, f"{path}?{query}" if query else path, None, key)
        return
    body = data.draw(
        st.one_of(
            broken_body(route.valid(target), route.extras(target)).map(
                lambda b: json.dumps(b, ensure_ascii=False).encode()
            ),
            RAW_BODIES,
        ),
        label="body",
    )
    send_and_check(gateway, connection, route, path, body, key)
