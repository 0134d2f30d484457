"""The hooks gateway-spend owns: other plugins ask it for the spend it recorded, and which limits it enforces.

Only plugins use it (gateway-virtual-keys' ``/key/info``, ``/team/info`` ...), so it is declared
here rather than in core: ``gateway_add_hookspecs`` adds it to the plugin manager when this plugin
is registered.  A caller must work without gateway-spend installed: ``await gateway.call_first(...)``
on a hook nobody declared returns None.  Documented in ``docs/hooks/gateway_get_spend.md`` next to
this plugin's README.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from gateway import hookspec

if TYPE_CHECKING:
    from gateway import BudgetScope, Gateway


@hookspec(firstresult=True)
def gateway_get_spend(scope: str, ids: list[str], gateway: Gateway) -> dict[str, Any] | None:
    """Report recorded spend (USD, ``decimal.Decimal``) for budget scopes.

    ``scope`` is ``key`` (ids are key hashes), ``team``, ``user``, ``end_user`` or ``tag``.  The spend
    ledger answers; management APIs (``/key/info``) use it so that the spend they show and the
    ledger always agree.  **First non-None result wins**; may be ``async def``.
    """


@hookspec(firstresult=True)
def gateway_enforced_limits(gateway: Gateway) -> Collection[str] | None:
    """Name the limit fields of :class:`gateway.BudgetScope` that this plugin enforces on every request.

    Fields: ``max_budget``, ``soft_budget``, ``budget_duration``, ``rpm_limit``, ``tpm_limit``,
    ``max_parallel_requests``.  A plugin that stores such limits on keys, teams or users
    (gateway-virtual-keys) asks once at start-up and refuses to store a limit nobody enforces, so
    that no budget is ever kept as if it were enforced.  **First non-None result wins**; may be
    ``async def``; without gateway-spend installed the hook does not exist and callers get None.
    """


@hookspec(firstresult=True)
def gateway_end_user_scope(end_user: str, gateway: Gateway) -> BudgetScope | None:
    """The budget and limits of the end user a request names (OpenAI ``user``, Anthropic
    ``metadata.user_id``), as a :class:`gateway.BudgetScope` of scope ``end_user``.

    Called on every request that names an end user, before its admission: it must be a plain
    (not ``async``) function answering from memory.  Return ``None`` for an end user you do not
    know: ``litellm_settings.max_end_user_budget`` then applies.  **First non-None result wins.**
    gateway-virtual-keys answers it for the customers of its ``/customer/*`` API.
    """


@hookspec(firstresult=True)
def gateway_tag_scopes(tags: list[str], gateway: Gateway) -> list[BudgetScope] | None:
    """The budgets and limits of a request's tags, as :class:`gateway.BudgetScope` s of scope ``tag``
    (``id`` = the tag), for the tags that have any; ``None`` (or an empty list) when none has.

    ``tags`` is the request's tags as ``gateway.routing.request_tags`` reads them (the key's
    ``metadata.tags``, the body's ``metadata.tags`` and ``tags``, the ``x-litellm-tags`` header).
    Called on every request that carries a tag, before its admission: it must be a plain (not
    ``async``) function answering from memory.  A tag's scope is one counter shared by every
    request carrying it.  **First non-None result wins.**  gateway-virtual-keys answers it for the
    tags of its ``/tag/*`` API.
    """
