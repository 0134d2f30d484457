"""Request tags, as LiteLLM reads them: the one list tag-based routing and tag budgets both use.

A request's tags come from its key (``metadata.tags`` on the key, set by the auth plugin on
``Principal.metadata``), the body's ``metadata.tags`` (``litellm_metadata.tags`` on
``/v1/messages``), the body's own ``tags`` and the ``x-litellm-tags`` header (comma-separated),
in that order, each tag once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gateway._errors import AuthenticationError, BadRequestError

if TYPE_CHECKING:
    from gateway._types import Deployment, RequestContext

#: more tags than this on one request is refused (each one may be a budget to check)
MAX_REQUEST_TAGS = 64
MAX_TAG_CHARS = 255
TAGS_HEADER = "x-litellm-tags"


def _tag_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise BadRequestError(
            f'{where} must be a list of tag names, for example ["paid"] (got {type(value).__name__})',
            param=where,
        )
    return value


def request_tags(ctx: RequestContext) -> list[str]:
    """The request's tags (key, body, header), each once, in order; a malformed list is a 400 naming it."""
    found: list[str] = []
    principal = ctx.principal
    if principal is not None and principal.metadata:
        key_tags = principal.metadata.get("tags")
        if isinstance(key_tags, list):  # the key's own: the admin API checked its shape
            found.extend(t for t in key_tags if isinstance(t, str))
    request = ctx.request
    if request is not None:
        fields = request.gateway
        if fields:
            for name in ("metadata", "litellm_metadata"):
                bucket = fields.get(name)
                if isinstance(bucket, Mapping) and "tags" in bucket:
                    found.extend(_tag_list(bucket["tags"], f"{name}.tags"))
            found.extend(_tag_list(fields.get("tags"), "tags"))
    header = ctx.headers.get(TAGS_HEADER)
    if header:
        found.extend(t.strip() for t in header.split(",") if t.strip())
    if not found:
        return found
    tags = list(dict.fromkeys(found))
    if len(tags) > MAX_REQUEST_TAGS:
        raise BadRequestError(f"a request may carry at most {MAX_REQUEST_TAGS} tags (got {len(tags)})", param="tags")
    for tag in tags:
        if not tag or len(tag) > MAX_TAG_CHARS or "\x00" in tag:
            raise BadRequestError(
                f"tag {tag[:40]!r} is not a tag name: give 1 to {MAX_TAG_CHARS} characters, no NUL", param="tags"
            )
    return tags


def deployment_tags(deployment: Deployment) -> list[str]:
    """A deployment's ``litellm_params.tags`` (the config schema made them a list of strings)."""
    tags = deployment.params.get("tags")
    return tags if isinstance(tags, list) else []


def tag_filter(deployments: list[Deployment], tags: list[str], group: str, match_any: bool = True) -> list[Deployment]:
    """The deployments a request with ``tags`` may go to, as LiteLLM's tag routing decides.

    A tagged request goes to the deployments carrying any of its tags (all of them with
    ``match_any`` off); when none does, to the deployments tagged ``default``; when there are none
    either, it is refused with LiteLLM's 401 ("Not allowed to access model due to tags
    configuration").  An untagged request goes to the ``default`` deployments, or to any when
    none is tagged ``default``.
    """
    defaults = [d for d in deployments if "default" in deployment_tags(d)]
    if not tags:
        return defaults or deployments
    wanted = set(tags)
    if match_any:
        matching = [d for d in deployments if wanted.intersection(deployment_tags(d))]
    else:
        matching = [d for d in deployments if wanted.issubset(deployment_tags(d))]
    if matching:
        return matching
    if defaults:
        return defaults
    carried = sorted({t for d in deployments for t in deployment_tags(d)})
    raise AuthenticationError(
        f"Not allowed to access model due to tags configuration. Passed model={group} and tags={tags}: no "
        f"deployment of model group {group!r} carries {'any' if match_any else 'all'} of these tags and none is "
        f"tagged 'default'; tags its deployments carry: {', '.join(carried) or 'none'}",
        param="tags",
        code="401",
    )
