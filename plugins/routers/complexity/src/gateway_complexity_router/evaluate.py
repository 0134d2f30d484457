"""``python -m gateway_complexity_router.evaluate``: accuracy, confusion matrix and cost on the labelled set.

The set (``data/eval_prompts.jsonl``, sources in ``data/SOURCES.md``) has a ``held`` split that
was never looked at while tuning the classifier; the default is to report on it.

Cost: each prompt's input tokens are estimated at 4 characters a token; its output length
depends on the task (its label), not on the model: SIMPLE 150, MEDIUM 500, COMPLEX 1,200,
REASONING 1,500 tokens.  Routed cost prices each prompt with the model of the tier the router
picks (the seed's tiers: SIMPLE gpt-4o-mini, MEDIUM gpt-4o, COMPLEX claude-sonnet; REASONING has
no model there, so it goes to COMPLEX); the baseline sends everything to the COMPLEX model.
Prices come from the ``genai-prices`` package's bundled data (``pip install
'gateway-complexity-router[eval]'``); it has no model called ``claude-sonnet``, so Claude Sonnet 4's
price (``claude-sonnet-4``) is used for it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .classifier import Classifier
from .config import TIERS, ComplexityRouterConfig
from .router import nearest_configured

SEED_TIERS = {"SIMPLE": "gpt-4o-mini", "MEDIUM": "gpt-4o", "COMPLEX": "claude-sonnet"}
#: model group -> (genai-prices provider, model ref)
PRICE_REFS = {
    "gpt-4o-mini": ("openai", "gpt-4o-mini"),
    "gpt-4o": ("openai", "gpt-4o"),
    "claude-sonnet": ("anthropic", "claude-sonnet-4"),
}
OUTPUT_TOKENS = {"SIMPLE": 150, "MEDIUM": 500, "COMPLEX": 1200, "REASONING": 1500}


#: splits kept in files of their own (issue 23): ``heldout`` is scored only, ``dev`` is for tuning
SPLIT_FILES = {"heldout": "data/heldout_prompts.jsonl", "dev": "data/dev_prompts.jsonl"}


def load_prompts(split: str = "held", path: Path | None = None) -> list[dict[str, Any]]:
    if path is None:
        name = SPLIT_FILES.get(split, "data/eval_prompts.jsonl")
        source = resources.files(__package__).joinpath(name).read_text()
    else:
        source = path.read_text()
    rows = [json.loads(line) for line in source.splitlines() if line.strip()]
    return rows if split in ("all", *SPLIT_FILES) else [r for r in rows if r["split"] == split]


def prices_per_million() -> dict[str, tuple[float, float]]:
    try:
        from genai_prices import Usage, calc_price
    except ImportError:
        sys.exit("the cost report needs genai-prices: pip install 'gateway-complexity-router[eval]'")
    prices = {}
    for group, (provider, ref) in PRICE_REFS.items():
        inp = calc_price(Usage(input_tokens=1_000_000, output_tokens=0), ref, provider_id=provider)
        out = calc_price(Usage(input_tokens=0, output_tokens=1_000_000), ref, provider_id=provider)
        prices[group] = (float(inp.total_price), float(out.total_price))
    return prices


def evaluate(rows: list[dict[str, Any]], config: ComplexityRouterConfig) -> dict[str, Any]:
    classifier = Classifier(config)
    confusion: Counter[tuple[str, str]] = Counter()
    wrong = []
    for row in rows:
        found = classifier.classify(row["prompt"])
        confusion[(row["tier"], found.tier)] += 1
        if found.tier != row["tier"]:
            wrong.append(
                (row["id"], row["tier"], found.tier, round(found.score, 3), found.explain(), row["prompt"][:90])
            )
    correct = sum(n for (label, got), n in confusion.items() if label == got)
    by_group: dict[str, list[int]] = {}
    for row in rows:
        hit = int(classifier.classify(row["prompt"]).tier == row["tier"])
        groups = [f"category:{row.get('category', '-')}"]
        if "lang" in row:
            groups.append("language:english" if row["lang"] == "en" else "language:non-english")
        for group in groups:
            tally = by_group.setdefault(group, [0, 0])
            tally[0] += hit
            tally[1] += 1
    rank = {tier: i for i, tier in enumerate(TIERS)}
    gaps = [rank[label] - rank[got] for (label, got), n in confusion.items() for _ in range(n)]
    routed = sum(
        n
        for (label, got), n in confusion.items()
        if nearest_configured(label, config.tiers) == nearest_configured(got, config.tiers)  # type: ignore[arg-type]
    )
    return {
        "n": len(rows),
        "accuracy": correct / len(rows),
        "routed_accuracy": routed / len(rows),
        "confusion": confusion,
        "recall": {
            tier: confusion[(tier, tier)] / total
            for tier in TIERS
            if (total := sum(n for (label, _), n in confusion.items() if label == tier))
        },
        #: routed to a cheaper tier than the label (by any number of tiers / by two or more)
        "too_cheap": sum(1 for g in gaps if g > 0) / len(rows),
        "too_cheap_2": sum(1 for g in gaps if g > 1) / len(rows),
        "too_expensive": sum(1 for g in gaps if g < 0) / len(rows),
        "groups": {name: hits / n for name, (hits, n) in sorted(by_group.items())},
        "wrong": wrong,
        "classifier": classifier,
    }


def cost(rows: list[dict[str, Any]], classifier: Classifier, tiers: dict[str, str]) -> tuple[float, float]:
    prices = prices_per_million()
    complex_group = tiers[nearest_configured("COMPLEX", tiers)]  # type: ignore[arg-type,index]
    routed = everything_complex = 0.0
    for row in rows:
        tokens_in = len(row["prompt"]) / 4
        tokens_out = OUTPUT_TOKENS[row["tier"]]
        group = tiers[nearest_configured(classifier.classify(row["prompt"]).tier, tiers)]  # type: ignore[arg-type,index]
        for target, into in ((group, "routed"), (complex_group, "all")):
            price_in, price_out = prices[target]
            dollars = (tokens_in * price_in + tokens_out * price_out) / 1_000_000
            if into == "routed":
                routed += dollars
            else:
                everything_complex += dollars
    return routed, everything_complex


def print_report(
    result: dict[str, Any], rows: list[dict[str, Any]], tiers: dict[str, str], *, show_wrong: bool
) -> None:
    confusion = result["confusion"]
    print(f"prompts: {result['n']}")
    print(f"accuracy (4 tiers): {result['accuracy']:.1%}")
    print(f"routed accuracy (same model as the label's tier, with these tiers): {result['routed_accuracy']:.1%}")
    print("\nconfusion matrix (rows: label, columns: classifier)")
    print(f"{'':>10}" + "".join(f"{t:>11}" for t in TIERS))
    for label in TIERS:
        print(f"{label:>10}" + "".join(f"{confusion[(label, got)]:>11}" for got in TIERS))
    print("recall per tier: " + ", ".join(f"{tier} {share:.1%}" for tier, share in result["recall"].items()))
    print(
        f"too cheap (under-served): {result['too_cheap']:.1%}, by 2+ tiers: {result['too_cheap_2']:.1%}; "
        f"too expensive: {result['too_expensive']:.1%}"
    )
    print("accuracy by group: " + ", ".join(f"{name} {share:.0%}" for name, share in result["groups"].items()))
    under = sum(n for (label, got), n in confusion.items() if TIERS.index(got) < TIERS.index(label))
    print(
        f"\nunder-routed (a weaker tier than the label): {under}; over-routed: "
        f"{sum(confusion.values()) - under - sum(confusion[(t, t)] for t in TIERS)}"
    )
    unpriced = sorted(set(tiers.values()) - set(PRICE_REFS))
    if unpriced:
        print(
            f"\ncost: skipped, no price reference for {', '.join(unpriced)} (the report prices {', '.join(PRICE_REFS)})"
        )
    else:
        routed, everything = cost(rows, result["classifier"], tiers)
        print(
            f"\ncost of the set, routed: ${routed:.4f}; all to {tiers[nearest_configured('COMPLEX', tiers)]}: "  # type: ignore[arg-type]
            f"${everything:.4f}; saving {1 - routed / everything:.1%}"
        )
    if show_wrong:
        print("\nmisclassified:")
        for item in result["wrong"]:
            print("  ", item)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway_complexity_router.evaluate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--split", choices=["held", "train", "all", *SPLIT_FILES], default="held")
    parser.add_argument(
        "--config", type=Path, help="a YAML file with a complexity_router_config block (default: the seed's tiers)"
    )
    parser.add_argument("--data", type=Path, help="another JSONL file of labelled prompts")
    parser.add_argument("--show-wrong", action="store_true", help="list the misclassified prompts")
    args = parser.parse_args(argv)
    raw: dict[str, Any] = {"tiers": SEED_TIERS}
    if args.config:
        raw = yaml.safe_load(args.config.read_text())
        raw = raw.get("complexity_router_config", raw)
    config = ComplexityRouterConfig.model_validate(raw)
    rows = load_prompts(args.split, args.data)
    result = evaluate(rows, config)
    print(f"split: {args.split}")
    print_report(result, rows, dict(config.tiers), show_wrong=args.show_wrong)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
