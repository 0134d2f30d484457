"""The ``presidio`` guardrail: find PII, refuse ``BLOCK`` entities, mask the rest, un-mask answers."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from gateway.guardrails import (
    Guardrail,
    GuardrailConfigError,
    GuardrailResult,
    GuardrailSpec,
    OutputRewriter,
    PlaceholderRestorer,
    TextBatch,
)

from .engines import InProcessBackend, RestBackend, choose_nlp
from .masking import Finding, TokenBook, keep, merge_overlaps, replace_spans
from .params import PresidioParams

if TYPE_CHECKING:
    from gateway import Gateway, RequestContext

#: ``ctx.state`` key for the per-request placeholder books (one per presidio guardrail)
STATE = "presidio"


def _load_ad_hoc(path: str | None) -> list[dict[str, Any]]:
    if path is None:
        return []
    try:
        data = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise GuardrailConfigError(
            f"{path!r} cannot be read: {exc.strerror or exc}", "presidio_ad_hoc_recognizers"
        ) from exc
    except orjson.JSONDecodeError as exc:
        raise GuardrailConfigError(f"{path!r} is not JSON: {exc}", "presidio_ad_hoc_recognizers") from exc
    recognizers = data.get("ad_hoc_recognizers") if isinstance(data, dict) else data
    if not isinstance(recognizers, list) or not all(isinstance(r, dict) for r in recognizers):
        raise GuardrailConfigError(
            f"{path!r} must hold a list of recognizers (or {{'ad_hoc_recognizers': [...]}})",
            "presidio_ad_hoc_recognizers",
        )
    return recognizers


class PresidioGuardrail(Guardrail):
    """PII masking/blocking with Microsoft Presidio; see the plugin README."""

    params_model = PresidioParams

    def __init__(self, spec: GuardrailSpec, gateway: Gateway) -> None:
        super().__init__(spec, gateway)
        p: PresidioParams = spec.params
        ad_hoc = _load_ad_hoc(p.presidio_ad_hoc_recognizers)
        analyzer = p.presidio_analyzer_api_base or os.environ.get("PRESIDIO_ANALYZER_API_BASE")
        anonymizer = p.presidio_anonymizer_api_base or os.environ.get("PRESIDIO_ANONYMIZER_API_BASE")
        self.backend: InProcessBackend | RestBackend
        if analyzer or anonymizer:
            if not (analyzer and anonymizer):
                raise GuardrailConfigError(
                    "the REST backend needs both presidio_analyzer_api_base and presidio_anonymizer_api_base (or "
                    "PRESIDIO_ANALYZER_API_BASE and PRESIDIO_ANONYMIZER_API_BASE); set neither to use the in-process engines"
                )
            self.backend = RestBackend(
                analyzer, anonymizer, gateway, ad_hoc, p.presidio_analyze_chunk_size_bytes, spec.settings.timeout
            )
        else:
            engine, model = choose_nlp(p.nlp_engine, p.spacy_model, p.presidio_language)
            self.backend = InProcessBackend(
                engine, model, p.presidio_language, ad_hoc, p.presidio_analyze_chunk_size_bytes
            )
        self.language = p.presidio_language
        self.entities = sorted(p.pii_entities_config) or None
        self.only = frozenset(p.pii_entities_config) if p.pii_entities_config else None
        self.block = frozenset(e for e, action in p.pii_entities_config.items() if action == "BLOCK")
        self.deny = frozenset(p.presidio_entities_deny_list)
        self.thresholds = dict(p.presidio_score_thresholds)
        self.parse_output = p.output_parse_pii

    async def start(self) -> None:
        await self.backend.start()

    async def close(self) -> None:
        await self.backend.close()

    # ------------------------------------------------------------------ checks

    async def _findings(self, text: str) -> list[Finding]:
        if not text.strip():
            return []
        found = await self.backend.analyze(text, self.language, self.entities)
        return merge_overlaps(keep(found, thresholds=self.thresholds, deny=self.deny, only=self.only))

    async def check(self, batch: TextBatch) -> GuardrailResult:
        per_text = await asyncio.gather(*(self._findings(t) for t in batch.texts))
        return await self._decide(batch, list(per_text), batch.texts)

    async def check_stream(self, batch: TextBatch) -> GuardrailResult:
        # analyse the already-sent context with the window so values split across windows are seen;
        # only the window's part of a finding can still be masked
        contexts = batch.context or [""] * len(batch.texts)
        joined = [c + t for c, t in zip(contexts, batch.texts, strict=False)]
        per_joined = await asyncio.gather(*(self._findings(j) for j in joined))
        per_text = []
        for context, findings in zip(contexts, per_joined, strict=False):
            shift = len(context)
            per_text.append(
                [
                    Finding(f.entity_type, max(f.start - shift, 0), f.end - shift, f.score)
                    for f in findings
                    if f.end > shift
                ]
            )
        return await self._decide(batch, per_text, batch.texts)

    async def _decide(self, batch: TextBatch, per_text: list[list[Finding]], texts: list[str]) -> GuardrailResult:
        counts = Counter(f.entity_type for findings in per_text for f in findings)
        if not counts:
            return GuardrailResult.passed()
        blocked = sorted(e for e in counts if e in self.block)
        if blocked:
            return GuardrailResult.blocked(
                f"Blocked entity detected: {', '.join(blocked)} by Guardrail: {self.name}. This entity is not allowed "
                "to be used in this request",
                entities=dict(counts),
                blocked_entities=blocked,
            )
        if self.parse_output and batch.direction == "input":
            book = self._book(batch)
            masked = [
                replace_spans(t, fs, lambda f, value: book.token(f.entity_type, value))
                for t, fs in zip(texts, per_text, strict=False)
            ]
        else:
            masked = list(
                await asyncio.gather(
                    *(self.backend.anonymize(t, fs) if fs else _same(t) for t, fs in zip(texts, per_text, strict=False))
                )
            )
        return GuardrailResult.masked(masked, entities=dict(counts))

    def _book(self, batch: TextBatch) -> TokenBook:
        books = batch.ctx.state.setdefault(STATE, {})
        book = books.get(self.name)
        if book is None:
            book = books[self.name] = TokenBook(taken_in="\n".join(batch.texts))
        return book

    def output_rewriter(self, ctx: RequestContext) -> OutputRewriter | None:
        if not self.parse_output:
            return None
        book = ctx.state.get(STATE, {}).get(self.name)
        if book is None or not book.originals:
            return None
        return PlaceholderRestorer(book.originals)


async def _same(text: str) -> str:
    return text
