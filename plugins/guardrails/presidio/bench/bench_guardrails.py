"""Added latency of guardrails per request: none vs content filter vs in-process Presidio (no_op).

One run, three gateways (mock provider, no network upstream), requests interleaved round-robin so
all three see the same machine noise.  Each request goes through the real ASGI app (auth, body
parsing, pre_call, provider, post_call, response) via httpx's in-process transport.  Reported:
end-to-end p50/p99 per configuration, the difference to "none" (the added latency), and the
check time the framework itself records in the log annotations.

    .venv/bin/python plugins/guardrails/presidio/bench/bench_guardrails.py --requests 400
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from contextlib import AsyncExitStack
from typing import Any

import orjson

PROMPT = (
    "Hi, I'm planning a trip to Lisbon next month and need help with an itinerary. You can reach me at "
    "maria.silva@example.com or (415) 555-0132 if anything needs confirming. I like museums, long walks and "
    "seafood, and I would rather avoid crowded tourist traps. What would you suggest for three days?"
)
MODEL = {"model_name": "m", "litellm_params": {"model": "mock/m", "mock_response": "Here is a plan."}}
CONFIGS: dict[str, list[dict[str, Any]]] = {
    "none": [],
    "content_filter": [
        {
            "guardrail_name": "cf",
            "litellm_params": {
                "guardrail": "content_filter",
                "mode": "pre_call",
                "default_on": True,
                "blocked_words": ["project falcon", "internal only", "confidential", "top secret", "password dump"],
                "blocked_topics": {"weapons": ["rifle", "ammunition", "explosives"], "drugs": ["cocaine", "heroin"]},
                "patterns": [
                    {"pattern_type": "prebuilt", "pattern_name": "us_ssn", "action": "BLOCK"},
                    {"pattern_type": "prebuilt", "pattern_name": "email", "action": "MASK"},
                    {"pattern_type": "prebuilt", "pattern_name": "credit_card", "action": "BLOCK"},
                ],
            },
        }
    ],
    "presidio_no_op": [
        {
            "guardrail_name": "pii",
            "litellm_params": {"guardrail": "presidio", "mode": "pre_call", "default_on": True, "nlp_engine": "no_op"},
        }
    ],
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def main(requests: int, warmup: int) -> None:
    import gateway_content_filter
    import gateway_mock
    import gateway_presidio
    import httpx

    from gateway import Gateway, create_app, hookimpl
    from gateway.testing import asgi_lifespan

    class CheckTimes:
        gateway_plugin_name = "check_times"

        def __init__(self) -> None:
            self.times: list[float] = []

        @hookimpl
        def gateway_log(self, event: Any) -> None:
            for record in event.ctx.annotations.get("guardrails", []):
                self.times.append(record["latency_ms"])

    clients: dict[str, Any] = {}
    recorders: dict[str, CheckTimes] = {}
    body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": PROMPT}]})
    async with AsyncExitStack() as stack:
        for name, guards in CONFIGS.items():
            recorders[name] = CheckTimes()
            gateway = Gateway(
                {"model_list": [MODEL], "general_settings": {"master_key": "sk-bench"}, "guardrails": guards},
                plugins=[gateway_mock, gateway_content_filter, gateway_presidio, recorders[name]],
                load_entrypoints=False,
            )
            app = create_app(gateway)
            await stack.enter_async_context(asgi_lifespan(app))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://bench",
                    headers={"authorization": "Bearer sk-bench", "content-type": "application/json"},
                )
            )
        timings: dict[str, list[float]] = {name: [] for name in CONFIGS}
        for round_ in range(warmup + requests):
            for name, client in clients.items():
                started = time.perf_counter()
                response = await client.post("/v1/chat/completions", content=body)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.text
                if round_ >= warmup:
                    timings[name].append(elapsed)
        await asyncio.sleep(0.2)  # let the log queue deliver the annotations
    base50, base99 = pct(timings["none"], 0.5), pct(timings["none"], 0.99)
    print(f"{requests} requests per configuration, interleaved; prompt {len(PROMPT)} characters")
    print(
        f"{'configuration':16} {'p50 ms':>8} {'p99 ms':>8} {'added p50':>10} {'added p99':>10} {'check p50':>10} {'check p99':>10}"
    )
    for name, values in timings.items():
        checks = recorders[name].times[-requests:]
        check50 = f"{pct(checks, 0.5):10.3f}" if checks else f"{'-':>10}"
        check99 = f"{pct(checks, 0.99):10.3f}" if checks else f"{'-':>10}"
        print(
            f"{name:16} {pct(values, 0.5):8.3f} {pct(values, 0.99):8.3f} {pct(values, 0.5) - base50:10.3f} "
            f"{pct(values, 0.99) - base99:10.3f} {check50} {check99}"
        )
    print(f"(mean of 'none': {statistics.mean(timings['none']):.3f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.warmup))
