"""Usage an upstream did not report, counted by the gateway (issue 24).

Local servers (llama.cpp, some vLLM and Ollama builds) ignore ``stream_options.include_usage`` and
may answer without ``usage`` at all.  A client that asked for usage still gets it, and so does the
Anthropic stream's ``message_delta.usage`` and the ledger: the prompt and the answer are counted
with the tokenizer the gateway ships (:mod:`gateway.tokens`), and the :class:`~gateway.Usage` is
marked ``estimated`` (the log event's ``usage.estimated``, the ledger's ``usage_estimated``).

Only successful answers are filled in; a stream that broke has no end to put usage at (the spend
plugin still estimates what it cost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from gateway import tokens
from gateway._types import Usage
from gateway.chat import openai_usage

if TYPE_CHECKING:
    from gateway._types import JSONResponseBody, RequestContext

#: the endpoints whose answers carry usage the gateway can count
COUNTED = frozenset({"chat", "completions", "embeddings"})
#: characters of a prompt counted exactly; past that, the rest is estimated from the counted part's
#: tokens a character (a long prompt must not hold the event loop for long)
PROMPT_MAX_CHARS = 200_000


async def estimated_usage(ctx: RequestContext, answer_texts: Iterable[str]) -> Usage:
    """The request's prompt and the answer's ``answer_texts``, counted; set on ``ctx.usage``."""
    if not tokens.loaded():
        await tokens.load()  # built once per process, in a thread
    prompt = tokens.count_request(ctx.request, max_chars=PROMPT_MAX_CHARS)
    completion = sum(tokens.count_text(text) for text in answer_texts) if ctx.endpoint != "embeddings" else 0
    usage = ctx.usage = Usage(prompt, completion, prompt + completion, estimated=True)
    return usage


def usage_json(usage: Usage) -> dict[str, Any]:
    return openai_usage(usage.prompt_tokens, usage.completion_tokens)


async def fill_answer(ctx: RequestContext, response: JSONResponseBody) -> None:
    """A successful answer without ``usage``: count it, and add it to the answer the client gets."""
    data = response.data
    usage = await estimated_usage(ctx, _answer_texts(data.get("choices")))
    response.data = {**data, "usage": usage_json(usage)}


async def usage_chunk(ctx: RequestContext, chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The usage-only chunk that ends a stream whose upstream sent none (``chunks``: what it sent)."""
    # a stream's pieces split words: each choice's text is put back together before it is counted
    pieces: dict[tuple[Any, ...], list[str]] = {}
    for chunk in chunks:
        for key, text in _delta_texts(chunk.get("choices")):
            pieces.setdefault(key, []).append(text)
    usage = await estimated_usage(ctx, ("".join(texts) for texts in pieces.values()))
    last = chunks[-1] if chunks else {}
    out: dict[str, Any] = {key: last[key] for key in ("id", "object", "created", "model") if key in last}
    out["choices"] = []
    out["usage"] = usage_json(usage)
    return out


def _answer_texts(choices: Any) -> Iterable[str]:
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, Mapping):
            continue
        if isinstance(text := choice.get("text"), str):  # completions
            yield text
        message = choice.get("message")
        if isinstance(message, Mapping):
            yield from (text for _, text in _message_texts(message))


def _delta_texts(choices: Any) -> Iterable[tuple[tuple[Any, ...], str]]:
    """``(which text, piece)`` for each text piece of a chunk's choices."""
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, Mapping):
            continue
        index = choice.get("index")
        if isinstance(text := choice.get("text"), str):
            yield (index, "text"), text
        delta = choice.get("delta")
        if isinstance(delta, Mapping):
            for key, piece in _message_texts(delta):
                yield (index, *key), piece


def _message_texts(message: Mapping[str, Any]) -> Iterable[tuple[tuple[Any, ...], str]]:
    for member in ("content", "reasoning_content"):
        if isinstance(text := message.get(member), str):
            yield (member,), text
    calls = message.get("tool_calls")
    for position, call in enumerate(calls if isinstance(calls, list) else ()):
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            which = call.get("index", position)
            for member in ("name", "arguments"):
                if isinstance(value := function.get(member), str):
                    yield ("tool", which, member), value
