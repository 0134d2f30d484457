"""Telling "a service the gateway depends on is down or too slow" apart from a bug.

A database that hangs, refuses or drops connections, a full connection pool, or a Redis that
does the same is neither the client's fault nor a bug in a plugin: the request is answered with
HTTP 503 and ``retry-after`` (:class:`DependencyUnavailableError`), promptly, because the storage
layer bounds every operation (``general_settings.database_timeout``).  The kernel applies this to
exceptions escaping request hooks (auth included) and plugin routes (admin APIs), so every plugin
that uses ``gateway.storage`` or Redis gets it without code of its own.

The optional libraries' exceptions are recognised by module and class name, so nothing here
imports SQLAlchemy or redis.
"""

from __future__ import annotations

import errno
import socket

from gateway._errors import ServiceUnavailableError

#: seconds a client is asked to wait before retrying
RETRY_AFTER = "5"

#: ``(module, class name)`` of optional libraries' exceptions that mean "unreachable or too slow"
_UNAVAILABLE_CLASSES = frozenset(
    {
        ("sqlalchemy.exc", "TimeoutError"),  # no pooled connection came free in time
        ("sqlalchemy.exc", "OperationalError"),  # connection refused or lost, database locked or starting up
        ("sqlalchemy.exc", "InterfaceError"),  # the driver's connection is closed
        ("redis.exceptions", "ConnectionError"),  # BusyLoadingError (a Redis still loading) too
        ("redis.exceptions", "TimeoutError"),
        ("asyncpg.exceptions", "PostgresConnectionError"),  # the connection does not exist, or failed
        ("asyncpg.exceptions", "CannotConnectNowError"),  # the server is starting or shutting down
        ("asyncpg.exceptions", "TooManyConnectionsError"),
    }
)
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)


def _is_unavailable_one(exc: BaseException) -> bool:
    # asyncpg raises the built-in TimeoutError for its connect and query deadlines, and
    # ConnectionRefusedError & co. when nothing listens
    if isinstance(exc, (TimeoutError, ConnectionError, socket.gaierror)):
        return True
    if isinstance(exc, OSError) and (
        exc.errno in _NETWORK_ERRNOS
        # asyncio's create_connection, when every address of a host failed
        or (exc.errno is None and str(exc).startswith("Multiple exceptions: "))
    ):
        return True
    for cls in type(exc).__mro__:
        if (cls.__module__, cls.__qualname__) in _UNAVAILABLE_CLASSES:
            return True
    return bool(getattr(exc, "connection_invalidated", False))  # SQLAlchemy: the driver reported a disconnect


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc``, or an exception it was raised from, says a dependency is unreachable or
    too slow (see the module docstring)."""
    current: BaseException | None = exc
    for _ in range(6):  # a short chain: wrappers of wrappers are not worth walking further
        if current is None:
            return False
        if _is_unavailable_one(current):
            return True
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return False


class DependencyUnavailableError(ServiceUnavailableError):
    """503 with ``retry-after``: a plugin's database or cache did not answer in time.

    The message names the plugin and where it failed, never the service's address; the gateway's
    log has the detail (``dependency_unavailable``).
    """

    def __init__(self, where: str, request_id: str | None = None) -> None:
        serving = f" while serving request {request_id}" if request_id else ""
        super().__init__(
            f"{where} could not reach a service it depends on (its database or cache) in time{serving}; "
            f"retry in {RETRY_AFTER} s",
            headers={"retry-after": RETRY_AFTER},
        )
