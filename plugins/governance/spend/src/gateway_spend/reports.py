"""Spend endpoints with LiteLLM's shapes: ``/spend/logs``, ``/global/spend/report``, ledger status.

``/spend/logs`` reads request rows (newest first, paginated); the report reads the daily roll-up,
so it stays fast with millions of rows.  All of them need an admin key.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import BadRequestError, GatewayError, ServiceUnavailableError
from gateway.http import describe, error_response, json_response, require_admin_request

from . import openapi
from .money import from_picos

GROUPS = ("team", "customer", "api_key", "model", "organization", "tag")
#: query parameter -> ledger column, for /spend/logs (``request_id`` also matches the client's x-request-id
#: and the answer's own id, ``chatcmpl-...``)
LOG_FILTERS = {
    "api_key": "api_key",
    "user_id": "user_id",
    "team_id": "team_id",
    "end_user": "end_user",
    "customer_id": "end_user",
    "organization_id": "organization_id",
    "request_id": "request_id",
    "model": "model_group",
}
#: query parameter -> roll-up column, for /global/spend/report
REPORT_FILTERS = {"api_key": "api_key", "internal_user_id": "user_id", "team_id": "team_id", "customer_id": "end_user"}
#: ... and for ``group_by=organization``, which sums the request rows (they carry the organization)
ORGANIZATION_FILTERS = {**REPORT_FILTERS, "organization_id": "organization_id"}


#: how /global/spend/report names spend of no team (LiteLLM's words)
UNASSIGNED_TEAM = "Unassigned Team"

#: dates a report may name: the ledger holds nothing older, and a window must be computable around them
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(9998, 12, 31)


def _date(request: Request, name: str) -> date | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        raise BadRequestError(f"{name} must be a date like 2026-01-31, not {value[:40]!r}", param=name) from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise BadRequestError(f"{name} must be a date from {FIRST_DATE} to {LAST_DATE}, not {day}", param=name)
    return day


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise BadRequestError(f"{name} must be a whole number from {low} to {high}, not {value!r}", param=name)
    return number


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


def log_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ledger row in the shape of LiteLLM's ``LiteLLM_SpendLogs`` (plus our extra fields)."""
    unknown = bool(row.get("cost_unknown"))
    return {
        "request_id": row["request_id"],
        "client_request_id": row["client_request_id"],
        "response_id": row.get("response_id"),
        "call_type": row["call_type"],
        "api_key": row["api_key"] or "",
        # no price was found: the cost is not known, and not 0
        "spend": None if unknown else float(from_picos(row["spend_pico"])),
        "spend_exact": None if unknown else str(from_picos(row["spend_pico"])),
        "cost_unknown": unknown,
        "total_tokens": row["total_tokens"],
        "prompt_tokens": row["prompt_tokens"],
        "completion_tokens": row["completion_tokens"],
        "cached_tokens": row["cached_tokens"],
        "reasoning_tokens": row["reasoning_tokens"],
        "usage_estimated": row["usage_estimated"],
        "startTime": _iso(row["start_time"]),
        "endTime": _iso(row["end_time"]),
        "request_duration_ms": row["request_duration_ms"],
        "model": row["requested_model"] or "",
        "model_id": row["model_id"] or "",
        "model_group": row["model_group"] or "",
        "custom_llm_provider": row["custom_llm_provider"] or "",
        "user": row["user_id"] or "",
        "team_id": row["team_id"],
        "organization_id": row.get("organization_id"),
        "end_user": row["end_user"] or "",
        "request_tags": row.get("request_tags") or [],
        "metadata": {
            **(row["metadata"] or {}),
            "user_api_key_alias": row["key_alias"],
            "user_api_key_team_alias": row["team_alias"],
        },
        "cache_hit": str(bool(row["cache_hit"])),
        # a cache hit: what the upstream call would have cost, less the hit's own cost
        "saved_spend": float(from_picos(row.get("saved_pico") or 0)),
        "status": row["status"],
        "guardrail_information": row["guardrail"],
        "error": row["error"],
    }


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    spend = sum(r["spend_pico"] for r in rows)
    return {
        "spend": from_picos(spend),
        "prompt": sum(r["prompt_tokens"] for r in rows),
        "completion": sum(r["completion_tokens"] for r in rows),
        "requests": sum(r["api_requests"] for r in rows),
        "saved": from_picos(sum(r.get("saved_pico") or 0 for r in rows)),
    }


def _by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]].append(row)
    return grouped


