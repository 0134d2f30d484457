"""Benchmark: the cost of the prompt estimate a reservation makes, per request.

    .venv/bin/python plugins/governance/spend/bench/prompt_estimate.py [--repeat 2000]

gateway-spend estimates a request's prompt tokens before the call when a budget or a tpm limit
applies (``estimate_prompt_tokens``): with the tokenizer core ships (:mod:`gateway.tokens`,
o200k_base), bounded to ``ESTIMATE_MAX_CHARS`` characters counted exactly.  This prints the
microseconds one estimate takes for chat requests of several sizes, decoded as the OpenAI
surface decodes them (raw lists, never decoded by the count), next to the four-characters-a-token
rule it replaced (``gateway.fake_openai.request_prompt_tokens``), and the one-off time to build
the encoding (once per worker, in a thread, when a request first needs an estimate).

Figures (2-core VM shared with other work; best of 5 rounds, microseconds per estimate):
see plugins/governance/spend/README.md ("Prompt estimate").
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from gateway_spend.pricing import estimate_prompt_tokens

from gateway import fake_openai, tokens
from gateway.chat import ChatRequest, decode_openai_chat

PARAGRAPH = (
    "The gateway reserves the most a request could cost before it calls the model, so concurrent "
    "requests never spend past a budget; the prompt's tokens are counted for that. "
)
CODE = "def handler(request):\n    return {'status': 200, 'body': request.json()}\n"


def chat(chars: int, messages: int) -> dict[str, Any]:
    """A conversation of ``messages`` turns holding about ``chars`` characters of prose and code."""
    per = max(1, chars // messages)
    text = ((PARAGRAPH + CODE) * (per // (len(PARAGRAPH) + len(CODE)) + 1))[:per]
    roles = ("user", "assistant")
    return {"model": "m", "messages": [{"role": roles[i % 2], "content": text} for i in range(messages)]}


def best_of(rounds: int, repeat: int, body: dict[str, Any], estimate: Callable[[ChatRequest], int]) -> float:
    """Microseconds per estimate, best of ``rounds``; a fresh decode each time, as per request."""
    best = float("inf")
    for _ in range(rounds):
        requests = [decode_openai_chat(body) for _ in range(repeat)]
        start = time.perf_counter()
        for request in requests:
            estimate(request)
        best = min(best, (time.perf_counter() - start) / repeat * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="estimates per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    tokens.encoding()
    print(f"build the encoding (once per process): {(time.perf_counter() - start) * 1e3:.0f} ms")
    cases = [
        ("a short question", 200, 1),
        ("a chat turn, 2 kB over 6 messages", 2_000, 6),
        ("a coding agent's turn, 20 kB over 40 messages", 20_000, 40),
        ("a long context, 200 kB over 100 messages (bounded)", 200_000, 100),
        ("a huge prompt, 2 MB in one message (bounded)", 2_000_000, 1),
    ]
    print(f"{'request':52} {'tokens':>8} {'us/estimate':>12} {'4-chars rule us':>16}")
    for name, chars, messages in cases:
        body = chat(chars, messages)
        repeat = max(20, args.repeat * 200 // max(chars, 200))
        counted = estimate_prompt_tokens(decode_openai_chat(body))
        ours = best_of(args.rounds, repeat, body, estimate_prompt_tokens)
        old = best_of(args.rounds, repeat, body, fake_openai.request_prompt_tokens)
        print(f"{name:52} {counted:>8} {ours:>12.1f} {old:>16.1f}")


if __name__ == "__main__":
    main()
