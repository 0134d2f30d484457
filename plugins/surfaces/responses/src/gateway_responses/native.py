"""Same-format pass-through: a deployment that serves the Responses API itself gets the request there.

Which deployments: ``openai/`` models on OpenAI's own API (no ``api_base``), and any OpenAI-format
deployment whose ``model_info.supported_endpoints`` lists ``/v1/responses`` (LiteLLM's opt-in; a
list without it keeps a deployment bridged).  Every other deployment is bridged through chat
completions (:mod:`.decode`).

The request goes to ``{api_base}/responses`` as the client sent it (gateway fields left out, the
deployment's model name) unless a hook changed it: then its input is encoded again from the typed
messages.  The gateway keeps conversations itself, so ``previous_response_id`` becomes the earlier
turns' items in ``input``.  The answer's bytes and events reach the client unchanged while no hook
changed them; hooks, usage and the ledger see the OpenAI chat form built from them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from gateway import (
    GATEWAY_ONLY_FIELDS,
    Deployment,
    JSONResponseBody,
    NativeEvents,
    RequestContext,
    StreamResponseBody,
    UpstreamError,
)
from gateway.chat import JSON, File, Image, Message, Opaque, Part, Text, Thinking, ToolCall, ToolResult
from gateway.upstream import SSEDecoder, iter_body

from .decode import FORMAT, ResponsesRequest, decode_items

#: providers whose upstreams do not speak OpenAI's format (or not at ``{api_base}/responses``)
NOT_OPENAI_FORMAT = frozenset({"anthropic", "gemini", "vertex_ai", "bedrock", "mock", "azure", "azure_ai"})
OPENAI_API = "https://api.openai.com/v1"
#: where a streamed answer's final Response object is left for the surface (``ctx.state``)
FINAL = "responses.native_final"


def speaks_responses(deployment: Deployment) -> bool:
    if deployment.provider in NOT_OPENAI_FORMAT:
        return False
    endpoints = deployment.model_info.get("supported_endpoints")
    if isinstance(endpoints, (list, tuple)):
        return ("/v1/responses" in endpoints or "/responses" in endpoints) and bool(_base(deployment))
    return deployment.provider == "openai" and not deployment.params.get("api_base")


def _base(deployment: Deployment) -> str | None:
    base = deployment.params.get("api_base")
    if isinstance(base, str) and base:
        return base.rstrip("/")
    return OPENAI_API if deployment.provider == "openai" else None


def _key(deployment: Deployment) -> str | None:
    key = deployment.params.get("api_key")
    if isinstance(key, str) and key:
        return key
    return os.environ.get("OPENAI_API_KEY") if deployment.provider == "openai" else None


# --------------------------------------------------------------------------- the request


def native_body(request: ResponsesRequest, model: str) -> JSON:
    """The body for the upstream: the client's, with the changes hooks made."""
    body = {k: v for k, v in request.body.items() if k not in GATEWAY_ONLY_FIELDS}
    body["model"] = model
    body.pop("previous_response_id", None)  # the gateway's own conversations: the earlier turns go in input
    instructions = request.echo.get("instructions")
    expected = [Message("system", [Text(instructions)], content_form="text")] if instructions is not None else []
    expected += decode_items(request.history, "previous_response_id") + decode_items(request.input_items, "input")
    if request.messages == expected:
        if request.history:
            body["input"] = request.history + request.input_items
    else:  # a hook changed the conversation (a guardrail masked a text ...): encoded from the typed messages
        body.pop("instructions", None)
        body["input"] = encode_items(request.messages)
    for name in request.changed_fields():
        _TOP.get(name, _ignore)(request, body)
    return body


def _ignore(request: ResponsesRequest, body: JSON) -> None:
    return None


def _set(name: str, value: Any, body: JSON) -> None:
    if value is None:
        body.pop(name, None)
    else:
        body[name] = value


_TOP: dict[str, Any] = {
    "max_tokens": lambda r, b: _set("max_output_tokens", r.max_tokens, b),
    "temperature": lambda r, b: _set("temperature", r.temperature, b),
    "top_p": lambda r, b: _set("top_p", r.top_p, b),
    "user": lambda r, b: _set("user", r.user, b),
    "parallel_tool_calls": lambda r, b: _set("parallel_tool_calls", r.parallel_tool_calls, b),
    "reasoning_effort": lambda r, b: _set("reasoning", {**(b.get("reasoning") or {}), "effort": r.reasoning_effort}, b),
}


