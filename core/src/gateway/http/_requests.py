"""Reading what the client sent: credentials, its request id and a size-limited JSON body."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request

from gateway._errors import AuthenticationError, BadRequestError, PayloadTooLargeError, RequestTimeoutError
from gateway.chat._openai_checks import check_nesting

if TYPE_CHECKING:
    from gateway._gateway import Gateway

#: headers that may carry the API key, in the order they are consulted (``Authorization`` first)
KEY_HEADERS = ("x-litellm-api-key", "x-api-key", "api-key", "x-goog-api-key", "ocp-apim-subscription-key")
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class _RequestIds:
    """``req_`` + a random per-process prefix + a counter: unique across workers and restarts, and
    no system call per request (``os.urandom`` per id cost more than the rest of id handling)."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.prefix = "req_" + os.urandom(6).hex()
        self.counter = itertools.count(int.from_bytes(os.urandom(3), "big"))

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.counter) & 0xFFFFFFFFFFFF:012x}"


new_request_id = _RequestIds()


def client_request_id(value: str | None) -> str | None:
    """The client's ``x-request-id`` when it is a sane token, else None.

    It is recorded (``RequestContext.client_request_id``) and echoed so that the client's traces
    line up, but it never becomes the request's own id: that one is always ours, because ledgers
    and logs key on it, and two clients (or one retrying client) may send the same value.
    """
    if value and _CLIENT_REQUEST_ID.match(value):
        return value
    return None


def extract_api_key(headers: Mapping[str, str], custom_header: str | None = None) -> str | None:
    """The presented credential, or None; a malformed ``Authorization`` header is a 401."""
    auth = headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(
                "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix: "
                "'Authorization: Bearer sk-...'.",
                param="authorization",
            )
        return token.strip()
    if custom_header:
        value = headers.get(custom_header.lower())
        if value:
            return value.strip()
    for name in KEY_HEADERS:
        value = headers.get(name)
        if value:
            return value.strip()
    return None


#: seconds without any part of the body arriving (``general_settings.request_body_timeout``)
DEFAULT_BODY_TIMEOUT = 60.0


class BodyDeadline:
    """Cancels the reading task when no part of the body arrived for ``seconds`` (nginx's
    ``client_body_timeout``: between two reads, so a large upload on a slow link still passes).

    A loop timer, not ``asyncio.timeout``: on the hot path, where the body is usually complete by
    the first read, arming and cancelling one ``call_later`` costs less than half as much.
    """

    __slots__ = ("seconds", "task", "handle", "expired")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.task = asyncio.current_task()
        self.expired = False
        self.handle = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        self.expired = True
        if self.task is not None:
            self.task.cancel()

    def progressed(self) -> None:
        """A part arrived: the next one has ``seconds`` again."""
        self.handle.cancel()
        self.handle = asyncio.get_running_loop().call_later(self.seconds, self._expire)

    def close(self) -> None:
        self.handle.cancel()

    def error(self) -> RequestTimeoutError:
        """After the task was cancelled by this deadline: undo that cancellation, say what happened."""
        if self.task is not None:
            self.task.uncancel()
        return RequestTimeoutError(
            f"no part of the request body arrived for {self.seconds:g} s; send the body without pausing, or "
            "raise general_settings.request_body_timeout"
        )


async def read_body(request: Request, limit: int, timeout: float = DEFAULT_BODY_TIMEOUT) -> bytes:
    """The raw body, refusing (413) anything over ``limit`` bytes before reading it all, and (408)
    a body of which nothing arrived for ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BadRequestError("the Content-Length header is not a number") from None
        if size > limit:
            raise _too_large(limit)
    deadline = BodyDeadline(timeout)
    received = bytearray()
    try:
        async for chunk in request.stream():
            received += chunk
            if len(received) > limit:
                raise _too_large(limit)
            deadline.progressed()
    except asyncio.CancelledError:
        if deadline.expired:
            raise deadline.error() from None
        raise
    finally:
        deadline.close()
    body = bytes(received)
    request._body = body  # what Starlette's request.body() caches, so a later call still works
    return body


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"the request body is larger than {limit / 1024 / 1024:g} MB; send less, or raise "
        "general_settings.max_request_size_mb",
        code="413",
    )


def parse_json_object(raw: bytes, *, what: str = "the request body") -> dict[str, Any]:
    """Parse a JSON object, whatever the Content-Type says (hand-typed ``curl -d`` sends a form type)."""
    if not raw.strip():
        raise BadRequestError(f"{what} is empty; send a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(f"{what} is not valid JSON ({exc}); send a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequestError(f"{what} must be a JSON object, not {type(data).__name__}")
    check_nesting(data, raw)
    return data


async def read_json(request: Request, gateway: Gateway) -> dict[str, Any]:
    return parse_json_object(await read_body(request, gateway.max_body_bytes, gateway.request_body_timeout))
