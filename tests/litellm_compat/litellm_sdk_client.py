"""The LiteLLM Python SDK calling the gateway as LiteLLM's docs show it (``litellm_proxy/<model>``).

Run by ``test_real_clients.py`` with ``.venv-litellm/bin/python`` (litellm needs openai<3, the test
venv pins openai 3): ``python litellm_sdk_client.py <gateway url> <api key>``.  Each call runs on
its own and reports what the application saw, or the error it raised, as one JSON object on stdout,
so one failing call does not hide the others.
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import litellm

BASE, KEY = sys.argv[1], sys.argv[2]
MESSAGES = [{"role": "user", "content": "say hi"}]


def completion() -> dict[str, Any]:
    response = litellm.completion(model="litellm_proxy/gpt-4o", messages=MESSAGES, api_base=BASE, api_key=KEY)
    return {
        "content": response.choices[0].message.content,
        "finish_reason": response.choices[0].finish_reason,
        "total_tokens": response.usage.total_tokens,
    }


def streaming() -> dict[str, Any]:
    chunks = list(
        litellm.completion(
            model="litellm_proxy/gpt-4o-mini",
            messages=MESSAGES,
            api_base=BASE,
            api_key=KEY,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    usage = [chunk.usage.total_tokens for chunk in chunks if getattr(chunk, "usage", None)]
    return {
        "content": "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices),
        "finish_reason": next(
            (c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason), None
        ),
        "total_tokens": usage[-1] if usage else None,
    }


def acompletion() -> dict[str, Any]:
    async def both() -> dict[str, Any]:
        response = await litellm.acompletion(
            model="litellm_proxy/gpt-4o", messages=MESSAGES, api_base=BASE, api_key=KEY
        )
        stream = await litellm.acompletion(
            model="litellm_proxy/gpt-4o", messages=MESSAGES, api_base=BASE, api_key=KEY, stream=True
        )
        streamed = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        return {"content": response.choices[0].message.content, "streamed": "".join(streamed)}

    return asyncio.run(both())


def embedding() -> dict[str, Any]:
    response = litellm.embedding(
        model="litellm_proxy/text-embedding-3-small", input=["say hi"], api_base=BASE, api_key=KEY
    )
    return {"dimensions": len(response.data[0]["embedding"]), "prompt_tokens": response.usage.prompt_tokens}


def run(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return call()
    except Exception as exc:  # reported to the test, which fails with it
        return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=5)}


if __name__ == "__main__":
    calls = {"completion": completion, "streaming": streaming, "acompletion": acompletion, "embedding": embedding}
    print(json.dumps({"litellm": version("litellm"), **{name: run(call) for name, call in calls.items()}}))
