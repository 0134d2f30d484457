"""Key material: generating keys, the salt, and the salted hash that is all the database keeps.

A key is ``sk-`` + url-safe random characters.  It is stored only as HMAC-SHA256 under a salt:
``LITELLM_SALT_KEY`` / ``GATEWAY_SALT_KEY``, or, when neither is set, a salt derived from the
master key (so rotating the master key then invalidates every virtual key).  With neither a salt
nor a master key the plugin refuses to generate keys.

Keys are never compared with each other: a presented key is hashed and the hash is looked up.
An attacker cannot choose what the HMAC of a guess looks like without the salt, so the timing
of that look-up reveals nothing about stored keys (this is what makes it constant-time in
effect; the master key, compared directly, is checked by core with ``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from gateway import BadRequestError

KEY_PREFIX = "sk-"
HASH_HEX_LENGTH = 64
_DERIVATION_LABEL = b"gateway-virtual-keys/salt/v1"


def salt_from_environment(master_key: str | None) -> bytes | None:
    explicit = os.environ.get("GATEWAY_SALT_KEY") or os.environ.get("LITELLM_SALT_KEY")
    if explicit:
        return explicit.encode()
    if master_key:
        return hmac.new(master_key.encode(), _DERIVATION_LABEL, hashlib.sha256).digest()
    return None


class KeyHasher:
    """Hashes keys under one salt; the only place that sees a plaintext key besides the response."""

    __slots__ = ("_salt",)

    def __init__(self, salt: bytes) -> None:
        self._salt = salt

    def hash(self, key: str) -> str:
        return hmac.digest(self._salt, key.encode(), "sha256").hex()


def generate_key(length: int) -> str:
    """``sk-`` + ``length`` url-safe random characters (6 bits of entropy each)."""
    return KEY_PREFIX + secrets.token_urlsafe(length)[:length]


def display_name(key: str) -> str:
    """The abbreviation shown in listings: ``sk-...AbCd``."""
    return f"{KEY_PREFIX}...{key[-4:]}"


def is_hash(value: str) -> bool:
    return len(value) == HASH_HEX_LENGTH and all(c in "0123456789abcdef" for c in value)


def custom_key_refused(field: str = "key") -> BadRequestError:
    """The one refusal for every unusable caller-chosen key.

    A key already in use is refused with exactly the words a malformed one gets, so that
    ``/key/generate`` cannot be used to learn whether some key exists (the auth path rate-limits
    that question; this route must not answer it for free).
    """
    return BadRequestError(
        f"'{field}' cannot be used as a custom key: it must be 'sk-' followed by at least 32 characters without "
        f"whitespace, and not be a key that is already in use; choose another, or leave '{field}' out to get a "
        "generated key",
        param=field,
    )


def check_custom_key(key: str, field: str = "key") -> None:
    """A caller-chosen key must look like ours and be long enough to resist guessing."""
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + 32 or any(c.isspace() for c in key):
        raise custom_key_refused(field)
