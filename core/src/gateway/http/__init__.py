"""HTTP helpers that plugins may use for their own routes (public API)."""

from gateway.http._admin import authenticate_request, authorize_model, require_admin, require_admin_request
from gateway.http._asgi import (
    ClientGone,
    header_dict,
    id_headers,
    model_request_context,
    receive_body,
    run_until_disconnect,
    send_bytes,
)
from gateway.http._models_admin import redacted_params
from gateway.http._openapi import ANY_JSON, ERROR_SCHEMA, Operation, describe, model_schema
from gateway.http._readiness import ReadinessCheck, add_readiness_check
from gateway.http._requests import (
    client_request_id,
    extract_api_key,
    new_request_id,
    parse_json_object,
    read_body,
    read_json,
)
from gateway.http._responses import error_headers, error_response, json_response, response_headers, sse_response

__all__ = [
    "authenticate_request",
    "authorize_model",
    "require_admin",
    "require_admin_request",
    "read_body",
    "read_json",
    "parse_json_object",
    "json_response",
    "error_response",
    "error_headers",
    "response_headers",
    "sse_response",
    "extract_api_key",
    "client_request_id",
    "new_request_id",
    "id_headers",
    "header_dict",
    "model_request_context",
    "receive_body",
    "run_until_disconnect",
    "send_bytes",
    "ClientGone",
    "add_readiness_check",
    "ReadinessCheck",
    "redacted_params",
    "Operation",
    "describe",
    "ANY_JSON",
    "ERROR_SCHEMA",
    "model_schema",
]
