"""``GET /v1/responses/{id}``, ``DELETE /v1/responses/{id}``, ``GET /v1/responses/{id}/input_items``.

Each answers only the key that created the response; to any other key, as to an unknown or
expired id, it does not exist (404 in OpenAI's envelope).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import BadRequestError, NotFoundError
from gateway.http import authenticate_request, json_response

from .store import ResponseStore

#: what the gateway's ids look like (``resp_`` and 32 hex digits); anything else was never stored
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def plausible_id(response_id: str) -> bool:
    """Whether the id can name a stored response: others are 404 without asking the database."""
    return _ID.fullmatch(response_id) is not None


def not_found(response_id: str, param: str = "response_id") -> NotFoundError:
    return NotFoundError(
        f"Response with id '{response_id}' not found: it never existed, it expired (responses are kept 30 days), "
        "it was deleted, or another key created it",
        type="invalid_request_error",
        param=param,
        code="response_not_found",
    )


def response_routes(gateway: Any, store: Any) -> list[Route]:
    def the_store() -> ResponseStore:
        found: ResponseStore = store()
        return found

    async def owned(request: Request) -> tuple[str, dict[str, Any]]:
        principal = await authenticate_request(request, gateway)
        response_id = request.path_params["response_id"]
        row = await the_store().load(response_id, principal.id) if plausible_id(response_id) else None
        if row is None:
            raise not_found(response_id)
        return principal.id, row

    async def get_response(request: Request) -> Response:
        _, row = await owned(request)
        return json_response(row["response"])

    async def delete_response(request: Request) -> Response:
        principal = await authenticate_request(request, gateway)
        response_id = request.path_params["response_id"]
        if not plausible_id(response_id) or not await the_store().delete(response_id, principal.id):
            raise not_found(response_id)
        return json_response({"id": response_id, "object": "response", "deleted": True})

    async def input_items(request: Request) -> Response:
        _, row = await owned(request)
        items: list[dict[str, Any]] = list(row["input_items"])
        order = request.query_params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise BadRequestError("order must be 'asc' or 'desc'", param="order")
        if order == "desc":
            items.reverse()
        after = request.query_params.get("after")
        if after:
            ids = [item.get("id") for item in items]
            if after not in ids:
                raise BadRequestError(f"after: no input item {after!r} in this response", param="after")
            items = items[ids.index(after) + 1 :]
        raw_limit = request.query_params.get("limit", "20")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            raise BadRequestError("limit must be an integer from 1 to 100", param="limit")
        limit = int(raw_limit)
        page = items[:limit]
        return json_response(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(items) > limit,
            }
        )

    return [
        Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
        Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
        Route("/v1/responses/{response_id}/input_items", input_items, methods=["GET"]),
    ]
