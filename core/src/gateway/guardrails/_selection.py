"""Which guardrails run for one request.

* ``default_on: true`` guardrails run on every request, unless the caller opted out:
  - a key or team whose ``permissions`` has ``disable_global_guardrails: true`` never gets them;
  - a key whose ``permissions`` has ``allow_pii_controls: true`` (LiteLLM's name) may send
    ``disable_global_guardrails: true`` (top level or in ``metadata``) to skip them for one request.
    Without that permission the field is refused with 403.
* Guardrails named by the request: ``guardrails: [...]`` at the top level, in ``metadata`` or in
  ``litellm_metadata``; items are names or ``{name: {...}}`` objects.  An unknown name is a 400.
* Guardrails attached to the key or team (``Principal.guardrails``) always run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from gateway._errors import BadRequestError, GatewayError, PermissionDeniedError

if TYPE_CHECKING:
    from gateway._types import RequestContext
    from gateway.guardrails._base import Guardrail

OPT_OUT_FIELD = "disable_global_guardrails"
OPT_OUT_PERMISSIONS = ("allow_pii_controls", "allow_guardrail_opt_out")


def _names_in(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, setting in value.items():
            if setting is not False:
                yield str(key)
    elif isinstance(value, list):
        for item in value:
            yield from _names_in(item)


def requested_names(body: dict[str, Any]) -> list[str]:
    names: list[str] = list(_names_in(body.get("guardrails")))
    for section in ("metadata", "litellm_metadata"):
        meta = body.get(section)
        if isinstance(meta, dict):
            names += list(_names_in(meta.get("guardrails")))
    return list(dict.fromkeys(names))


def _opt_out_requested(body: dict[str, Any]) -> bool:
    # the top-level field is one of the gateway's own: it never reaches an upstream
    wanted = body.get(OPT_OUT_FIELD) is True
    meta = body.get("metadata")
    if isinstance(meta, dict) and meta.get(OPT_OUT_FIELD) is True:
        wanted = True
    return wanted


def select(ctx: RequestContext, configured: Mapping[str, Guardrail]) -> list[Guardrail]:
    """The guardrails for ``ctx``, in config order; raises for unknown names or a refused opt-out."""
    principal = ctx.principal
    permissions = principal.permissions if principal is not None else {}
    skip_defaults = bool(permissions.get(OPT_OUT_FIELD))
    fields = ctx.request.gateway if ctx.request is not None else {}
    if _opt_out_requested(fields):
        if not any(permissions.get(p) for p in OPT_OUT_PERMISSIONS):
            raise PermissionDeniedError(
                f"this key may not turn guardrails off ('{OPT_OUT_FIELD}'); an admin can allow it with the key "
                'permission {"allow_pii_controls": true}',
                param=OPT_OUT_FIELD,
            )
        skip_defaults = True

    wanted: set[str] = set()
    for name in requested_names(fields):
        if name not in configured:
            known = ", ".join(configured) or "none"
            raise BadRequestError(
                f"guardrail {name!r} is not configured on this gateway (configured: {known})", param="guardrails"
            )
        wanted.add(name)
    for name in principal.guardrails if principal is not None else ():
        if name not in configured:
            raise GatewayError(
                f"this key or team has the guardrail {name!r} attached, but it is not configured on this gateway; "
                "ask an admin to add it to the guardrails: section or detach it from the key",
                status=500,
                type="guardrail_config_error",
            )
        wanted.add(name)
    return [g for name, g in configured.items() if name in wanted or (g.settings.default_on and not skip_defaults)]
