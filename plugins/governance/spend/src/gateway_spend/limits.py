"""What a ledger row can hold: one source for the tables, the edge checks and the row writer.

Kept free of SQLAlchemy so the request path can check values without importing it.  Lengths are
characters (PostgreSQL's ``VARCHAR(n)``); PostgreSQL text cannot hold the NUL character at all.
"""

from __future__ import annotations

import hashlib

#: names and ids: key alias, user, team, end user, model names, deployment ids
NAME_CHARS = 255
#: the key's hash (the auth plugin's SHA-256 hex, with room to spare)
KEY_HASH_CHARS = 128
#: the gateway's own request id
REQUEST_ID_CHARS = 128
#: the client's ``x-request-id``, recorded for tracing
CLIENT_REQUEST_ID_CHARS = 255
#: one request tag (``gateway.routing.request_tags`` refuses longer ones)
TAG_CHARS = 255
#: the answer's own id, as the client saw it (``chatcmpl-...``, ``msg_...``)
RESPONSE_ID_CHARS = 255
SHORT_CHARS = {"call_type": 32, "custom_llm_provider": 64, "price_source": 32, "status": 16}

#: ``gateway_spend_logs`` string columns and their lengths (``tables.py`` builds the columns from it)
STRING_COLUMNS: dict[str, int] = {
    "request_id": REQUEST_ID_CHARS,
    "client_request_id": CLIENT_REQUEST_ID_CHARS,
    "response_id": RESPONSE_ID_CHARS,
    "call_type": SHORT_CHARS["call_type"],
    "api_key": KEY_HASH_CHARS,
    "key_alias": NAME_CHARS,
    "user_id": NAME_CHARS,
    "team_id": NAME_CHARS,
    "team_alias": NAME_CHARS,
    "organization_id": NAME_CHARS,
    "end_user": NAME_CHARS,
    "requested_model": NAME_CHARS,
    "model_group": NAME_CHARS,
    "model_id": NAME_CHARS,
    "model": NAME_CHARS,
    "custom_llm_provider": SHORT_CHARS["custom_llm_provider"],
    "price_source": SHORT_CHARS["price_source"],
    "status": SHORT_CHARS["status"],
}


def storable(value: str, limit: int) -> str:
    """``value`` as a column of ``limit`` characters holds it: unchanged when it fits.

    Otherwise (too long, or a NUL character) it becomes its head plus a digest of the whole
    value: distinct values stay distinct, and the same value always gives the same text, so the
    queries that re-seed budgets from the ledger (which pass ids through here too) find it.
    Requests are checked before the upstream call (``edge.py``), so this is the safety net for
    values that did not come from the client's request.
    """
    if len(value) <= limit and "\x00" not in value:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return value.replace("\x00", "\ufffd")[: limit - len(digest) - 1] + "~" + digest