def encode_items(messages: list[Message]) -> list[JSON]:
    """Typed messages as Responses input items (the form :func:`.decode.decode_items` reads)."""
    items: list[JSON] = []
    for message in messages:
        if message.role == "assistant":
            items += _assistant_items(message)
            continue
        content: list[JSON] = []
        for part in message.parts:
            if isinstance(part, ToolResult):
                output: Any = part.text() if all(isinstance(p, Text) for p in part.parts) else _parts(part.parts)
                items.append({"type": "function_call_output", "call_id": part.call_id, "output": output})
            else:
                content += _parts([part])
        if content:
            items.append({"type": "message", "role": message.role, "content": content})
    return items


def _assistant_items(message: Message) -> list[JSON]:
    items: list[JSON] = []
    text: list[JSON] = []
    for part in message.parts:
        if isinstance(part, Text):
            text.append({"type": "output_text", "text": part.text})
            continue
        if text:
            items.append({"type": "message", "role": "assistant", "content": text})
            text = []
        if isinstance(part, Thinking):
            summary = [{"type": "summary_text", "text": part.text}] if part.text else []
            items.append(
                {"type": "reasoning", "summary": summary, "encrypted_content": part.signature or part.redacted}
            )
        elif isinstance(part, ToolCall):
            items.append({"type": "function_call", "call_id": part.id, "name": part.name,
                          "arguments": part.arguments_json()})  # fmt: skip
        elif isinstance(part, Opaque) and part.format == FORMAT:
            items.append(part.data)
    if text:
        items.append({"type": "message", "role": "assistant", "content": text})
    return items


def _parts(parts: list[Part]) -> list[JSON]:
    out: list[JSON] = []
    for part in parts:
        if isinstance(part, Text):
            out.append({"type": "input_text", "text": part.text})
        elif isinstance(part, Image):
            inline = part.inline()
            url = f"data:{inline[0]};base64,{inline[1]}" if inline else part.url
            out.append({"type": "input_image", "image_url": url, "detail": part.detail or "auto"})
        elif isinstance(part, File):
            spec: JSON = {"type": "input_file"}
            if part.file_id is not None:
                spec["file_id"] = part.file_id
            elif part.url is not None and not part.url.startswith("data:"):
                spec["file_url"] = part.url
            else:
                inline = part.inline()
                spec["file_data"] = f"data:{inline[0]};base64,{inline[1]}" if inline else part.text or ""
            if part.filename:
                spec["filename"] = part.filename
            out.append(spec)
        elif isinstance(part, Opaque) and part.format == FORMAT:
            out.append(part.data)
    return out


# --------------------------------------------------------------------------- the answer, in OpenAI's chat form


def completion_from_response(response: Mapping[str, Any]) -> JSON:
    """A Response object as the chat completion every hook reads (usage for cost and the ledger)."""
    text: list[str] = []
    reasoning: list[str] = []
    calls: list[JSON] = []
    for item in response.get("output") or ():
        kind = item.get("type")
        if kind == "message":
            text += [p.get("text", "") for p in item.get("content") or () if p.get("type") == "output_text"]
        elif kind == "function_call":
            calls.append({"id": item.get("call_id"), "type": "function",
                          "function": {"name": item.get("name"), "arguments": item.get("arguments", "")}})  # fmt: skip
        elif kind == "reasoning":
            reasoning += [s.get("text", "") for s in item.get("summary") or ()]
    message: JSON = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = "\n".join(reasoning)
    incomplete = (response.get("incomplete_details") or {}).get("reason")
    finish = (
        "tool_calls"
        if calls
        else {"max_output_tokens": "length", "content_filter": "content_filter"}.get(incomplete or "", "stop")
    )
    return {
        "id": response.get("id"),
        "object": "chat.completion",
        "created": int(response.get("created_at") or 0),
        "model": response.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": chat_usage(response.get("usage")),
    }


