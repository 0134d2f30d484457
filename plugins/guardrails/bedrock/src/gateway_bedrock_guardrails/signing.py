"""AWS credentials and SigV4 signing with botocore (imported when a guardrail starts, not at import)."""

from __future__ import annotations

from typing import Any


def resolve_credentials(access_key: str | None, secret_key: str | None, token: str | None, profile: str | None) -> Any:
    """Explicit keys, else botocore's default chain (env, profile, SSO, container/instance role).

    Slow when the chain reaches the instance metadata service: call it in a thread.
    """
    import botocore.session
    from botocore.credentials import Credentials

    if access_key and secret_key:
        return Credentials(access_key, secret_key, token)
    return botocore.session.Session(profile=profile).get_credentials()


def signed_headers(credentials: Any, region: str, url: str, body: bytes) -> dict[str, str]:
    """The headers of a SigV4-signed ``POST url`` for the ``bedrock`` service (x-amz-date, authorization ...)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method="POST", url=url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(credentials.get_frozen_credentials(), "bedrock", region).add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}
