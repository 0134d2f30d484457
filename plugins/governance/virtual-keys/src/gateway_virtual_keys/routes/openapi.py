"""What ``GET /openapi.json`` says of the admin routes: request schemas from the bodies' models, the
answers of the routes clients script against most (a new key, a key's info, a new team), and who
may call each one.  Routes not named here are listed with a generic operation."""

from __future__ import annotations

from typing import Any

from gateway.http import Operation, model_schema

from .. import bodies

_STRING = {"type": "string"}
_NUMBER = {"type": "number"}
_OPEN = {"type": "object"}

#: a key as /key/info shows it (never the secret); open: LiteLLM's other fields come along
_KEY_INFO: dict[str, Any] = {
    "type": "object",
    "required": ["token_id", "spend"],
    "properties": {
        "token_id": {"type": "string", "description": "the key's id (its hash), for /key/info?key=..."},
        "key_alias": {"type": "string", "nullable": True},
        "spend": _NUMBER,
        "max_budget": {"type": "number", "nullable": True},
        "models": {"type": "array", "items": _STRING, "nullable": True},
        "user_id": {"type": "string", "nullable": True},
        "team_id": {"type": "string", "nullable": True},
        "expires": {"type": "string", "nullable": True},
        "blocked": {"type": "boolean", "nullable": True},
        "metadata": {"type": "object", "nullable": True},
    },
}
_NEW_KEY: dict[str, Any] = {
    **_KEY_INFO,
    "required": ["key", "token_id"],
    "properties": {
        **_KEY_INFO["properties"],
        "key": {"type": "string", "description": "the secret (sk-...): shown once, never again"},
        "token": {"type": "string", "description": "the secret again (LiteLLM's older name)"},
        "duration": {"type": "string", "nullable": True},
    },
}
_TEAM: dict[str, Any] = {
    "type": "object",
    "required": ["team_id"],
    "properties": {
        "team_id": _STRING,
        "team_alias": {"type": "string", "nullable": True},
        "models": {"type": "array", "items": _STRING, "nullable": True},
        "max_budget": {"type": "number", "nullable": True},
        "spend": _NUMBER,
        "members_with_roles": {"type": "array", "items": _OPEN, "nullable": True},
    },
}

_DELEGATED = "Keys see and manage what they own or administer (the virtual-keys README's matrix)."

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("/key/generate", "POST"): Operation(
        summary="Create a virtual key",
        description=_DELEGATED,
        request=model_schema(bodies.GenerateKey),
        response=_NEW_KEY,
        tags=("keys",),
    ),
    ("/key/info", "GET"): Operation(
        summary="A key's settings and spend (never its secret)",
        description=_DELEGATED + " Without `key`, a virtual key reads itself.",
        query={"key": {"type": "string", "description": "the key (sk-...), or its token_id"}},
        response={
            "type": "object",
            "required": ["key", "info"],
            "properties": {"key": {"type": "string", "description": "the key's token_id"}, "info": _KEY_INFO},
        },
        tags=("keys",),
    ),
    ("/key/update", "POST"): Operation(
        summary="Change a key", description=_DELEGATED, request=model_schema(bodies.UpdateKey), tags=("keys",)
    ),
    ("/key/delete", "POST"): Operation(
        summary="Delete keys", description=_DELEGATED, request=model_schema(bodies.DeleteKeys), tags=("keys",)
    ),
    ("/key/regenerate", "POST"): Operation(
        summary="A new secret for a key", request=model_schema(bodies.RegenerateKey), tags=("keys",)
    ),
    ("/team/new", "POST"): Operation(
        summary="Create a team",
        description=_DELEGATED,
        request=model_schema(bodies.NewTeam),
        response=_TEAM,
        tags=("teams",),
    ),
    ("/team/update", "POST"): Operation(
        summary="Change a team", description=_DELEGATED, request=model_schema(bodies.UpdateTeam), tags=("teams",)
    ),
    ("/user/new", "POST"): Operation(
        summary="Create an internal user", description=_DELEGATED, request=model_schema(bodies.NewUser), tags=("users",)
    ),
    **{
        (f"/{prefix}/new", "POST"): Operation(
            summary="Create a customer (end user)",
            auth="admin",
            request=model_schema(bodies.NewCustomer),
            tags=("customers",),
        )
        for prefix in ("customer", "end_user")
    },
    ("/organization/new", "POST"): Operation(
        summary="Create an organization", auth="admin", request=model_schema(bodies.NewOrg), tags=("organizations",)
    ),
}
