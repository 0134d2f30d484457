"""What ``GET /openapi.json`` says of the spend routes: their query parameters and the ledger rows
they answer (LiteLLM's ``LiteLLM_SpendLogs`` shape; open objects, the rows carry more)."""

from __future__ import annotations

from typing import Any

from gateway.http import Operation

_STRING = {"type": "string"}
_DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD (UTC)"}
_TOKENS = {"type": "integer", "nullable": True}

LOG_ROW: dict[str, Any] = {
    "type": "object",
    "required": ["request_id", "spend", "cost_unknown", "startTime"],
    "properties": {
        "request_id": _STRING,
        "call_type": {"type": "string", "nullable": True},
        "api_key": {"type": "string", "description": "the key's token_id"},
        "spend": {"type": "number", "nullable": True, "description": "null when no price was found"},
        "spend_exact": {"type": "string", "nullable": True, "description": "the cost as a decimal string"},
        "cost_unknown": {"type": "boolean"},
        "total_tokens": _TOKENS,
        "prompt_tokens": _TOKENS,
        "completion_tokens": _TOKENS,
        "startTime": {"type": "string", "nullable": True, "description": "ISO 8601"},
        "endTime": {"type": "string", "nullable": True},
        "model": _STRING,
        "model_group": _STRING,
        "user": _STRING,
        "team_id": {"type": "string", "nullable": True},
        "end_user": _STRING,
        "metadata": {"type": "object"},
        "status": {"type": "string", "nullable": True},
    },
}


def _log_query(names: tuple[str, ...]) -> dict[str, Any]:
    return {
        **{name: _STRING for name in names},
        "start_date": _DATE,
        "end_date": _DATE,
    }


_FILTERS = ("api_key", "user_id", "team_id", "end_user", "customer_id", "organization_id", "request_id", "model")
_PAGING = {"page": {"type": "integer", "minimum": 1}, "page_size": {"type": "integer", "minimum": 1, "maximum": 1000}}

SPEND_LOGS = Operation(
    summary="Ledger rows, newest first (at most 1000; x-total-count names how many match)",
    query={**_log_query(_FILTERS), **_PAGING},
    response={"type": "array", "items": LOG_ROW},
    tags=("spend",),
)
SPEND_LOGS_V2 = Operation(
    summary="Ledger rows, newest first, a page at a time",
    query={**_log_query(_FILTERS), **_PAGING},
    response={
        "type": "object",
        "required": ["data", "total", "page", "page_size", "total_pages"],
        "properties": {
            "data": {"type": "array", "items": LOG_ROW},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "total_pages": {"type": "integer"},
        },
    },
    tags=("spend",),
)
SPEND_REPORT = Operation(
    summary="Spend by team, customer, key, model, organization or tag over a window (30 days by default)",
    query={
        "group_by": {"type": "string", "enum": ["team", "customer", "api_key", "model", "organization", "tag"]},
        **_log_query(("api_key", "internal_user_id", "team_id", "customer_id", "organization_id")),
    },
    tags=("spend",),
)
LEDGER_STATUS = Operation(
    summary="The spend ledger's state: counters, shipping, backlog", auth="admin", tags=("spend",)
)
