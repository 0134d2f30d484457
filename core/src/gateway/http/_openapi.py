"""How a route says what it takes and answers (public API), and the OpenAPI document made of them.

A plugin describes its Starlette routes with :func:`describe`; a surface (a model route) with its
``request_schema`` / ``response_schema`` / ``error_schema`` class attributes.  A route that
declares nothing is still listed, with a generic operation (any JSON in, any JSON out), so
``GET /openapi.json`` names every route ``GET /routes`` lists::

    from gateway.http import ERROR_SCHEMA, Operation, describe

    describe(
        Route("/widget/new", new_widget, methods=["POST"]),
        Operation(summary="Create a widget", auth="admin",
                  request={"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                  response={"type": "object", "properties": {"id": {"type": "string"}}}),
    )

Schemas are JSON Schema as OpenAPI 3.0 reads it (``nullable: true``, not ``type: [.., "null"]``):
the bundled Swagger UI renders 3.0.  The document is built once, when the app is built; the route
only sends its bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from gateway.surfaces import Surface

#: a JSON Schema (OpenAPI 3.0's dialect), as a plain mapping
Schema = Mapping[str, Any]
Auth = Literal["public", "key", "admin"]

#: any JSON value: what a route that declares nothing takes and answers
ANY_JSON: Schema = {}
#: the error envelope of core's, the OpenAI surfaces' and the admin routes' errors (LiteLLM's shape)
ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string", "nullable": True},
                "param": {"nullable": True},
                "code": {"nullable": True, "description": "a string or an integer: the HTTP status, or a reason"},
            },
        }
    },
}

#: one server-sent event of a streamed answer (``data``: the surface's JSON chunk, or ``[DONE]``)
SSE_EVENT: Schema = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}},
}

_ATTRIBUTE = "_gateway_openapi"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Operation:
    """What one route (for one or all of its methods) takes and answers."""

    summary: str = ""
    description: str = ""
    #: who may call it: ``public`` (no credential), ``key`` (any key), ``admin`` (an admin key);
    #: routes whose answer depends on what the key owns say ``key`` and explain in ``description``
    auth: Auth = "key"
    #: the JSON body's schema; ``None``: any JSON (for methods that take a body)
    request: Schema | None = None
    #: query parameters by name (all optional unless named in ``required_query``)
    query: Mapping[str, Schema] = field(default_factory=dict)
    required_query: tuple[str, ...] = ()
    #: the body of a successful answer; ``None``: any JSON
    response: Schema | None = None
    status: int = 200
    #: the successful answer's media type (``text/html`` for a page; the schema then describes text)
    media_type: str = "application/json"
    #: the body of an error answer (4xx and 5xx)
    error: Schema = field(default_factory=lambda: ERROR_SCHEMA)
    tags: tuple[str, ...] = ()


R = TypeVar("R", bound=BaseRoute)


def describe(route: R, operation: Operation, *, method: str | None = None) -> R:
    """Attach ``operation`` to ``route`` (for ``method`` only, or every method it serves) and return the
    route, so a plugin can wrap the routes it returns from ``gateway_register_routes``."""
    operations: dict[str, Operation] = dict(getattr(route, _ATTRIBUTE, {}))
    operations[(method or "*").upper()] = operation
    setattr(route, _ATTRIBUTE, operations)
    return route


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The request schema of a pydantic model, in OpenAPI 3.0's dialect: its ``$defs`` inlined,
    ``X | None`` as ``nullable``, numeric exclusive bounds as 3.0's booleans."""
    schema = model.model_json_schema(mode="validation")
    defs = schema.pop("$defs", {})
    result: dict[str, Any] = _to_openapi30(schema, defs, depth=0)
    return result


