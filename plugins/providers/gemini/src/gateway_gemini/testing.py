"""A local Gemini API (AI Studio) server that checks requests the way the real API does.

Shapes and rules, from Google's documentation:

* endpoints, request body and response: https://ai.google.dev/api/generate-content
  (``POST /v1beta/{model=models/*}:generateContent`` and ``:streamGenerateContent``; with
  ``alt=sse`` the stream is server-sent events, one ``GenerateContentResponse`` per ``data:`` line)
* ``Content``/``Part`` (text, inlineData, fileData, functionCall, functionResponse, thoughtSignature):
  https://ai.google.dev/api/caching#Content
* ``Tool``/``FunctionDeclaration``/``Schema``/``ToolConfig``: https://ai.google.dev/api/caching#Tool,
  https://ai.google.dev/api/caching#Schema, https://ai.google.dev/api/caching#ToolConfig
  (function names: letters, digits, ``_ . : -``, starting with a letter or ``_``, at most 64)
* ``GenerationConfig``: https://ai.google.dev/api/generate-content#generationconfig
  (``stopSequences`` at most 5)
* ``usageMetadata`` and ``finishReason``: https://ai.google.dev/api/generate-content#UsageMetadata,
  https://ai.google.dev/api/generate-content#FinishReason
* errors (``{"error": {"code", "message", "status"}}``; 400 INVALID_ARGUMENT, 403
  PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED, 500 INTERNAL, 503 UNAVAILABLE):
  https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
* the multi-turn rules the API enforces (turns alternate user/model; a function call turn follows
  a user or function response turn; as many function responses as calls):
  https://ai.google.dev/gemini-api/docs/function-calling#multi-turn

A request the real API would refuse gets the same kind of 400 here, so a translation bug fails a test.
It ships with the plugin so that its users can test against it offline too: ``FakeGemini().start()``
serves on a free port (``.url``), ``enqueue`` scripts its answers, ``gemini_config`` points a gateway
config at it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.testing import LocalServer

API_KEY = "gm-test-key"
NAME_RULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
REQUEST_FIELDS = {
    "contents",
    "tools",
    "toolConfig",
    "safetySettings",
    "systemInstruction",
    "generationConfig",
    "cachedContent",
}
PART_DATA = {
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
}
PART_FIELDS = PART_DATA | {"thought", "thoughtSignature", "videoMetadata"}
CONFIG_FIELDS = {
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "thinkingConfig",
    "responseModalities",
}
SCHEMA_FIELDS = {
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
}
SCHEMA_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT"}
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class Invalid(Exception):
    """The request breaks a rule of the real API (answered with 400 INVALID_ARGUMENT)."""


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": STATUS_NAMES.get(code, "UNKNOWN")}}


# --------------------------------------------------------------------------- request validation


def check_fields(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise Invalid(f"Invalid value at '{where}': expected an object")
    for name in obj:
        if name not in allowed:
            raise Invalid(f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field.")
    return obj


def check_schema(schema: Any, where: str) -> None:
    check_fields(schema, SCHEMA_FIELDS, where)
    kind = str(schema.get("type", "")).upper()
    if "type" in schema and kind not in SCHEMA_TYPES:
        raise Invalid(f"Invalid value at '{where}.type': {schema['type']!r}")
    if kind == "OBJECT" and "properties" in schema:
        if not schema["properties"]:
            raise Invalid(f"{where}.properties: should be non-empty for OBJECT type")
        for name, sub in schema["properties"].items():
            check_schema(sub, f"{where}.properties[{name}]")
    for name in schema.get("required", []):
        if name not in schema.get("properties", {}):
            raise Invalid(f"{where}.required[{name}]: property is not defined")
    if kind == "ARRAY":
        if "items" not in schema:
            raise Invalid(f"{where}.items: missing field.")
        check_schema(schema["items"], f"{where}.items")
    if "enum" in schema and not all(isinstance(v, str) for v in schema["enum"]):
        raise Invalid(f"{where}.enum: only string values are supported")
    for i, sub in enumerate(schema.get("anyOf", [])):
        check_schema(sub, f"{where}.any_of[{i}]")


def check_part(part: Any, where: str) -> str:
    check_fields(part, PART_FIELDS, where)
    data = [k for k in part if k in PART_DATA]
    if len(data) != 1:
        raise Invalid(f"{where}: a part must hold exactly one kind of data, got {data}")
    kind = data[0]
    if kind == "text" and not isinstance(part["text"], str):
        raise Invalid(f"{where}.text: expected a string")
    if kind == "inlineData":
        blob = check_fields(part["inlineData"], {"mimeType", "data"}, f"{where}.inline_data")
        if not isinstance(blob.get("mimeType"), str) or not isinstance(blob.get("data"), str):
            raise Invalid(f"{where}.inline_data: mimeType and data are required")
        try:
            base64.b64decode(blob["data"], validate=True)
        except binascii.Error:
            raise Invalid(f"Invalid value at '{where}.inline_data.data' (TYPE_BYTES), Base64 decoding failed") from None
    if kind == "fileData":
        check_fields(part["fileData"], {"mimeType", "fileUri"}, f"{where}.file_data")
    if kind == "functionCall":
        call = check_fields(part["functionCall"], {"id", "name", "args"}, f"{where}.function_call")
        if not isinstance(call.get("args", {}), dict):
            raise Invalid(f"{where}.function_call.args: expected an object")
    if kind == "functionResponse":
        reply = check_fields(part["functionResponse"], {"id", "name", "response"}, f"{where}.function_response")
        if not isinstance(reply.get("response"), dict):
            raise Invalid(f"{where}.function_response.response: expected an object")
    return kind


def check_contents(contents: Any) -> None:
    if not isinstance(contents, list) or not contents:
        raise Invalid("* GenerateContentRequest.contents: contents is not specified")
    previous: dict[str, Any] | None = None
    for i, content in enumerate(contents):
        where = f"contents[{i}]"
        check_fields(content, {"role", "parts"}, where)
        if content.get("role") not in ("user", "model"):
            raise Invalid(f"{where}.role: Please use a valid role: user, model.")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise Invalid(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.")
        kinds = [check_part(p, f"{where}.parts[{j}]") for j, p in enumerate(parts)]
        if previous is not None and previous["role"] == content["role"]:
            raise Invalid("Please ensure that multiturn requests alternate between user and model.")
        if "functionCall" in kinds and (previous is None or previous["role"] != "user"):
            raise Invalid(
                "Please ensure that function call turn comes immediately after a user turn or after a function response turn."
            )
        if "functionResponse" in kinds:
            calls = sum(1 for p in (previous or {}).get("parts", []) if "functionCall" in p)
            if kinds.count("functionResponse") != calls:
                raise Invalid(
                    "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
                )
        previous = content


def check_request(body: Any) -> None:
    check_fields(body, REQUEST_FIELDS, "")
    check_contents(body.get("contents"))
    system = body.get("systemInstruction")
    if system is not None:
        check_fields(system, {"role", "parts"}, "system_instruction")
        for j, part in enumerate(system.get("parts") or []):
            if check_part(part, f"system_instruction.parts[{j}]") != "text":
                raise Invalid("system_instruction: only text parts are allowed")
    names: set[str] = set()
    for i, tool in enumerate(body.get("tools") or []):
        check_fields(tool, {"functionDeclarations", "googleSearch", "codeExecution"}, f"tools[{i}]")
        for j, decl in enumerate(tool.get("functionDeclarations") or []):
            where = f"tools[{i}].function_declarations[{j}]"
            check_fields(decl, {"name", "description", "parameters", "parametersJsonSchema", "response"}, where)
            if not NAME_RULE.match(str(decl.get("name", ""))):
                raise Invalid(f"* GenerateContentRequest.{where}.name: Invalid function name.")
            names.add(decl["name"])
            if "parameters" in decl:
                check_schema(decl["parameters"], f"{where}.parameters")
    config = body.get("toolConfig")
    if config is not None:
        calling = check_fields(
            check_fields(config, {"functionCallingConfig"}, "tool_config")["functionCallingConfig"],
            {"mode", "allowedFunctionNames"},
            "tool_config.function_calling_config",
        )
        if calling.get("mode") not in ("AUTO", "ANY", "NONE", "VALIDATED"):
            raise Invalid(f"Invalid value at 'tool_config.function_calling_config.mode': {calling.get('mode')!r}")
        allowed = calling.get("allowedFunctionNames")
        if allowed is not None and (calling["mode"] != "ANY" or not set(allowed) <= names):
            raise Invalid("allowed_function_names is only allowed with mode ANY and must name declared functions")
    generation = body.get("generationConfig")
    if generation is not None:
        check_fields(generation, CONFIG_FIELDS, "generation_config")
        if len(generation.get("stopSequences", [])) > 5:
            raise Invalid("generation_config.stop_sequences: at most 5 stop sequences are allowed")
        if "responseSchema" in generation:
            check_schema(generation["responseSchema"], "generation_config.response_schema")
        if not 0 <= generation.get("temperature", 1) <= 2:
            raise Invalid("generation_config.temperature: must be between 0 and 2")


# --------------------------------------------------------------------------- scripted answers


def text_response(
    text: str, *, finish: str = "STOP", usage: dict[str, int] | None = None, **extra: Any
) -> dict[str, Any]:
    """A ``GenerateContentResponse`` with one text candidate."""
    data: dict[str, Any] = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish, "index": 0}],
        "usageMetadata": usage or {"promptTokenCount": 7, "candidatesTokenCount": 3, "totalTokenCount": 10},
        "modelVersion": "gemini-2.0-flash",
        "responseId": "resp-1",
    }
    data.update(extra)
    return data


@dataclass
class GeminiReply:
    """One scripted answer: a JSON body, or ``events`` streamed as SSE."""

    status: int = 200
    json: Any = None
    events: list[Any] | None = None
    #: stop after this many events (the connection is cut; a truncated stream)
    cut_after: int | None = None
    #: after this many events, wait until ``resume`` is set (or 10 s) before sending the rest
    pause_after: int | None = None
    resume: threading.Event = field(default_factory=threading.Event)


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class FakeGemini(LocalServer):
    """The Gemini API on a free port: validates each request, records it, answers from a script."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[GeminiReply] = []
        self.finished_streams = 0

    def enqueue(self, *replies: GeminiReply) -> None:
        self.script.extend(replies)

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response, StreamingResponse
        from starlette.routing import Route

        async def handle(request: Request) -> Response:
            raw = await request.body()
            path = request.url.path
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return JSONResponse(error_body(400, "Invalid JSON payload received."), status_code=400)
            self.requests.append(Received(path, dict(request.query_params), dict(request.headers), body))
            if request.headers.get("x-goog-api-key") != API_KEY:
                return JSONResponse(error_body(400, "API key not valid. Please pass a valid API key."), status_code=400)
            match = re.fullmatch(r"/v1beta/models/([^/:]+):(generateContent|streamGenerateContent)", path)
            if match is None:
                return JSONResponse(error_body(404, f"{path} is not found"), status_code=404)
            streaming = match.group(2) == "streamGenerateContent"
            if streaming and request.query_params.get("alt") != "sse":
                return JSONResponse(error_body(400, "this server only streams with alt=sse"), status_code=400)
            try:
                check_request(body)
            except Invalid as exc:
                return JSONResponse(error_body(400, str(exc)), status_code=400)
            reply = (
                self.script.pop(0)
                if self.script
                else GeminiReply(
                    events=[text_response("Hello from Gemini.")] if streaming else None,
                    json=None if streaming else text_response("Hello from Gemini."),
                )
            )
            if reply.events is not None and reply.status == 200:
                return StreamingResponse(self._events(reply), media_type="text/event-stream")
            return JSONResponse(reply.json, status_code=reply.status)

        return Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])

    async def _events(self, reply: GeminiReply) -> AsyncIterator[bytes]:
        for i, event in enumerate(reply.events or []):
            if reply.cut_after is not None and i >= reply.cut_after:
                raise ConnectionAbortedError("the fake Gemini server cuts the stream on purpose")
            if reply.pause_after is not None and i == reply.pause_after:
                await asyncio.to_thread(reply.resume.wait, 10)
            yield event if isinstance(event, bytes) else b"data: " + orjson.dumps(event) + b"\r\n\r\n"
        self.finished_streams += 1


def gemini_config(server: FakeGemini, **litellm_settings: Any) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "gemini-flash",
                "litellm_params": {"model": "gemini/gemini-2.0-flash", "api_base": server.url, "api_key": API_KEY},
            },
        ],
        "general_settings": {"master_key": "sk-master"},
        "router_settings": {"num_retries": 0},
        "litellm_settings": litellm_settings,
    }
