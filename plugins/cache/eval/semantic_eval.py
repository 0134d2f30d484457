"""Precision and recall of the semantic cache's hit decision on the labelled pairs beside this file.

    .venv/bin/python plugins/cache/eval/semantic_eval.py [--threshold T] [--sweep] [--show-errors]

For each pair, prompt a is stored (its vector encoded as the cache stores it, under the key its
guard signature gives) and prompt b is looked up under its own key with gateway_cache's own
``nearest``: the decision a request makes, on the shipped embedder.  A pair of paraphrases.tsv is a true hit when served; a pair of
near_misses.tsv served is a false hit (a wrong answer a user would get).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class Pair:
    group: str
    a: str
    b: str
    should_hit: bool


@dataclass
class Result:
    threshold: float
    guard: bool
    true_hits: int = 0
    false_hits: int = 0
    missed: int = 0
    correct_misses: int = 0
    false_hit_pairs: list[Pair] = field(default_factory=list)
    missed_pairs: list[Pair] = field(default_factory=list)

    @property
    def precision(self) -> float:
        served = self.true_hits + self.false_hits
        return self.true_hits / served if served else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_hits + self.missed
        return self.true_hits / wanted if wanted else 0.0

    def line(self) -> str:
        return (
            f"threshold {self.threshold:.2f} guard {'on ' if self.guard else 'off'}: precision {self.precision:.2%} "
            f"({self.true_hits} right / {self.false_hits} wrong hits), recall {self.recall:.2%} "
            f"({self.true_hits} of {self.true_hits + self.missed} paraphrases)"
        )


def load_pairs() -> list[Pair]:
    pairs = []
    for name, should_hit in (("paraphrases.tsv", True), ("near_misses.tsv", False)):
        for number, line in enumerate((HERE / name).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            if len(cells) != 3:
                raise ValueError(f"{name}:{number}: expected group<TAB>prompt a<TAB>prompt b")
            pairs.append(Pair(cells[0], cells[1], cells[2], should_hit))
    return pairs


def evaluate(pairs: list[Pair], threshold: float, guard: bool = True, embedder: object = None) -> Result:
    from gateway_cache.embedding import StaticEmbedder
    from gateway_cache.guard import signature
    from gateway_cache.semantic import encode_record, index_key, nearest

    model = embedder if embedder is not None else StaticEmbedder()
    result = Result(threshold, guard)
    for pair in pairs:
        # prompt a's record, under the key its signature gives; prompt b looks under its own key
        stored_key = index_key("p:", "context", signature(pair.a) if guard else b"")
        asked_key = index_key("p:", "context", signature(pair.b) if guard else b"")
        record = encode_record("0" * 32, model.embed_now(pair.a))  # type: ignore[attr-defined]
        blob = record if asked_key == stored_key else None
        match, _ = nearest(blob, model.embed_now(pair.b), threshold, exclude="")  # type: ignore[attr-defined]
        served = match is not None
        if served and pair.should_hit:
            result.true_hits += 1
        elif served:
            result.false_hits += 1
            result.false_hit_pairs.append(pair)
        elif pair.should_hit:
            result.missed += 1
            result.missed_pairs.append(pair)
        else:
            result.correct_misses += 1
    return result


def unrelated(pairs: list[Pair], threshold: float, embedder: object = None) -> tuple[int, int, list[tuple[str, str]]]:
    """Prompt a of each paraphrase pair against prompt b of every other one: different questions in
    the main, many with the same guard signature.  Returns (pairs with equal signatures, of those
    served, the served pairs) -- a served pair is a wrong hit unless both pairs ask the same thing."""
    from gateway_cache.embedding import StaticEmbedder
    from gateway_cache.guard import signature

    model = embedder if embedder is not None else StaticEmbedder()
    questions = [p for p in pairs if p.should_hit]
    vectors_a = [model.embed_now(p.a) for p in questions]  # type: ignore[attr-defined]
    vectors_b = [model.embed_now(p.b) for p in questions]  # type: ignore[attr-defined]
    signatures_a = [signature(p.a) for p in questions]
    signatures_b = [signature(p.b) for p in questions]
    compared, served = 0, []
    for i, first in enumerate(questions):
        for j, second in enumerate(questions):
            if i == j or signatures_a[i] != signatures_b[j]:
                continue
            compared += 1
            if float(vectors_a[i] @ vectors_b[j]) >= threshold:
                served.append((first.a, second.b))
    return compared, len(served), served


def main() -> int:
    from gateway_cache.config import DEFAULT_SIMILARITY_THRESHOLD
    from gateway_cache.embedding import StaticEmbedder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threshold", type=float, default=DEFAULT_SIMILARITY_THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="also report thresholds 0.50 .. 0.99")
    parser.add_argument("--show-errors", action="store_true", help="list the wrong hits and the missed paraphrases")
    args = parser.parse_args()
    pairs = load_pairs()
    model = StaticEmbedder()
    hits = sum(p.should_hit for p in pairs)
    print(f"{len(pairs)} pairs: {hits} paraphrases, {len(pairs) - hits} near-misses; embedder {model.name}")
    for guard in (True, False):
        result = evaluate(pairs, args.threshold, guard, model)
        print(("default: " if guard else "without the guard: ") + result.line())
        groups = sorted({p.group for p in pairs if not p.should_hit})
        wrong = {g: sum(1 for p in result.false_hit_pairs if p.group == g) for g in groups}
        print("  wrong hits by near-miss group:", ", ".join(f"{g} {n}" for g, n in wrong.items()))
        if args.show_errors:
            for pair in result.false_hit_pairs:
                print(f"  WRONG HIT [{pair.group}] {pair.a!r} -> {pair.b!r}")
            if guard:
                for pair in result.missed_pairs:
                    print(f"  missed [{pair.group}] {pair.a!r} -> {pair.b!r}")
    compared, served, which = unrelated(pairs, args.threshold, model)
    print(
        f"unrelated questions (a of one paraphrase pair, b of another) with equal signatures: {served} of {compared} served"
    )
    for a, b in which:
        print(f"  served: {a!r} -> {b!r}")
    if args.sweep:
        for guard in (True, False):
            for step in range(50, 100, 2):
                print("  " + evaluate(pairs, step / 100, guard, model).line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
