"""Provider-neutral helpers for providers that translate OpenAI chat requests to another format.

Every translating provider (Anthropic, Gemini, Bedrock ...) needs the same things on the OpenAI
side: read the request's content parts, tools, ``tool_choice`` and ``stop`` in one normalised
shape, refuse unsupported parameters (or drop them under ``drop_params``), and build OpenAI
``chat.completion`` / ``chat.completion.chunk`` / ``usage`` dicts from the upstream's answer.
They live here so that each provider only writes its own format.

Every check raises :class:`gateway.errors.BadRequestError` with the offending ``param`` and a
message that says how to fix it, so bad input is refused before any upstream call.

Functions here are a stable API for provider plugins: new ones may be added, existing ones keep
their names and signatures.
"""

from gateway.translation.answers import *  # noqa: F403
from gateway.translation.answers import __all__ as _answers
from gateway.translation.requests import *  # noqa: F403
from gateway.translation.requests import __all__ as _requests

__all__ = [*_requests, *_answers]
