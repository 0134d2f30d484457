"""A request to a route of a plugin that is not installed (or is disabled, or failed to import)
gets a 404 naming the package, instead of "no route": the operator reads it in the client's error.

The paths come from the catalog (``gateway._catalog``): core never imports a plugin, it only knows
which of this project's distributions serves which paths.  The answer is in the envelope that
plugin's routes use, so the client's SDK (Anthropic's for ``/v1/messages``) shows the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway._catalog import distribution_for_path
from gateway._errors import GatewayError, NotFoundError

if TYPE_CHECKING:
    from gateway._gateway import Gateway


def missing_plugin_error(gateway: Gateway, method: str, path: str) -> tuple[GatewayError, str] | None:
    """The 404 for ``path`` when the plugin that serves it is not loaded here, and its envelope."""
    distribution = distribution_for_path(path)
    if distribution is None:
        return None
    record = gateway.pm.records.get(distribution.entry_point)
    if record is not None and record.status == "loaded":
        return None  # installed and loaded: the path is just not one of its routes here
    served = f"{method} {path} is served by the plugin {distribution.name}"
    if record is None:
        why = f"which is not installed: pip install {distribution.name}, then restart the gateway"
    elif record.status == "failed":
        first = (record.error or "").splitlines()[0] if record.error else "unknown error"
        why = f"which is installed but failed to import ({first}); `gateway plugins --check` shows why"
    else:
        why = (
            f"which is disabled here (GATEWAY_DISABLE_PLUGINS, GATEWAY_LOAD_PLUGINS or "
            f"plugins.{distribution.entry_point}.enabled: false)"
        )
    return NotFoundError(f"{served}, {why}", code="plugin_not_installed"), distribution.error_format
