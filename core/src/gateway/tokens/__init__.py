"""Token counts with a real tokenizer that ships in this package (public API for plugins).

The tokenizer is OpenAI's ``o200k_base`` (GPT-4o's) run by ``tiktoken``.  tiktoken downloads an
encoding's BPE file from the internet the first time it is asked for one, so the gateway does not
ask it: the file ships here (``o200k_base.tiktoken.gz``, byte for byte the file OpenAI publishes,
checked against the SHA-256 tiktoken itself expects, under tiktoken's MIT licence in
``LICENSE.tiktoken``) and the encoding is built from it.  Nothing is fetched at run time.

For models of other families (Claude, Gemini, Llama ...) the count is an estimate from a real BPE,
much closer than characters divided by four; Anthropic deployments count with Anthropic's own
endpoint instead (gateway-anthropic).

Building the encoding takes most of a second and about 70 MB, once per process: await
:func:`load` (it builds in a thread, so the event loop keeps serving) before the first count, and
only where counts are needed.  The counting functions then cost about 0.1 microsecond per
character (tiktoken's speed), so a count on the hot path passes ``max_chars``.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import math
import threading
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import orjson
import tiktoken

from gateway.chat import ChatRequest, File, Image, ModelRequest, Opaque, Text, Thinking, Tool, ToolCall, ToolResult

ENCODING_NAME = "o200k_base"
#: the SHA-256 of the uncompressed BPE file, as tiktoken's own o200k_base constructor expects it
_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
#: o200k_base's pre-tokenizer and special tokens (the encoding's published definition)
_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}

#: OpenAI's accounting for chat messages: each message costs a few tokens of framing, and the
#: reply is primed with a few more (its cookbook's "counting tokens for chat" rule)
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
#: an image or a document is counted as a fixed amount: the gateway does not decode pictures to
#: measure them (a 1024x1024 picture is about this much at OpenAI and at Anthropic)
TOKENS_PER_IMAGE = 1_500

_encoding: tiktoken.Encoding | None = None
_lock = threading.Lock()


def encoding() -> tiktoken.Encoding:
    """The shipped encoding, built on first use (blocking: most of a second; prefer :func:`load`)."""
    global _encoding
    if _encoding is None:
        with _lock:
            if _encoding is None:
                _encoding = _build()
    return _encoding


async def load() -> tiktoken.Encoding:
    """The encoding, built in a thread the first time so the event loop keeps serving."""
    if _encoding is not None:
        return _encoding
    return await asyncio.to_thread(encoding)


def loaded() -> bool:
    return _encoding is not None


def _build() -> tiktoken.Encoding:
    packed = resources.files(__name__).joinpath(f"{ENCODING_NAME}.tiktoken.gz").read_bytes()
    raw = gzip.decompress(packed)
    if hashlib.sha256(raw).hexdigest() != _SHA256:
        raise RuntimeError(f"gateway/tokens/{ENCODING_NAME}.tiktoken.gz is damaged: reinstall the gateway package")
    decode = base64.b64decode
    ranks = {decode(token): int(rank) for token, rank in (line.split() for line in raw.splitlines() if line)}
    return tiktoken.Encoding(ENCODING_NAME, pat_str=_PATTERN, mergeable_ranks=ranks, special_tokens=_SPECIAL)


def count_text(text: str) -> int:
    """Tokens of ``text`` (special-token spellings in it count as the ordinary text they are)."""
    if not text:
        return 0
    return len(encoding().encode_ordinary(text))


class _Counter:
    """Adds up texts' tokens: exactly until ``max_chars`` characters were encoded (all of them when
    None), then by the tokens-per-character of the part counted exactly, plus a tenth: an estimate
    for a reservation errs high."""

    __slots__ = ("left", "tokens", "exact_chars", "rest_chars", "encode")

    def __init__(self, max_chars: int | None) -> None:
        self.left = max_chars
        self.tokens = 0
        self.exact_chars = 0
        self.rest_chars = 0
        self.encode = encoding().encode_ordinary

    def __call__(self, text: str) -> None:
        if not text:
            return
        if self.left is None:
            self.tokens += len(self.encode(text))
            return
        exact = text[: self.left] if self.left > 0 else ""
        if exact:
            self.tokens += len(self.encode(exact))
            self.left -= len(exact)
            self.exact_chars += len(exact)
        self.rest_chars += len(text) - len(exact)

    def total(self) -> int:
        if not self.rest_chars:
            return self.tokens
        # a quarter of a token a character at least (the old rule of thumb), in case the sample was sparse
        ratio = max(self.tokens / self.exact_chars if self.exact_chars else 0.0, 0.25) * 1.1
        return self.tokens + math.ceil(self.rest_chars * ratio)


def count_request(request: ModelRequest | None, *, max_chars: int | None = None) -> int:
    """Prompt tokens of a request before it is sent: a chat request's messages (texts, tool calls
    and results, thinking; images and documents at :data:`TOKENS_PER_IMAGE`), its tools and
    their framing; a completions or embeddings request's ``prompt`` / ``input``.

    ``max_chars`` bounds the work: past that many characters the rest is estimated from the
    tokens a character of the counted part took.  An OpenAI
    request nobody decoded is counted from the client's own lists (counting decodes nothing).
    """
    if request is None:
        return 0
    add = _Counter(max_chars)
    if isinstance(request, ChatRequest):
        fixed = _count_chat(request, add)
    else:
        body = request.extra if request.extra_touched else request.body
        value = body.get("prompt")
        if value is None:
            value = body.get("input")
        fixed = _count_prompt(value, add)
    return add.total() + fixed


def _count_prompt(value: Any, add: _Counter) -> int:
    """A completions ``prompt`` or embeddings ``input``: a string, strings, or token id lists."""
    if isinstance(value, str):
        add(value)
        return 0
    fixed = 0
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                add(item)
            elif isinstance(item, list):
                fixed += len(item)  # token ids: one each
            else:
                fixed += 1
    return fixed


def _count_chat(request: ChatRequest, add: _Counter) -> int:
    fixed = REPLY_PRIMING
    if request.format == "openai" and not request.messages_decoded:
        for message in request.raw_messages():
            fixed += TOKENS_PER_MESSAGE + _raw_message(message, add)
    else:
        for message in request.messages:
            fixed += TOKENS_PER_MESSAGE + (TOKENS_PER_NAME if message.name else 0)
            for part in message.parts:
                fixed += _part(part, add)
    if request.tools_decoded:
        for tool in request.tools or ():
            if isinstance(tool, Tool):
                add(tool.name)
                if tool.description:
                    add(tool.description)
                add(orjson.dumps(tool.parameters).decode())
            else:
                add(orjson.dumps(tool.data).decode())
    else:
        raw_tools = request.body.get("tools")
        if isinstance(raw_tools, list) and raw_tools:
            add(orjson.dumps(raw_tools).decode())
    return fixed


def _part(part: Any, add: _Counter) -> int:
    if isinstance(part, Text):
        add(part.text)
    elif isinstance(part, ToolCall):
        add(part.name)
        add(part.arguments_json())
    elif isinstance(part, ToolResult):
        return sum(_part(inner, add) for inner in part.parts)
    elif isinstance(part, Thinking):
        add(part.text or "")
    elif isinstance(part, File) and part.text is not None:
        add(part.text)
    elif isinstance(part, Image | File):
        return TOKENS_PER_IMAGE
    elif isinstance(part, Opaque):
        add(orjson.dumps(part.data).decode())
    return 0


def _raw_message(message: Any, add: _Counter) -> int:
    """An OpenAI message as the client sent it."""
    if not isinstance(message, Mapping):
        return 0
    fixed = TOKENS_PER_NAME if message.get("name") else 0
    for text in _raw_texts(message.get("content")):
        if text is None:
            fixed += TOKENS_PER_IMAGE
        else:
            add(text)
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                for member in ("name", "arguments"):
                    value = function.get(member)
                    if isinstance(value, str):
                        add(value)
                    elif value is not None:
                        add(orjson.dumps(value).decode())
    return fixed


def _raw_texts(content: Any) -> Iterator[str | None]:
    """The texts of an OpenAI ``content``; None for each image, audio or file part."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if not isinstance(part, Mapping):
                continue
            text = part.get("text")
            if isinstance(text, str):
                yield text
            elif part.get("type") in ("image_url", "input_audio", "file"):
                yield None


__all__ = [
    "ENCODING_NAME",
    "TOKENS_PER_IMAGE",
    "TOKENS_PER_MESSAGE",
    "REPLY_PRIMING",
    "count_request",
    "count_text",
    "encoding",
    "load",
    "loaded",
]
