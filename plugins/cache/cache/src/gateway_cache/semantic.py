"""The semantic cache's index: vectors in Redis, one bounded string per request context and signature.

Redis here has no vector search (Debian's redis-server 7.0 without modules; Debian's RediSearch
package is 1.2, older than vector search; no pgvector package for this PostgreSQL), so the index is
plain Redis, shared by every worker and instance.  Candidates are grouped so that only prompts that
could share an answer are ever compared:

- by *context*: the tenant's scope plus everything of the request except the embedded text (model
  group, system prompt and earlier turns, tools, sampling parameters, response format; see
  :func:`.keys.semantic_material`), so one tenant's vectors are never even read for another;
- by the guard's *signature* (:mod:`.guard`): its hash is part of the key, so the candidates read
  are exactly those with the same numbers, negations, units, names and language.

Each group is one Redis string of fixed-size records, newest first, at most
``plugins.cache.semantic_max_candidates`` of them (a Lua script prepends and truncates, and the
string expires with its newest record).  The exact lookup reads the candidates in the same round trip
when it misses (``LOOKUP_SCRIPT``); comparing them is one matrix-vector product: its cost grows with
that bound (measured in the README).  A record is ``GSV2`` | the answer's key digest (16 bytes) |
u16 dimensions | float16 vector (unit length; float16 halves the bytes read, and moved no cosine of
the eval's pairs by more than 0.0001).  The answer itself stays where the exact cache keeps it; a
record whose answer expired or was deleted is a miss.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from .guard import signature

MAGIC = b"GSV2"
DIGEST_BYTES = 16
_HEAD = struct.Struct(">4s16sH")

#: prepend a record, keep the newest ARGV[2] records; a value that is not a whole number of records of
#: this size starting with the magic (corrupt, foreign, another embedder's dimensions) is replaced
ADD_SCRIPT = """
local record = ARGV[1]
local size = #record
local old = redis.call('GET', KEYS[1])
if (not old) or (#old % size ~= 0) or (string.sub(old, 1, 4) ~= string.sub(record, 1, 4)) then old = '' end
local keep = tonumber(ARGV[2]) * size - size
if #old > keep then old = string.sub(old, 1, keep) end
redis.call('SET', KEYS[1], record .. old, 'PX', ARGV[3])
return 1
"""


#: the exact entry if there is one, else the semantic candidates: a semantic lookup costs no round trip
#: of its own, and an exact hit reads no candidate
LOOKUP_SCRIPT = """
local entry = redis.call('GET', KEYS[1])
if entry then return {1, entry} end
local candidates = redis.call('GET', KEYS[2])
if candidates then return {0, candidates} end
return {0}
"""


@dataclass(slots=True)
class SemanticPlan:
    """The semantic side of one request's plan."""

    #: the digest of everything but the embedded text (see :func:`.keys.semantic_material`)
    context: str
    #: the exact keys of this scope and namespace start with it (the answer is ``prefix + digest``)
    prefix: str
    #: this request's own digest (what its answer is stored under)
    digest: str
    text: str
    guard: bool
    vector: np.ndarray | None = None
    #: the embedder failed for this request (its store does not ask again)
    failed: bool = False
    _key: str | None = None

    @property
    def index_key(self) -> str:
        """The Redis key of this context's and signature's records (read with the exact entry)."""
        if self._key is None:
            self._key = index_key(self.prefix, self.context, signature(self.text) if self.guard else b"")
        return self._key


def index_key(prefix: str, context: str, signature: bytes) -> str:
    mark = hashlib.blake2b(signature, digest_size=8).hexdigest() if signature else "-"
    return f"{prefix}sem:{context}:{mark}"


def encode_record(digest: str, vector: np.ndarray) -> bytes:
    data = np.ascontiguousarray(vector, dtype="<f2")
    return _HEAD.pack(MAGIC, bytes.fromhex(digest), data.size) + data.tobytes()


@functools.lru_cache(maxsize=8)
def _layout(dim: int) -> np.dtype[np.void]:
    """A record's numpy layout for vectors of ``dim`` dimensions (built once per dimension)."""
    return np.dtype([("magic", "S4"), ("digest", "u1", (DIGEST_BYTES,)), ("dim", ">u2"), ("vector", "<f2", (dim,))])


def decode_records(blob: bytes | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(digests as 16-byte rows, vectors as rows), empty for no blob; None for a value that is not
    records of one size."""
    if not blob:
        return np.empty((0, DIGEST_BYTES), dtype=np.uint8), np.empty((0, 0), dtype=np.float32)
    if len(blob) < _HEAD.size:
        return None
    magic, _, dim = _HEAD.unpack_from(blob)
    size = _HEAD.size + 2 * dim
    if magic != MAGIC or dim == 0 or len(blob) % size:
        return None
    records = np.frombuffer(blob, dtype=_layout(dim), count=len(blob) // size)
    if not (np.all(records["magic"] == MAGIC) and np.all(records["dim"] == dim)):
        return None
    vectors = records["vector"].astype(np.float32)
    if not np.all(np.isfinite(vectors)):
        return None
    return records["digest"], vectors


@dataclass(frozen=True, slots=True)
class Match:
    digest: str
    similarity: float


def nearest(blob: bytes | None, vector: np.ndarray, threshold: float, exclude: str) -> tuple[Match | None, bool]:
    """The most similar record at or above ``threshold`` (not ``exclude``, the asking request's own
    digest), and whether the value was malformed (a miss, counted)."""
    decoded = decode_records(blob)
    if decoded is None:
        return None, True
    digests, vectors = decoded
    if not len(digests) or vectors.shape[1] != vector.size:
        return None, False
    similarities = vectors @ vector.astype(np.float32)
    for best in np.argsort(similarities)[::-1][:2]:  # its own earlier record aside, the next one
        score = float(similarities[best])
        if score < threshold:
            break
        digest = digests[best].tobytes().hex()
        if digest != exclude:
            return Match(digest, score), False
    return None, False