def _to_openapi30(node: Any, defs: Mapping[str, Any], depth: int) -> Any:
    if isinstance(node, list):
        return [_to_openapi30(item, defs, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        if depth > 8:  # a recursive model: deeper levels are any object
            return {"type": "object"}
        return _to_openapi30(defs[ref.removeprefix("#/$defs/")], defs, depth + 1)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "default"):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        else:
            out[key] = _to_openapi30(value, defs, depth)
    for union in ("anyOf", "oneOf"):
        options = out.get(union)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            del out[union]
            if len(rest) == 1:
                out.update(rest[0])
            else:
                out[union] = rest
            out["nullable"] = True
    return out


def _operation_of(route: BaseRoute, method: str) -> Operation | None:
    operations: Mapping[str, Operation] = getattr(route, _ATTRIBUTE, {})
    return operations.get(method) or operations.get("*")


def _with_model_example(schema: Schema | None, model: str | None) -> Schema:
    """The request schema with a model group this gateway serves as the example of ``model``, so
    Swagger UI's "Try it out" (and schemathesis' explicit examples) start from a request that is served."""
    if schema is None:
        return {"type": "object"}
    properties = schema.get("properties")
    if model is None or not isinstance(properties, Mapping) or "model" not in properties:
        return schema
    return {**schema, "properties": {**properties, "model": {**properties["model"], "example": model}}}


def _surface_operation(surface: Surface, model: str | None) -> Operation:
    summary = surface.summary or f"{surface.name} model request"
    return Operation(
        summary=summary,
        description=surface.description,
        request=_with_model_example(surface.request_schema, model),
        response=surface.response_schema,
        error=surface.error_schema if surface.error_schema is not None else ERROR_SCHEMA,
        tags=("model routes",),
    )


_PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")


def _openapi_path(path: str) -> str:
    """Starlette's ``{name:converter}`` segments as OpenAPI's ``{name}``."""
    return _PARAM.sub(r"{\1}", path)


def _content(schema: Schema | None, media_type: str = "application/json") -> dict[str, Any]:
    return {media_type: {"schema": dict(schema) if schema is not None else {}}}


def _openapi_operation(path: str, method: str, operation: Operation, plugin: str, *, stream: bool) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name, _ in _PARAM.findall(path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": name in operation.required_query, "schema": dict(schema)}
        for name, schema in operation.query.items()
    ]
    success: dict[str, Any] = {"description": "success"}
    if operation.media_type == "application/json":
        success["content"] = _content(operation.response)
        if stream:  # "stream": true in the body: server-sent events in the surface's format
            success["content"]["text/event-stream"] = {"schema": SSE_EVENT}
    else:
        success["content"] = _content(operation.response or {"type": "string"}, operation.media_type)
    result: dict[str, Any] = {
        "operationId": f"{method.lower()}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_') or 'root'}",
        "summary": operation.summary or f"{method} {_openapi_path(path)}",
        "tags": list(operation.tags or (plugin,)),
        "x-gateway-plugin": plugin,
        "parameters": parameters,
        "responses": {
            str(operation.status): success,
            "default": {"description": "an error", "content": _content(operation.error)},
        },
    }
    if operation.description:
        result["description"] = operation.description
    if operation.auth == "public":
        result["security"] = []
    elif operation.auth == "admin":
        result["description"] = (operation.description + "\n\n" if operation.description else "") + "Admin keys only."
    if method in _BODY_METHODS and (operation.request is not None or method != "DELETE"):
        result["requestBody"] = {"required": operation.request is not None, "content": _content(operation.request)}
    return result


def openapi_document(
    routes: list[BaseRoute],
    owners: Mapping[tuple[str, str], str],
    surfaces: Mapping[str, Surface],
    *,
    version: str,
    model: str | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of ``routes`` (every route the app serves, as ``GET /routes`` lists
    them); ``surfaces``: path -> the surface serving its POST requests; ``model``: a model group
    this gateway serves, the model routes' example."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        openapi_path = _openapi_path(route.path)
        for method in sorted(route.methods or {"GET"}):
            if method == "HEAD":
                continue
            surface = surfaces.get(route.path) if method == "POST" else None
            operation = _operation_of(route, method)
            if operation is None:
                operation = _surface_operation(surface, model) if surface is not None else Operation()
            plugin = owners.get((route.path, method), "core")
            paths.setdefault(openapi_path, {})[method.lower()] = _openapi_operation(
                route.path, method, operation, plugin, stream=surface is not None
            )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gateway",
            "version": version,
            "description": (
                "Every route this gateway serves, with the plugin serving it (`x-gateway-plugin`). "
                "Model routes take a key as `Authorization: Bearer <key>` (or the header the client's SDK sends); "
                "admin routes take the master key or an admin key."
            ),
        },
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }


__all__ = ["ANY_JSON", "ERROR_SCHEMA", "Auth", "Operation", "Schema", "describe", "model_schema", "openapi_document"]
