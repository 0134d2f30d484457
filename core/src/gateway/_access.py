"""``general_settings``' access controls, decided once at start-up and checked per request.

* ``allowed_ips``: client addresses or CIDR networks that may call the gateway.  A request from
  any other address gets 403 before its credential is even looked at.  The load balancer's probes
  (``/health/liveliness``, ``/health/liveness``, ``/health/readiness``) stay open: they need no key,
  say nothing about the set-up, and load balancers probe from addresses of their own.  The address
  is the TCP peer's as the ASGI server reports it (behind a proxy, start the server so that it
  trusts that proxy's ``X-Forwarded-For``, and only that proxy's).
* ``allowed_routes``: the routes a caller that is not an admin may call; any other route is 403.
  Entries are paths (``/chat/completions`` also allows ``/v1/chat/completions`` and the other way
  round), prefixes (``/key/*``) or LiteLLM's route groups (``llm_api_routes``, ``openai_routes``,
  ``anthropic_routes``, ``mapped_pass_through_routes``, ``info_routes``, ``public_routes``, with or
  without ``LiteLLMRoutes.``; see docs/access-controls.md).  The master key and admin
  keys are not limited, as in LiteLLM.
* ``enforce_user_param``: a model request that names no end user (OpenAI's ``user``, Anthropic's
  ``metadata.user_id``: the field the client's surface names) is refused with 400 naming the field.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from gateway._errors import BadRequestError, ConfigError, PermissionDeniedError

if TYPE_CHECKING:
    from gateway._config.schema import GeneralSettings
    from gateway._types import Principal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: answered whatever the client's address: a load balancer's probes
PROBE_PATHS = frozenset({"/health/liveliness", "/health/liveness", "/health/readiness"})

#: the vendor pass-through routes LiteLLM counts as model routes (its mapped pass-through routes)
PASS_THROUGH = ("/anthropic/*", "/openai/*", "/gemini/*", "/vertex_ai/*", "/vertex-ai/*", "/bedrock/*", "/azure/*")

#: LiteLLM's route groups an ``allowed_routes`` entry may name (as its ``LiteLLMRoutes`` lists them, for
#: the routes served here); the model routes of every surface are added to the model groups when the
#: app is built (``bind_model_paths``)
ROUTE_GROUPS: dict[str, tuple[str, ...]] = {
    "llm_api_routes": ("/models", "/models/*", "/responses/*", "/messages/count_tokens", "/model/info",
                       "/v2/model/info", *PASS_THROUGH),
    "openai_routes": ("/models", "/models/*", "/responses/*"),
    "anthropic_routes": ("/messages", "/messages/count_tokens"),
    "mapped_pass_through_routes": PASS_THROUGH,
    "info_routes": ("/key/info", "/key/health", "/v2/key/info", "/user/info", "/team/info", "/team/list",
                    "/v2/team/list", "/team/available", "/model/info", "/v2/model/info", "/model_group/info",
                    "/health"),
    "public_routes": tuple(sorted(PROBE_PATHS)),
}  # fmt: skip
#: groups that also name every model route the surfaces serve (``openai_routes``: OpenAI's formats only)
MODEL_GROUPS = frozenset({"llm_api_routes", "openai_routes"})


def _normal(path: str) -> str:
    """``/v1/chat/completions/`` -> ``/chat/completions``: LiteLLM serves its routes with and without ``/v1``."""
    path = "/" + path.strip("/")
    if path == "/v1":
        return "/"
    return path[3:] if path.startswith("/v1/") else path


class RoutePatterns:
    """The routes ``allowed_routes`` lets a non-admin caller reach."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.exact: set[str] = set()
        self.prefixes: list[str] = []
        #: the model routes to add: every surface's (``llm_api_routes``), or OpenAI's formats' only
        self.model_groups: set[str] = set()
        for entry in entries:
            name = entry.strip()
            group = name.removeprefix("LiteLLMRoutes.").removesuffix(".value")
            if group in ROUTE_GROUPS:
                if group in MODEL_GROUPS:
                    self.model_groups.add(group)
                for path in ROUTE_GROUPS[group]:
                    self._add(path)
            elif "/" in name or name == "*":
                self._add(name)
            else:
                raise ConfigError(
                    f"general_settings.allowed_routes: {entry!r} is neither a path ('/chat/completions', '/key/*') nor "
                    f"one of LiteLLM's route groups ({', '.join(sorted(ROUTE_GROUPS))})"
                )

    def _add(self, entry: str) -> None:
        if entry.endswith("*"):
            self.prefixes.append(_normal(entry.rstrip("*")).rstrip("/") + "/")
        else:
            self.exact.add(_normal(entry))

    def bind_model_paths(self, paths: Iterable[str]) -> None:
        """Add the model routes the gateway serves when a model route group was named."""
        for path in paths:
            if "llm_api_routes" in self.model_groups or (
                "openai_routes" in self.model_groups and not _normal(path).startswith("/messages")
            ):
                self._add(path.split("{", 1)[0] + "*" if "{" in path else path)

    def allows(self, path: str) -> bool:
        path = _normal(path)
        return path in self.exact or any(path.startswith(prefix) for prefix in self.prefixes)


