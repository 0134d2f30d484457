"""gateway.tokens: a real tokenizer (o200k_base) that ships in the package and never downloads.

The offline proof runs in a fresh interpreter with every way out closed: sockets refuse to
connect, the proxies point nowhere, and tiktoken's cache directory is empty.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tiktoken_ext.openai_public

from gateway import tokens
from gateway.chat import decode_openai_chat, decode_openai_prompt

OFFLINE = textwrap.dedent(
    """
    import socket, sys

    def refuse(*args, **kwargs):
        raise OSError("network access attempted: " + repr(args[:2]))

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from gateway import tokens
    print(tokens.count_text("Hello, world! Counting tokens offline."))
    """
)


def test_the_tokenizer_loads_with_no_network_and_an_empty_tiktoken_cache(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "cache"),
        "DATA_GYM_CACHE_DIR": str(tmp_path / "cache"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    done = subprocess.run([sys.executable, "-c", OFFLINE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 8
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_the_encoding_is_tiktokens_o200k_base(monkeypatch: pytest.MonkeyPatch) -> None:
    """tiktoken's own o200k_base definition, given the shipped ranks instead of a download, is the
    encoding the gateway builds: same pattern, same special tokens, same ranks."""
    ours = tokens.encoding()
    monkeypatch.setattr(tiktoken_ext.openai_public, "load_tiktoken_bpe", lambda *a, **k: ours._mergeable_ranks)
    reference = tiktoken_ext.openai_public.o200k_base()
    assert reference["pat_str"] == ours._pat_str
    assert reference["special_tokens"] == ours._special_tokens
    assert ours.n_vocab == 200019
    # known counts of the GPT-4o tokenizer
    assert ours.encode_ordinary("hello world") == [24912, 2375]
    assert tokens.count_text("<|endoftext|>") > 1  # a special token's spelling is ordinary text


def test_a_chat_request_counts_its_texts_tools_and_framing() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
        "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
    }
    raw = decode_openai_chat(body)
    counted_raw = tokens.count_request(raw)
    assert not raw.messages_decoded  # counting decoded nothing: the encoder's fast path stays open
    texts = ["You are terse.", "Weather in Paris?", "weather", '{"city":"Paris"}', "sunny"]
    words = sum(tokens.count_text(t) for t in texts)
    assert counted_raw > words + 4 * tokens.TOKENS_PER_MESSAGE + tokens.REPLY_PRIMING
    typed = decode_openai_chat(body)
    assert typed.messages and typed.tools  # decoded: the typed path gives the same messages' count
    assert tokens.count_request(typed) >= words + 4 * tokens.TOKENS_PER_MESSAGE + tokens.REPLY_PRIMING


def test_embeddings_and_completions_count_their_input() -> None:
    assert tokens.count_request(decode_openai_prompt({"model": "e", "input": ["hello world", "hi"]}, "embeddings")) == 3
    assert tokens.count_request(decode_openai_prompt({"model": "e", "input": [[1, 2, 3]]}, "embeddings")) == 3
    assert tokens.count_request(decode_openai_prompt({"model": "c", "prompt": "hello world"}, "completions")) == 2
    assert tokens.count_request(None) == 0


def test_max_chars_bounds_the_work_and_errs_high() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 5_000
    request = decode_openai_prompt({"model": "c", "prompt": text}, "completions")
    exact = tokens.count_request(request)
    bounded = tokens.count_request(request, max_chars=10_000)
    assert exact == tokens.count_text(text)
    assert exact < bounded <= len(text) // 3 + 1  # the rest at three characters a token: never below the truth here
