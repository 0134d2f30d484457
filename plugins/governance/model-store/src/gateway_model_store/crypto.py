"""Credentials at rest: a stored model's ``litellm_params`` are encrypted with the salt key.

The key is SHA-256 of the salt: ``LITELLM_SALT_KEY`` / ``GATEWAY_SALT_KEY`` (what LiteLLM and
gateway-virtual-keys read), else one derived from the master key.  Like LiteLLM's, it must never
change once models are stored: a row it cannot decrypt is reported and not served.  AES-256-GCM
(authenticated: a row altered in the database fails to decrypt instead of reaching an upstream),
a random 96-bit nonce per value, stored as ``v1:`` + url-safe base64 of nonce + ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from gateway import ConfigError

PREFIX = "v1:"
_DERIVATION_LABEL = b"gateway-model-store/salt/v1"


def salt_from_environment(master_key: str | None) -> bytes:
    explicit = os.environ.get("GATEWAY_SALT_KEY") or os.environ.get("LITELLM_SALT_KEY")
    if explicit:
        return explicit.encode()
    if master_key:
        return hmac.new(master_key.encode(), _DERIVATION_LABEL, hashlib.sha256).digest()
    raise ConfigError(
        "general_settings.store_model_in_db needs a key to encrypt the models' credentials with: set "
        "LITELLM_SALT_KEY (or GATEWAY_SALT_KEY), or general_settings.master_key"
    )


class DecryptError(ValueError):
    """A stored value that this salt key cannot decrypt (another key, or altered)."""


class Sealer:
    __slots__ = ("_aead",)

    def __init__(self, salt: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(hashlib.sha256(salt).digest())

    def seal(self, plaintext: bytes) -> str:
        nonce = os.urandom(12)
        return PREFIX + base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, plaintext, None)).decode()

    def open(self, token: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        if not token.startswith(PREFIX):
            raise DecryptError("not a value this plugin stored")
        try:
            raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
            return self._aead.decrypt(raw[:12], raw[12:], None)
        except (InvalidTag, ValueError) as exc:
            raise DecryptError("cannot be decrypted with this salt key (was LITELLM_SALT_KEY changed?)") from exc