class AccessPolicy:
    """The three controls; each costs nothing per request when it is not configured."""

    def __init__(self, general: GeneralSettings) -> None:
        self.networks: tuple[Network, ...] | None = None
        if general.allowed_ips is not None:
            self.networks = tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in general.allowed_ips)
        self.routes = RoutePatterns(general.allowed_routes) if general.allowed_routes is not None else None
        self.enforce_user = general.enforce_user_param
        #: address -> allowed, so an address is parsed once (bounded: cleared when it grows large)
        self._decided: dict[str, bool] = {}

    # -------------------------------------------------------------------------- allowed_ips

    def ip_allowed(self, client_ip: str | None) -> bool:
        if self.networks is None:
            return True
        if client_ip is None:
            return False
        decided = self._decided.get(client_ip)
        if decided is None:
            decided = self._match(client_ip)
            if len(self._decided) > 10_000:
                self._decided.clear()
            self._decided[client_ip] = decided
        return decided

    def _match(self, client_ip: str) -> bool:
        assert self.networks is not None
        try:
            address = ipaddress.ip_address(client_ip.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def check_ip(self, client_ip: str | None) -> None:
        if not self.ip_allowed(client_ip):
            raise ip_refused(client_ip)

    # -------------------------------------------------------------------------- allowed_routes

    def check_route(self, principal: Principal, path: str) -> None:
        if self.routes is None or principal.is_admin or self.routes.allows(path):
            return
        raise PermissionDeniedError(
            f"Route {path} is not allowed for this key: general_settings.allowed_routes lists the routes keys that are "
            "not admin keys may call. Call one of those, or ask an admin to add this route.",
            type="auth_error",
            code="403",
        )

    # -------------------------------------------------------------------------- enforce_user_param

    def check_user(self, user: str | None, field: str | None) -> None:
        """``field`` is where the client's format names the end user (``None``: it has no such field)."""
        if self.enforce_user and field is not None and not user:
            raise BadRequestError(
                f"'{field}' is required: this gateway requires every model request to name its end user "
                f'(general_settings.enforce_user_param). Add "{field}" to the request body.',
                param=field,
            )


def ip_refused(client_ip: str | None) -> PermissionDeniedError:
    # LiteLLM's message, then ours: what decides and what to do
    return PermissionDeniedError(
        f"Access forbidden: IP address {client_ip or 'unknown'} not allowed. general_settings.allowed_ips lists the "
        "addresses that may call this gateway.",
        type="auth_error",
        code="403",
    )


__all__ = ["AccessPolicy", "PROBE_PATHS", "RoutePatterns", "ip_refused"]
