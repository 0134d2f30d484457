"""HTTP helpers that plugins may use for their own routes (public API)."""

from .admin import authenticate_request, require_admin, require_admin_request
from .requests import parse_json_object, read_body, read_json
from .responses import error_response, json_response

__all__ = [
    "authenticate_request",
    "require_admin",
    "require_admin_request",
    "read_body",
    "read_json",
    "parse_json_object",
    "json_response",
    "error_response",
]
