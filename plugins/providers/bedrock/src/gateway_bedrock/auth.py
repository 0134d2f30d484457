"""AWS credentials, region and SigV4 signing for one Bedrock deployment.

Credentials come from, in order: the deployment's ``aws_access_key_id`` / ``aws_secret_access_key``
/ ``aws_session_token``; otherwise botocore's standard chain (environment variables, the
``aws_profile_name`` profile or the default one, SSO, container and instance roles).  The chain can
do blocking I/O (files, the instance metadata service), so it runs once, in a thread, on the first
request, and again only when botocore says temporary credentials need refreshing.  Signing itself
(botocore's ``SigV4Auth``) is CPU only, about 60 microseconds per request.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gateway import UpstreamError

if TYPE_CHECKING:
    from botocore.credentials import Credentials, ReadOnlyCredentials

SIGNING_NAME = "bedrock"
#: how long a failed credential lookup is remembered before the chain is asked again
FAILED_LOOKUP_TTL = 30.0


def region_for(params: Mapping[str, Any]) -> str:
    """The deployment's region: params, then ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, then the profile."""
    region = (
        params.get("aws_region_name")
        or params.get("region_name")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not region:
        import botocore.session  # start-up only: reads ~/.aws/config

        region = botocore.session.Session(profile=params.get("aws_profile_name")).get_config_variable("region")
    if not region:
        raise ValueError(
            "bedrock deployments need a region: set aws_region_name (for example us-east-1), AWS_REGION, or a profile's region"
        )
    return str(region)


class AwsSigner:
    """Signs requests for one deployment with cached credentials."""

    def __init__(self, params: Mapping[str, Any], region: str) -> None:
        # botocore takes ~0.1 s to import: only when a Bedrock deployment exists, and at start-up
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import ReadOnlyCredentials, RefreshableCredentials

        self._auth_class, self._request_class, self._refreshable = SigV4Auth, AWSRequest, RefreshableCredentials
        self.region = region
        self.profile: str | None = params.get("aws_profile_name")
        key, secret = params.get("aws_access_key_id"), params.get("aws_secret_access_key")
        if bool(key) != bool(secret):
            raise ValueError(
                "set both aws_access_key_id and aws_secret_access_key, or neither (to use the standard AWS credential chain)"
            )
        self._static = ReadOnlyCredentials(key, secret, params.get("aws_session_token")) if key else None
        self._chain: Credentials | None = None
        self._failed_at = 0.0
        self._lock: asyncio.Lock | None = None

    async def credentials(self) -> ReadOnlyCredentials:
        if self._static is not None:
            return self._static
        chain = self._chain
        if chain is not None and not (isinstance(chain, self._refreshable) and chain.refresh_needed()):
            return chain.get_frozen_credentials()
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._chain is None:
                if time.monotonic() - self._failed_at < FAILED_LOOKUP_TTL:
                    raise self._missing()
                self._chain = await asyncio.to_thread(self._lookup)
                if self._chain is None:
                    self._failed_at = time.monotonic()
                    raise self._missing()
            # a refresh may call STS or the metadata service: keep it off the event loop
            return await asyncio.to_thread(self._chain.get_frozen_credentials)

    def _lookup(self) -> Credentials | None:
        import botocore.session

        return botocore.session.Session(profile=self.profile).get_credentials()

    def _missing(self) -> UpstreamError:
        return UpstreamError(
            "no AWS credentials found for bedrock: set aws_access_key_id and aws_secret_access_key on the deployment, "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, or aws_profile_name",
            status=502,
            type="upstream_auth_error",
        )

    async def sign(self, url: str, body: bytes, headers: Mapping[str, str], method: str = "POST") -> dict[str, str]:
        """The headers to send: ``headers`` plus ``Authorization``, ``X-Amz-Date`` (and the session token)."""
        request = self._request_class(method=method, url=url, data=body, headers=dict(headers))
        self._auth_class(await self.credentials(), SIGNING_NAME, self.region).add_auth(request)
        return dict(request.headers.items())
