"""The semantic cache's index: vectors in Redis, one bounded list per request context.

Redis here has no vector search (no RediSearch module), so the index is plain Redis shared by
every worker and instance: a list per *context*, the tenant's scope plus everything of the request
except the text that is embedded (model group, system prompt and earlier turns, tools, sampling
parameters, response format; see :func:`.keys.semantic_material`).  Only prompts that could share
an answer are ever compared, and one tenant's vectors are never read for another.

A list holds the newest ``plugins.cache.semantic_max_candidates`` entries (``LPUSH`` + ``LTRIM``,
expiring with the newest entry).  A lookup reads the whole list (one ``LRANGE``) and compares in
process: the cost is linear in that bound, which is why it is one (measured in the README).  Each
entry is binary: ``GSV1`` | the answer's key digest (32 hex) | u16 signature length | signature |
u16 dimensions | float32 vector.  The answer itself stays where the exact cache keeps it; an entry
whose answer expired or was deleted is a miss.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"GSV1"
DIGEST_CHARS = 32
_U16 = struct.Struct(">H")


@dataclass(slots=True)
class SemanticPlan:
    """The semantic side of one request's plan."""

    #: the Redis list of this context's vectors
    list_key: str
    #: the exact keys of this scope and namespace start with it (the answer is ``prefix + digest``)
    prefix: str
    #: this request's own digest (what its answer is stored under)
    digest: str
    text: str
    signature: bytes
    vector: np.ndarray | None = None
    #: the embedder failed for this request (its store does not ask again)
    failed: bool = False


def encode_vector_entry(digest: str, signature: bytes, vector: np.ndarray) -> bytes:
    data = np.ascontiguousarray(vector, dtype="<f4")
    return b"".join(
        (MAGIC, digest.encode("ascii"), _U16.pack(len(signature)), signature, _U16.pack(data.size), data.tobytes())
    )


def decode_vector_entry(raw: bytes) -> tuple[str, bytes, np.ndarray] | None:
    """(digest, signature, vector), or None for anything that is not a well-formed entry."""
    try:
        if not raw.startswith(MAGIC):
            return None
        at = len(MAGIC)
        digest = raw[at : at + DIGEST_CHARS].decode("ascii")
        if len(digest) != DIGEST_CHARS or not all(c in "0123456789abcdef" for c in digest):
            return None
        at += DIGEST_CHARS
        (length,) = _U16.unpack_from(raw, at)
        at += 2
        signature = raw[at : at + length]
        at += length
        (dim,) = _U16.unpack_from(raw, at)
        at += 2
        if dim == 0 or len(raw) - at != dim * 4 or len(signature) != length:
            return None
        vector = np.frombuffer(raw, dtype="<f4", count=dim, offset=at)
    except (struct.error, UnicodeDecodeError, ValueError):
        return None
    if not np.all(np.isfinite(vector)):
        return None
    return digest, signature, vector


@dataclass(frozen=True, slots=True)
class Match:
    digest: str
    similarity: float


def nearest(
    entries: list[bytes], vector: np.ndarray, signature: bytes | None, threshold: float, exclude: str
) -> tuple[Match | None, int]:
    """The most similar entry at or above ``threshold`` whose signature equals ``signature`` (None:
    the guard is off), and how many entries were malformed."""
    digests: list[str] = []
    rows: list[np.ndarray] = []
    malformed = 0
    for raw in entries:
        entry = decode_vector_entry(raw)
        if entry is None:
            malformed += 1
            continue
        digest, their_signature, their_vector = entry
        if digest == exclude or their_vector.size != vector.size:
            continue
        if signature is not None and their_signature != signature:
            continue
        digests.append(digest)
        rows.append(their_vector)
    if not rows:
        return None, malformed
    similarities = np.stack(rows) @ vector
    best = int(np.argmax(similarities))
    score = float(similarities[best])
    if score < threshold:
        return None, malformed
    return Match(digests[best], score), malformed