def build_report(
    rows: list[dict[str, Any]], group_by: str, team_names: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """``/global/spend/report`` from roll-up rows, in LiteLLM's shape for ``group_by``.

    Teams are named by alias (``team_names``), else by id, and spend of no team is
    ``"Unassigned Team"``, as LiteLLM names them; ``team_id`` says which team an entry is.
    """
    if group_by in ("team", "customer", "organization", "tag"):
        column, plural, name = {
            "team": ("team_id", "teams", "team_name"),
            "customer": ("end_user", "customers", "customer"),
            # not one of LiteLLM's groupings: shaped like its team report, named by organization_id
            "organization": ("organization_id", "organizations", "organization_id"),
            # per request tag (a request with two tags counts for both); requests without tags are not in it
            "tag": ("tag", "tags", "tag"),
        }[group_by]
        days = []
        for day, day_rows in sorted(_by(rows, "day").items()):
            entities = []
            for entity, entity_rows in sorted(_by(day_rows, column).items()):
                details = [
                    {
                        "model": model,
                        "api_key": key,
                        "spend": float(t["spend"]),
                        "total_tokens": t["prompt"] + t["completion"],
                    }
                    for (model, key), group in sorted(_by(entity_rows, "model_group", "api_key").items())
                    for t in (_totals(group),)
                ]
                entry: dict[str, Any] = {
                    name: entity or None,
                    "total_spend": float(_totals(entity_rows)["spend"]),
                    "total_spend_exact": str(_totals(entity_rows)["spend"]),
                    # what cache hits saved (not in LiteLLM's report)
                    "total_saved_by_cache": float(_totals(entity_rows)["saved"]),
                    "metadata": details,
                }
                if group_by == "team":
                    entry[name] = (team_names or {}).get(entity) or entity or UNASSIGNED_TEAM
                    entry["team_id"] = entity or None
                entities.append(entry)
            days.append({"group_by_day": datetime.combine(day, datetime.min.time(), UTC).isoformat(), plural: entities})
        return days
    column = "api_key" if group_by == "api_key" else "model_group"
    out = []
    for entity, entity_rows in sorted(_by(rows, column).items()):
        total = _totals(entity_rows)
        entry: dict[str, Any] = {
            "api_key" if group_by == "api_key" else "model": entity,
            "total_cost": float(total["spend"]),
            "total_cost_exact": str(total["spend"]),
            "total_input_tokens": total["prompt"],
            "total_output_tokens": total["completion"],
            "api_requests": total["requests"],
            "total_saved_by_cache": float(total["saved"]),
        }
        if group_by == "api_key":
            entry["model_details"] = [
                {
                    "model": model,
                    "total_cost": float(t["spend"]),
                    "total_input_tokens": t["prompt"],
                    "total_output_tokens": t["completion"],
                }
                for model, group in sorted(_by(entity_rows, "model_group").items())
                for t in (_totals(group),)
            ]
        out.append(entry)
    return out


def spend_routes(gateway: Any) -> list[Route]:
    def ledger() -> Any:
        found = gateway.state["spend"].ledger
        if found is None:
            raise ServiceUnavailableError(
                "the spend ledger is off (plugins.spend.ledger / general_settings.disable_spend_logs)"
            )
        return found

    async def spend_logs(request: Request, paginated: bool) -> Response:
        try:
            await require_admin_request(request, gateway)
            filters = {
                column: request.query_params[name]
                for name, column in LOG_FILTERS.items()
                if request.query_params.get(name)
            }
            start, end = _date(request, "start_date"), _date(request, "end_date")
            page = _int(request, "page", 1, 1, 10**6)
            size = _int(request, "page_size", 50 if paginated else 1000, 1, 1000)
            store = ledger()
            await store.shipper.flush()
            rows, total = await store.store.logs(filters, start, end, size, (page - 1) * size)
        except GatewayError as exc:
            return error_response(exc)
        data = [log_row(r) for r in rows]
        if paginated:
            return json_response(
                {
                    "data": data,
                    "total": total,
                    "page": page,
                    "page_size": size,
                    "total_pages": (total + size - 1) // size,
                }
            )
        return json_response(data, headers={"x-total-count": str(total)})

    async def logs_v1(request: Request) -> Response:
        return await spend_logs(request, False)

    async def logs_v2(request: Request) -> Response:
        return await spend_logs(request, True)

    async def report(request: Request) -> Response:
        try:
            await require_admin_request(request, gateway)
            group_by = request.query_params.get("group_by", "team")
            if group_by not in GROUPS:
                raise BadRequestError(
                    f"group_by must be one of {', '.join(GROUPS)}, not {group_by!r}", param="group_by"
                )
            today = datetime.now(UTC).date()
            end = _date(request, "end_date") or today
            start = _date(request, "start_date") or end - timedelta(days=30)
            if start > end:
                raise BadRequestError("start_date is after end_date", param="start_date")
            by_org = group_by == "organization"
            filters = {
                column: request.query_params[name]
                for name, column in (ORGANIZATION_FILTERS if by_org else REPORT_FILTERS).items()
                if request.query_params.get(name)
            }
            store = ledger()
            await store.shipper.flush()
            if by_org:  # the daily roll-up has no organization: the request rows are summed
                rows = await store.store.organization_rows(start, end, filters)
            elif group_by == "tag":  # nor tags: the request rows of each tag are summed
                rows = await store.store.tag_rows(start, end, filters)
            else:
                rows = await store.store.daily_rows(start, end, filters)
            names: dict[str, str] = {}
            if group_by == "team":
                names = await store.store.team_aliases(sorted({r["team_id"] for r in rows if r["team_id"]}))
        except GatewayError as exc:
            return error_response(exc)
        return json_response(build_report(rows, group_by, names))

    async def status(request: Request) -> Response:
        try:
            await require_admin_request(request, gateway)
            gov = gateway.state["spend"]
            data = {
                "counters": "redis" if gov.counters.shared else "memory",
                "stats": gov.stats,
                "ledger": gov.ledger.status() if gov.ledger else None,
            }
        except GatewayError as exc:
            return error_response(exc)
        return json_response(data)

    return [
        describe(Route("/spend/logs", logs_v1, methods=["GET"]), openapi.SPEND_LOGS),
        describe(Route("/spend/logs/v2", logs_v2, methods=["GET"]), openapi.SPEND_LOGS_V2),
        describe(Route("/global/spend/report", report, methods=["GET"]), openapi.SPEND_REPORT),
        describe(Route("/spend/ledger/status", status, methods=["GET"]), openapi.LEDGER_STATUS),
    ]