def chat_usage(usage: Mapping[str, Any] | None) -> JSON | None:
    if not usage:
        return None
    input_details = usage.get("input_tokens_details") or {}
    output_details = usage.get("output_tokens_details") or {}
    prompt, completion = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    out: JSON = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
        "prompt_tokens_details": {"cached_tokens": int(input_details.get("cached_tokens") or 0)},
    }
    if output_details.get("reasoning_tokens"):
        out["completion_tokens_details"] = {"reasoning_tokens": int(output_details["reasoning_tokens"])}
    return out


# --------------------------------------------------------------------------- the call


async def native_call(
    ctx: RequestContext, request: ResponsesRequest, deployment: Deployment, gateway: Any
) -> JSONResponseBody | StreamResponseBody:
    base = _base(deployment)
    headers = {"content-type": "application/json"}
    key = _key(deployment)
    if key:
        headers["authorization"] = f"Bearer {key}"
    url = f"{base}/responses"
    payload = orjson.dumps(native_body(request, deployment.model))
    provider = deployment.provider
    if not request.stream:
        _, _, raw = await gateway.upstream.post(provider, url, payload, headers, timeout=deployment.timeout)
        answer = orjson.loads(raw)
        if not isinstance(answer, dict):
            raise UpstreamError(f"{provider} answered /responses with something that is not a Response object")
        return JSONResponseBody(raw=raw, format=FORMAT, to_openai=lambda: completion_from_response(answer))
    resp = await gateway.upstream.open_stream(provider, url, payload, headers, timeout=deployment.stream_timeout)
    native = NativeEvents(FORMAT)
    chunks = _chunks(iter_body(resp, provider, deployment.stream_timeout), native, ctx, provider)
    stream = StreamResponseBody(chunks, native=native)
    stream.on_close(resp.release)
    return stream


async def _chunks(
    body: AsyncIterator[bytes], native: NativeEvents, ctx: RequestContext, provider: str
) -> AsyncIterator[JSON]:
    """The upstream's Responses events, each kept as it came (``native``), as OpenAI chat chunks."""
    decoder = SSEDecoder()
    calls: dict[str, int] = {}
    base: JSON = {"id": "", "object": "chat.completion.chunk", "created": 0, "model": ""}

    def chunk(delta: JSON, finish: str | None = None) -> JSON:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    async for data in body:
        for sse in decoder.feed(data):
            native.add(
                f"event: {sse.event}\ndata: {sse.data}\n\n".encode() if sse.event else f"data: {sse.data}\n\n".encode()
            )
            event = sse.json() if sse.data and sse.data != "[DONE]" else {}
            kind = event.get("type") or sse.event
            if kind == "response.created":
                started = event.get("response") or {}
                base.update(id=started.get("id", ""), created=int(started.get("created_at") or 0),
                            model=started.get("model", ""))  # fmt: skip
                yield chunk({"role": "assistant"})
            elif kind == "response.output_text.delta":
                yield chunk({"content": event.get("delta", "")})
            elif kind == "response.reasoning_summary_text.delta":
                yield chunk({"reasoning_content": event.get("delta", "")})
            elif kind == "response.output_item.added" and (event.get("item") or {}).get("type") == "function_call":
                item = event["item"]
                index = calls.setdefault(str(item.get("id")), len(calls))
                yield chunk({"tool_calls": [{"index": index, "id": item.get("call_id"), "type": "function",
                                             "function": {"name": item.get("name"), "arguments": ""}}]})  # fmt: skip
            elif kind == "response.function_call_arguments.delta":
                index = calls.get(str(event.get("item_id")), 0)
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": event.get("delta", "")}}]})
            elif kind in ("response.completed", "response.incomplete"):
                final = event.get("response") or {}
                ctx.state[FINAL] = final
                completion = completion_from_response(final)
                yield chunk({}, completion["choices"][0]["finish_reason"])
                if completion["usage"]:
                    yield {**base, "choices": [], "usage": completion["usage"]}
            elif kind in ("response.failed", "error"):
                error = (event.get("response") or {}).get("error") or event
                raise UpstreamError(f"{provider} failed the response: {error.get('message') or 'no reason given'}")
