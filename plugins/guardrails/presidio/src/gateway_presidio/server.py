"""A small HTTP server with Presidio's container contract around the real engines.

Presidio's PyPI packages do not ship the REST apps of its Docker images.  This server speaks the
same contract (``presidio-analyzer/app.py`` and ``presidio-anonymizer/app.py`` in
microsoft/presidio): ``GET /health``, ``POST /analyze``, ``POST /anonymize``, ``GET
/supportedentities``, so the gateway's REST backend can run against real engines without Docker::

    gateway-presidio-server --port 3000            # both analyzer and anonymizer routes
    PRESIDIO_ANALYZER_API_BASE=http://127.0.0.1:3000 PRESIDIO_ANONYMIZER_API_BASE=http://127.0.0.1:3000 gateway ...
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from .engines import choose_nlp, load_engines


def create_app(nlp_engine: str = "no_op", spacy_model: str | None = None, language: str = "en") -> Any:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    engine, model = choose_nlp(nlp_engine, spacy_model, language)
    analyzer, anonymizer = load_engines(engine, model, language, [])

    def reply(data: Any, status: int = 200) -> Response:
        return Response(
            orjson.dumps(data, option=orjson.OPT_SORT_KEYS), status_code=status, media_type="application/json"
        )

    async def body_of(request: Request) -> Any:
        try:
            return orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None

    def analyze_one(text: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        from presidio_analyzer import PatternRecognizer

        ad_hoc = [PatternRecognizer.from_dict(r) for r in data.get("ad_hoc_recognizers") or []]
        results = analyzer.analyze(
            text=text,
            language=data["language"],
            entities=data.get("entities"),
            score_threshold=data.get("score_threshold"),
            context=data.get("context"),
            allow_list=data.get("allow_list"),
            ad_hoc_recognizers=ad_hoc or None,
        )
        out = []
        for r in results:
            item = r.to_dict()
            item.pop("recognition_metadata", None)
            item.setdefault("analysis_explanation", None)
            out.append(item)
        return out

    async def analyze(request: Request) -> Response:
        data = await body_of(request)
        if not isinstance(data, dict):
            return reply({"error": "Invalid request json"}, 500)
        if not data.get("language"):
            return reply({"error": "No language provided"}, 500)
        text = data.get("text")
        if text is None or text == "":
            return reply({"error": "No text provided"}, 500)
        if data["language"] != language:
            return reply({"error": "No matching recognizers were found to serve the request."}, 500)
        if isinstance(text, list):
            return reply([await run_in_threadpool(analyze_one, t, data) for t in text])
        return reply(await run_in_threadpool(analyze_one, str(text), data))

    async def anonymize(request: Request) -> Response:
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        data = await body_of(request)
        if not isinstance(data, dict) or not data:
            return reply({"error": "Invalid request json"}, 400)
        text = data.get("text", "")
        try:
            results = [
                RecognizerResult(r["entity_type"], r["start"], r["end"], r["score"])
                for r in data.get("analyzer_results") or []
            ]
            operators = {k: OperatorConfig(v.pop("type"), v) for k, v in (data.get("anonymizers") or {}).items()}
            result = await run_in_threadpool(
                anonymizer.anonymize, text=text, analyzer_results=results, operators=operators or None
            )
        except (KeyError, TypeError) as exc:
            return reply({"error": f"Invalid request json: {exc}"}, 400)
        except Exception as exc:  # Presidio's InvalidParamError and friends
            return reply({"error": str(exc)}, 422)
        return reply(orjson.loads(result.to_json()))

    async def health(request: Request) -> Response:
        return PlainTextResponse("Presidio Analyzer service is up")

    async def supported(request: Request) -> Response:
        return reply(analyzer.get_supported_entities(request.query_params.get("language", language)))

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/analyze", analyze, methods=["POST"]),
            Route("/anonymize", anonymize, methods=["POST"]),
            Route("/supportedentities", supported),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--nlp-engine", choices=["auto", "no_op", "spacy"], default="no_op")
    parser.add_argument("--spacy-model", default=None)
    parser.add_argument("--language", default="en")
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(create_app(args.nlp_engine, args.spacy_model, args.language), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
