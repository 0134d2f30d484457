"""Benchmark: what the semantic cache's parts cost, and how a lookup grows with its candidate bound.

    .venv/bin/python plugins/cache/cache/bench/semantic_index.py [REPEATS]     (default 300)

Measured in one process against the real Redis on 127.0.0.1:6379 with the plugin's own code:

* embedding a prompt with the shipped model (``StaticEmbedder.embed_now``) and its guard signature;
* a lookup at N candidates: ``GET`` of the context's and signature's records through redis-py's
  asyncio client, and ``nearest`` (decode, one matrix-vector product), for N = 1 .. 4096;
* storing an entry with its vector (a SET and the Lua script that prepends a record and truncates,
  pipelined in one round trip), at the default bound of 100 candidates;
* for comparison, the first design: one Redis list entry per vector read with ``LRANGE``.

Medians, in microseconds.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid

import numpy as np

PROMPTS = [
    "How do I reverse a list in Python?",
    "What is the capital of France and what is it known for?",
    "Write a short poem about the ocean at night, in the style of a sea shanty.",
]


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


async def main() -> None:
    from gateway_cache.backends import RedisBackend
    from gateway_cache.embedding import StaticEmbedder
    from gateway_cache.guard import signature
    from gateway_cache.semantic import encode_record, nearest

    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    started = time.perf_counter()
    model = StaticEmbedder()
    print(f"load the shipped model: {(time.perf_counter() - started) * 1000:.0f} ms (once, at start-up)")
    for prompt in PROMPTS:
        embed, sign = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            model.embed_now(prompt)
            embed.append(time.perf_counter() - t)
            t = time.perf_counter()
            signature(prompt)
            sign.append(time.perf_counter() - t)
        print(f"embed {len(prompt):3d} chars: {median_us(embed):7.1f} us   guard signature: {median_us(sign):6.1f} us")

    backend = RedisBackend("redis://127.0.0.1:6379", None, 2.0)
    key = f"bench-semantic-{uuid.uuid4().hex[:8]}"
    asked = model.embed_now(PROMPTS[0])
    rng = np.random.default_rng(7)
    try:
        store = []
        for _ in range(repeats):
            t = time.perf_counter()
            record = encode_record(uuid.uuid4().hex, asked)
            await backend.set_and_release(key + ":entry", b"answer", 60, None, "", vector=(key + ":store", record, 100))
            store.append(time.perf_counter() - t)
        print(f"store an entry and its vector at the default bound of 100 (one round trip): {median_us(store):7.1f} us")
        print("lookup at N candidates:    GET     nearest       total    bytes   | LRANGE of N list entries")
        for n in (1, 16, 64, 100, 256, 1024, 4096):
            vectors = rng.normal(size=(n, asked.size)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            records = [encode_record(uuid.uuid4().hex, v) for v in vectors]
            blob = b"".join(records)
            await backend.client.set(key, blob)
            await backend.client.delete(key + ":list")
            await backend.client.rpush(key + ":list", *records)
            fetch, compare, listed = [], [], []
            for _ in range(max(20, repeats // max(1, n // 64))):
                t = time.perf_counter()
                found = await backend.get(key)
                fetch.append(time.perf_counter() - t)
                t = time.perf_counter()
                nearest(found, asked, 0.85, exclude="")
                compare.append(time.perf_counter() - t)
                t = time.perf_counter()
                await backend.client.lrange(key + ":list", 0, n - 1)
                listed.append(time.perf_counter() - t)
            print(
                f"  N={n:5d} {median_us(fetch):8.1f} us {median_us(compare):8.1f} us "
                f"{median_us(fetch) + median_us(compare):9.1f} us {len(blob):9,}  | {median_us(listed):9.1f} us"
            )
    finally:
        await backend.client.delete(key, key + ":store", key + ":list", key + ":entry")
        await backend.close()


if __name__ == "__main__":
    asyncio.run(main())
