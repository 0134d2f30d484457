"""Refuse, before the upstream call, a request whose ledger row the database could not store.

A row the database refuses is only found when it is shipped, after the answer was sent (and
paid for).  So every value of the request that ends up in the row is checked here, in
``gateway_pre_call``, against what its column holds (:mod:`.limits`): the end user (OpenAI
``user``, Anthropic ``metadata.user_id``), the model name asked for, the client's
``x-request-id``, the strings of the gateway ``metadata`` object that is stored, and the key's own
names (alias, user, team) that the auth plugin attached.  A refusal is a 400 naming the field, as
the client's format spells it, and the limit.

Only strings need checking: numbers are the gateway's own (token counts come from the upstream),
and JSON numbers of the metadata are stored as JSON text.
"""

from __future__ import annotations

from typing import Any

from gateway import BadRequestError, RequestContext

from .limits import CLIENT_REQUEST_ID_CHARS, KEY_HASH_CHARS, NAME_CHARS

#: principal attribute -> (ledger column it fills, limit)
_PRINCIPAL_FIELDS = (
    ("key_hash", "api_key", KEY_HASH_CHARS),
    ("key_alias", "key_alias", NAME_CHARS),
    ("user_id", "user_id", NAME_CHARS),
    ("team_id", "team_id", NAME_CHARS),
    ("team_alias", "team_alias", NAME_CHARS),
)

#: where each wire format carries the end user (the typed ``user``), to name it in refusals
_END_USER_FIELD = {"openai": "user", "anthropic": "metadata.user_id"}


def _problem(value: str, limit: int | None) -> str | None:
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    if limit is not None and len(value) > limit:
        return f"is {len(value)} characters long"
    return None


def _refuse(what: str, problem: str, limit: int | None, fix: str, param: str) -> BadRequestError:
    rule = f"at most {limit} characters and no NUL characters" if limit is not None else "no NUL characters"
    return BadRequestError(f"{what} {problem}; the spend ledger stores {rule}: {fix}", param=param)


def _check_metadata(metadata: dict[str, Any]) -> None:
    """Every key and string of the stored ``metadata`` object is free of NUL characters.

    PostgreSQL stores ``\\u0000`` inside JSON but cannot turn it back into text, so a report that
    reads such a field (``metadata->>'tags'``) fails.  Walked without recursion: the nesting depth
    is the client's choice.
    """
    stack: list[tuple[str, Any]] = [("metadata", metadata)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise _refuse(path, "contains a NUL character (\\u0000)", None, "remove it", path)
        elif isinstance(value, dict):
            for name, item in value.items():
                if isinstance(name, str) and "\x00" in name:
                    raise _refuse(f"a key of {path}", "contains a NUL character (\\u0000)", None, "remove it", path)
                stack.append((f"{path}.{name}", item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def check_storable(ctx: RequestContext) -> None:
    """Raise a 400 naming the first value of ``ctx`` that its ledger column cannot hold."""
    request = ctx.request
    user = request.user if request is not None else None
    if request is not None and isinstance(user, str) and (problem := _problem(user, NAME_CHARS)):
        field = _END_USER_FIELD.get(request.format, "user")
        raise _refuse(field, problem, NAME_CHARS, "send a shorter end-user id", field)
    if problem := _problem(ctx.requested_model, NAME_CHARS):
        raise _refuse("model", problem, NAME_CHARS, "use a model name of the gateway's model list", "model")
    client_id = getattr(ctx, "client_request_id", None)
    if isinstance(client_id, str) and (problem := _problem(client_id, CLIENT_REQUEST_ID_CHARS)):
        raise _refuse("the x-request-id header", problem, CLIENT_REQUEST_ID_CHARS, "send a shorter id", "x-request-id")
    metadata = request.metadata() if request is not None else None
    if metadata:
        _check_metadata(metadata)
    principal = ctx.principal
    if principal is None:
        return
    for attribute, column, limit in _PRINCIPAL_FIELDS:
        value = getattr(principal, attribute, None)
        if isinstance(value, str) and (problem := _problem(value, limit)):
            raise _refuse(
                f"this key's {column}",
                problem,
                limit,
                "an administrator must change it on the key, its team or its user",
                column,
            )
