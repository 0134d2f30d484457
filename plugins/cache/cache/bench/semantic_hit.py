"""Benchmark: a semantic hit and a semantic miss against an exact hit and an exact miss, interleaved.

    .venv/bin/python plugins/cache/cache/bench/semantic_hit.py [REQUESTS]     (default 300 per series)

Two gateways served in this process (``gateway.testing.start_gateway``) in front of a FakeUpstream
that answers at once, both on the real Redis: ``type: redis`` and ``type: redis-semantic`` (the
shipped embedder, default settings).  A sequential client sends, request by request in turn:

* ``exact hit``: the stored prompt again (both gateways);
* ``semantic hit``: a paraphrase of the stored prompt (the semantic gateway: an exact miss, then a
  semantic hit served from the stored answer);
* ``miss``: a new question each time (both gateways: the upstream is called and the answer stored;
  the semantic gateway also embeds it, reads its index key and stores its vector).  Each carries its
  own number, so its index key holds no candidate yet; reading a key at its bound of 100 candidates
  adds what ``bench/semantic_index.py`` measures.  (Bags of random words are no good as misses here:
  a mean of static token vectors puts any two bags of 8 random nouns above 0.85.)

Interleaving puts a noisy neighbour on every series alike; the client and the gateways share one
process, so absolute figures include the client's own time: compare the series, not the figures
with other benchmarks.  Medians in milliseconds.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from typing import Any

import httpx

WORDS = [
    "apple",
    "river",
    "cloud",
    "stone",
    "garden",
    "violin",
    "copper",
    "window",
    "meadow",
    "lantern",
    "harbor",
    "pepper",
]


def main() -> None:
    import gateway_cache
    import gateway_openai
    import redis

    from gateway.testing import FakeUpstream, start_gateway

    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    upstream = FakeUpstream().start()
    namespace = f"bench-semhit-{uuid.uuid4().hex[:8]}"

    def serve(kind: str) -> Any:
        config = {
            "model_list": [
                {
                    "model_name": "m",
                    "litellm_params": {"model": "openai/m", "api_base": upstream.base_url, "api_key": "sk-up"},
                }
            ],
            "general_settings": {"master_key": "sk-bench"},
            "litellm_settings": {
                "cache": True,
                "cache_params": {"type": kind, "host": "127.0.0.1", "port": 6379, "namespace": f"{namespace}-{kind}"},
            },
        }
        return start_gateway(
            config, plugins=[("openai", gateway_openai), ("cache", gateway_cache)], load_entrypoints=False
        )

    gateways = {"redis": serve("redis"), "semantic": serve("redis-semantic")}
    client = httpx.Client(headers={"Authorization": "Bearer sk-bench"}, timeout=30)

    def call(name: str, prompt: str) -> float:
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
        started = time.perf_counter()
        response = client.post(gateways[name].url + "/v1/chat/completions", json=body)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        return elapsed

    series: dict[str, list[float]] = {
        "exact hit, redis": [],
        "exact hit, redis-semantic": [],
        "semantic hit, redis-semantic": [],
        "miss, redis": [],
        "miss, redis-semantic": [],
    }
    try:
        for name in gateways:
            for _ in range(20):
                call(name, "How do I reverse a list in Python?")
        for i in range(requests):
            # a new question each time; its number makes its guard signature, so its index key, its own:
            # the lookup reads no candidate (what reading up to the bound adds: bench/semantic_index.py)
            fresh = f"What is question number {i} about {uuid.uuid4().hex[:8]}?"
            series["exact hit, redis"].append(call("redis", "How do I reverse a list in Python?"))
            series["exact hit, redis-semantic"].append(call("semantic", "How do I reverse a list in Python?"))
            series["semantic hit, redis-semantic"].append(call("semantic", "How can I reverse a list in Python?"))
            series["miss, redis"].append(call("redis", fresh))
            series["miss, redis-semantic"].append(call("semantic", fresh))
        counts = gateways["semantic"].gateway.state["cache"].stats.counts
        for label, samples in series.items():
            print(f"{label:<32} p50 {statistics.median(samples) * 1000:7.3f} ms   (n={len(samples)})")
        p50 = {label: statistics.median(samples) * 1000 for label, samples in series.items()}
        print(
            f"semantic hit over an exact hit: {p50['semantic hit, redis-semantic'] - p50['exact hit, redis']:+.3f} ms"
        )
        print(f"semantic miss over an exact miss: {p50['miss, redis-semantic'] - p50['miss, redis']:+.3f} ms")
        print(f"exact hit, semantic on vs off: {p50['exact hit, redis-semantic'] - p50['exact hit, redis']:+.3f} ms")
        print(f"semantic gateway's counts: {dict(counts)}")
    finally:
        for running in gateways.values():
            running.stop()
        upstream.stop()
        store = redis.Redis(host="127.0.0.1", port=6379)
        keys = list(store.scan_iter(f"{namespace}-*"))
        if keys:
            store.delete(*keys)
        store.close()


if __name__ == "__main__":
    main()
