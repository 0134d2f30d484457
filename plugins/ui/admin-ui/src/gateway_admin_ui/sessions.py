"""UI sessions in the gateway's SQL store (``ui_sessions``), so every worker and instance sees them.

The cookie holds a random secret.  The table holds only what the secret derives: its SHA-256 (the
row's id) and the key the session calls the admin API with, sealed with AES-256-GCM under another
hash of the secret.  Reading the table therefore opens no session and reveals no key; the browser
never sees the key either (the proxy under ``/ui/api/`` adds it server-side).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncEngine

metadata = sa.MetaData()
sessions = sa.Table(
    "ui_sessions",
    metadata,
    sa.Column("lookup", sa.String(64), primary_key=True),
    sa.Column("sealed_key", sa.Text, nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("identity", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)


def _lookup(secret: str) -> str:
    return hashlib.sha256(b"gateway-ui-lookup:" + secret.encode()).hexdigest()


def _sealing_key(secret: str) -> bytes:
    return hashlib.sha256(b"gateway-ui-seal:" + secret.encode()).digest()


def _seal(secret: str, api_key: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_sealing_key(secret)).encrypt(nonce, api_key.encode(), _lookup(secret).encode())
    return base64.b64encode(nonce + sealed).decode()


def _open(secret: str, sealed: str) -> str | None:
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(_sealing_key(secret)).decrypt(raw[:12], raw[12:], _lookup(secret).encode()).decode()
    except (InvalidTag, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Session:
    api_key: str
    csrf_token: str
    identity: dict[str, Any]
    expires_at: datetime


def _aware(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back: they were written in UTC
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class SessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, api_key: str, identity: dict[str, Any], expires_at: datetime) -> tuple[str, str]:
        """A new session: ``(cookie secret, CSRF token)``.  Ended sessions are cleared on the way."""
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(sessions).where(sessions.c.expires_at < now))
            await conn.execute(
                sa.insert(sessions).values(
                    lookup=_lookup(secret),
                    sealed_key=_seal(secret, api_key),
                    csrf_token=csrf,
                    identity=identity,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return secret, csrf

    async def get(self, secret: str) -> Session | None:
        """The live session the cookie's secret opens, else ``None`` (unknown, forged, ended)."""
        if not secret or len(secret) > 128:
            return None
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(sessions).where(sessions.c.lookup == _lookup(secret)))).first()
        if row is None or _aware(row.expires_at) <= datetime.now(UTC):
            return None
        api_key = _open(secret, row.sealed_key)
        if api_key is None:
            return None
        return Session(api_key, row.csrf_token, dict(row.identity), _aware(row.expires_at))

    async def delete(self, secret: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(sessions).where(sessions.c.lookup == _lookup(secret)))
