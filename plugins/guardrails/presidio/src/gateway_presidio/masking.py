"""Deciding what to act on, and writing masks: thresholds, deny lists, overlaps, numbered placeholders.

Pure functions over analyzer results, shared by both backends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: characters shared by neighbouring chunks, so an entity on a chunk border is seen whole
CHUNK_OVERLAP = 200


@dataclass(slots=True)
class Finding:
    entity_type: str
    start: int
    end: int
    score: float


def parse_results(raw: Any, text_length: int) -> list[Finding]:
    """Analyzer results (Presidio's JSON shape) to findings; raises ``ValueError`` when malformed."""
    if not isinstance(raw, list):
        raise ValueError(f"the analyzer answered {type(raw).__name__}, expected a list of results")
    findings = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("an analyzer result is not an object")
        try:
            finding = Finding(str(item["entity_type"]), int(item["start"]), int(item["end"]), float(item["score"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"an analyzer result lacks entity_type/start/end/score: {exc}") from exc
        if not 0 <= finding.start < finding.end <= text_length:
            raise ValueError(
                f"an analyzer result spans {finding.start}..{finding.end} of a {text_length}-character text"
            )
        findings.append(finding)
    return findings


def keep(
    findings: Iterable[Finding],
    *,
    thresholds: Mapping[str, float],
    deny: frozenset[str],
    only: frozenset[str] | None,
) -> list[Finding]:
    """Drop denied entities, entities outside ``pii_entities_config`` and results under their threshold."""
    default = thresholds.get("ALL", 0.0)
    return [
        f
        for f in findings
        if f.entity_type not in deny
        and (only is None or f.entity_type in only)
        and f.score >= thresholds.get(f.entity_type, default)
    ]


def merge_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Non-overlapping spans in order; overlapping findings become their union, labelled by the best score.

    The union (not just the winner) is masked so that no part of a detected value survives.
    """
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        last = merged[-1] if merged else None
        if last is not None and f.start < last.end:
            label = f.entity_type if f.score > last.score else last.entity_type
            merged[-1] = Finding(label, last.start, max(last.end, f.end), max(last.score, f.score))
        else:
            merged.append(Finding(f.entity_type, f.start, f.end, f.score))
    return merged


def chunk_spans(length: int, size: int, overlap: int = CHUNK_OVERLAP) -> list[tuple[int, int]]:
    """``[(start, end)]`` windows covering ``length`` characters, neighbours sharing ``overlap``."""
    if length <= size:
        return [(0, length)]
    step = max(size - overlap, 1)
    return [(start, min(start + size, length)) for start in range(0, length - overlap, step)]


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: dict[tuple[str, int, int], Finding] = {}
    for f in findings:
        key = (f.entity_type, f.start, f.end)
        if key not in seen or seen[key].score < f.score:
            seen[key] = f
    return list(seen.values())


def replace_spans(text: str, findings: list[Finding], replacement: Any) -> str:
    """``text`` with each (non-overlapping, ordered) finding replaced by ``replacement(finding, value)``."""
    out = []
    cursor = 0
    for f in findings:
        out.append(text[cursor : f.start])
        out.append(replacement(f, text[f.start : f.end]))
        cursor = f.end
    out.append(text[cursor:])
    return "".join(out)


class TokenBook:
    """Numbered placeholders for one request: the same value always gets the same token.

    A token the request's own text already contains is skipped, so un-masking can never turn the
    client's literal ``<PERSON_1>`` into someone's name.
    """

    def __init__(self, taken_in: str = "") -> None:
        self.by_value: dict[tuple[str, str], str] = {}
        self.originals: dict[str, str] = {}
        self.counters: dict[str, int] = {}
        self.taken_in = taken_in

    def token(self, entity: str, value: str) -> str:
        key = (entity, value)
        found = self.by_value.get(key)
        if found is not None:
            return found
        number = self.counters.get(entity, 0)
        while True:
            number += 1
            token = f"<{entity}_{number}>"
            if token not in self.taken_in and token not in self.originals:
                break
        self.counters[entity] = number
        self.by_value[key] = token
        self.originals[token] = value
        return token
