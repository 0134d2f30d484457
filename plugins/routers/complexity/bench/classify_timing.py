"""Per-prompt CPU time of the classifier alone (extract already done): p50 and p99 over many runs.

    python plugins/routers/complexity/bench/classify_timing.py [--runs 2000]

Prompts of about 100, 2,000 and 50,000 tokens (4 characters a token), plus every prompt of the
held-out set.  CPU time of this thread (``time.thread_time_ns``), so other load on the shared
machine inflates it less than wall time would.
"""

from __future__ import annotations

import argparse
import time

from gateway_complexity_router.classifier import Classifier
from gateway_complexity_router.config import ComplexityRouterConfig
from gateway_complexity_router.evaluate import SEED_TIERS, load_prompts

ASK = (
    "We are splitting our Django monolith into microservices. First, propose the service boundaries; then design "
    "the Kafka event flow between the order, payment and inventory services, and explain how you keep data consistent."
)
FILLER = (
    "The platform team reviewed the incident timeline, the deployment history and the dashboards of the "
    "affected services, and wrote down what each on-call engineer saw and did during the outage. "
)


def percentiles(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] / 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    classifier = Classifier(ComplexityRouterConfig(tiers=SEED_TIERS))
    prompts = {
        "100 tokens": (FILLER * 2)[: 400 - len(ASK)] + ASK,
        "2k tokens": "Summarise this:\n\n" + (FILLER * 60)[:7600] + "\n" + ASK,
        "50k tokens": "Summarise this:\n\n" + (FILLER * 1500)[:199_600] + "\n" + ASK,
    }
    for name, prompt in prompts.items():
        for _ in range(50):
            classifier.classify(prompt)
        samples = []
        for _ in range(args.runs):
            start = time.thread_time_ns()
            classifier.classify(prompt)
            samples.append(time.thread_time_ns() - start)
        p50, p99 = percentiles(samples)
        print(f"{name:>12}: p50 {p50:7.1f} us  p99 {p99:7.1f} us")
    rows = load_prompts("heldout")
    samples = []
    for _ in range(max(1, args.runs // 100)):
        for row in rows:
            start = time.thread_time_ns()
            classifier.classify(row["prompt"])
            samples.append(time.thread_time_ns() - start)
    p50, p99 = percentiles(samples)
    print(f"{'held-out set':>12}: p50 {p50:7.1f} us  p99 {p99:7.1f} us  ({len(rows)} prompts)")


if __name__ == "__main__":
    main()
