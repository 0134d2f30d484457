"""The shared upstream HTTP client: one aiohttp connection pool per worker (public API for providers).

Every provider plugin sends its requests through ``gateway.upstream`` so that connections are
reused across providers and requests, errors are mapped the same way everywhere, and nothing is
opened per request.  (httpx's async pool collapsed under concurrency on these machines; aiohttp
did not: see the architecture guide.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import aiohttp
import orjson
from yarl import URL

from gateway._errors import UpstreamError, UpstreamTimeoutError, UpstreamUnreachableError, upstream_status_error
from gateway._logs import get_logger
from gateway._sse import ServerSentEvent, SSEDecoder, SSEProtocolError, iter_sse

log = get_logger("gateway.upstream")

DEFAULT_TIMEOUT = 600.0
#: ``(status, headers, body) -> UpstreamError``: a provider's own reading of its error answers
ErrorMapper = Callable[[int, Mapping[str, str], bytes], UpstreamError]
#: how much of an upstream error body we keep for the client's message
ERROR_BODY_LIMIT = 2000


def _user_agent() -> str:
    try:
        return f"gateway/{version('gateway')}"
    except PackageNotFoundError:  # a source tree that is not installed
        return "gateway"


#: sent on every upstream request instead of aiohttp's own; a deployment's ``extra_headers`` may
#: override it.  (Asking aiohttp to skip its User-Agent instead builds a header set per request.)
USER_AGENT = _user_agent()


class UpstreamClient:
    """Owns the aiohttp session; created in the gateway's lifespan, closed at shutdown."""

    def __init__(self, *, limit: int = 0, limit_per_host: int = 0) -> None:
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, bool], aiohttp.ClientTimeout] = {}

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                limit_per_host=self._limit_per_host,
                ttl_dns_cache=300,
                keepalive_timeout=60,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
                headers={"User-Agent": USER_AGENT},
                # one session serves every tenant: a cookie one upstream answer sets (Cloudflare's
                # __cf_bm on api.openai.com) must not ride along on other callers' requests; a
                # cookie jar also cost ~12 µs per request once it held one
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the upstream client is not started (the gateway's lifespan has not run)")
        return self._session

    def timeout(self, seconds: float | None, *, stream: bool) -> aiohttp.ClientTimeout:
        """Cached timeouts: a total deadline for plain calls, a per-read deadline for streams."""
        key = (seconds, stream)
        found = self._timeouts.get(key)
        if found is None:
            limit = seconds or DEFAULT_TIMEOUT
            if stream:
                # a stream may run long; what must not happen is a silence longer than the limit
                found = aiohttp.ClientTimeout(total=None, sock_connect=min(limit, 30), sock_read=limit)
            else:
                found = aiohttp.ClientTimeout(total=limit, sock_connect=min(limit, 30))
            self._timeouts[key] = found
        return found

    async def post(
        self,
        provider: str,
        url: str | URL,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float | None,
        params: Mapping[str, str] | None = None,
        error_mapper: ErrorMapper | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """POST and read the whole answer; raise ``UpstreamError`` for non-2xx and transport errors.

        ``url`` may be a ``yarl.URL`` built with ``encoded=True`` when the path must be sent exactly
        as given (a signed request); ``error_mapper`` reads a provider's own error answers.
        """
        try:
            async with self.session.post(
                url, data=body, headers=headers, params=params, timeout=self.timeout(timeout, stream=False)
            ) as resp:
                payload = await resp.read()
                if resp.status >= 400:
                    if error_mapper is not None:
                        raise error_mapper(resp.status, resp.headers, payload)
                    raise error_from_response(provider, resp.status, resp.headers, payload)
                return resp.status, resp.headers, payload
        except UpstreamError:
            raise
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeoutError(
                f"{provider} did not answer within {timeout or DEFAULT_TIMEOUT:g} s (set 'timeout' on the deployment to change this)"
            ) from exc
        except aiohttp.ClientError as exc:
            raise transport_error(provider, url, exc) from exc

    async def open_stream(
        self,
        provider: str,
        url: str | URL,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float | None,
        params: Mapping[str, str] | None = None,
        error_mapper: ErrorMapper | None = None,
    ) -> aiohttp.ClientResponse:
        """POST and return the response once its headers arrived; the caller reads and releases it."""
        try:
            resp = await self.session.post(
                url, data=body, headers=headers, params=params, timeout=self.timeout(timeout, stream=True)
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeoutError(
                f"{provider} did not start its stream within {timeout or DEFAULT_TIMEOUT:g} s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise transport_error(provider, url, exc) from exc
        if resp.status >= 400:
            try:
                payload = await resp.read()
            except (TimeoutError, aiohttp.ClientError):
                payload = b""
            finally:
                resp.release()
            if error_mapper is not None:
                raise error_mapper(resp.status, resp.headers, payload)
            raise error_from_response(provider, resp.status, resp.headers, payload)
        return resp


async def iter_body(resp: aiohttp.ClientResponse, provider: str, timeout: float | None) -> AsyncIterator[bytes]:
    """The body of a streamed response as it arrives, with transport errors mapped."""
    try:
        async for chunk in resp.content.iter_any():
            yield chunk
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise UpstreamTimeoutError(
            f"{provider} stopped sending for {timeout or DEFAULT_TIMEOUT:g} s in the middle of a stream"
        ) from exc
    except aiohttp.ClientPayloadError as exc:
        log.warning("upstream_stream_broken", provider=provider, error=f"{type(exc).__name__}: {exc}")
        raise UpstreamError(f"{provider} closed the stream early") from exc
    except aiohttp.ClientError as exc:
        log.warning("upstream_stream_broken", provider=provider, error=f"{type(exc).__name__}: {exc}")
        raise UpstreamError(f"{provider} stream failed ({type(exc).__name__})") from exc


def passed_headers(upstream: Mapping[str, str], prefixes: tuple[str, ...]) -> dict[str, str]:
    """The upstream's response headers a client should see (rate limits, the provider's request
    id), renamed as LiteLLM does: ``llm_provider-<lower-case name>``.  ``prefixes`` are lower-case."""
    passed: dict[str, str] = {}
    for name in upstream:  # by name: most headers do not match, and their values are never read
        lower = name.lower()
        if lower.startswith(prefixes):
            passed["llm_provider-" + lower] = upstream[name]
    return passed


def transport_error(provider: str, url: str | URL, exc: aiohttp.ClientError) -> UpstreamUnreachableError:
    """The client's view of a transport failure: what happened, never where (no host, address,
    port or URL: those describe the internal network).  The log line has the detail."""
    host = URL(url).host  # never the full URL in the log either: it may carry a key in its query
    log.warning("upstream_transport_error", provider=provider, host=host, error=f"{type(exc).__name__}: {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamUnreachableError("could not connect to {upstream}", provider)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return UpstreamUnreachableError("{upstream} closed the connection without answering", provider)
    return UpstreamUnreachableError(f"the request to {{upstream}} failed ({type(exc).__name__})", provider)


def error_message_from_body(payload: bytes) -> tuple[str, str | None]:
    """Pull ``(message, type)`` out of an upstream error body, whatever its shape."""
    try:
        data: Any = orjson.loads(payload)
    except orjson.JSONDecodeError:
        text = payload[:ERROR_BODY_LIMIT].decode("utf-8", errors="replace").strip()
        return (text or "(empty body)"), None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err)[:ERROR_BODY_LIMIT], err.get("type") if isinstance(
            err.get("type"), str
        ) else None
    if isinstance(err, str):
        return err[:ERROR_BODY_LIMIT], None
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])[:ERROR_BODY_LIMIT], data.get("type") if isinstance(data.get("type"), str) else None
    return payload[:ERROR_BODY_LIMIT].decode("utf-8", errors="replace"), None


def error_from_response(provider: str, status: int, headers: Mapping[str, str], payload: bytes) -> UpstreamError:
    message, _ = error_message_from_body(payload)
    return upstream_status_error(provider, status, message, retry_after=headers.get("retry-after"))


__all__ = [
    "UpstreamClient",
    "ErrorMapper",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "iter_body",
    "passed_headers",
    "transport_error",
    "error_message_from_body",
    "error_from_response",
    "upstream_status_error",
    # reading an upstream's server-sent events
    "SSEDecoder",
    "SSEProtocolError",
    "ServerSentEvent",
    "iter_sse",
]
