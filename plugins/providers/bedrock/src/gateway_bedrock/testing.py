"""A local Bedrock Runtime (Converse / ConverseStream) that checks requests the way AWS does.

Shapes and rules, from AWS's documentation:

* Converse request/response and its errors (``x-amzn-ErrorType`` + ``{"message"}``; ValidationException
  400, AccessDeniedException 403, ThrottlingException 429, ModelNotReadyException 429,
  ServiceUnavailableException 503, InternalServerException 500 ...):
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
* ConverseStream and its events (messageStart, contentBlockStart/Delta/Stop, messageStop, metadata,
  and the exception events): https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html,
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
* content blocks (text, image with png/jpeg/gif/webp bytes, toolUse, toolResult):
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html,
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
* tools (name ``[a-zA-Z0-9_-]{1,64}``, ``inputSchema.json``, toolChoice auto/any/tool):
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolSpecification.html,
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolChoice.html
* usage (inputTokens, outputTokens, cacheReadInputTokens, cacheWriteInputTokens):
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
* conversation rules (starts with a user message, roles alternate, tool results answer every
  tool use of the previous turn, toolConfig present when tool blocks are): the Converse user guide,
  https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html
* event-stream framing (prelude with lengths and CRC32, headers, payload, message CRC32):
  https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html
* SigV4: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html;
  the server recomputes the signature from what it received, so a request that was changed after
  signing (or signed for the wrong path, region or service) is refused like AWS refuses it.

It ships with the plugin so that its users can test against it offline too: ``FakeBedrock().start()``
serves on a free port (``.url``), ``enqueue`` scripts its answers, ``bedrock_config`` points a gateway
config at it (with test credentials the server checks the SigV4 signature against).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import struct
import threading
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.testing import LocalServer

ACCESS_KEY = "AKIDTESTGATEWAY"
SECRET_KEY = "test-secret-key"
SESSION_TOKEN = "test-session-token"
REGION = "us-west-2"
MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
REQUEST_FIELDS = {
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "guardrailConfig",
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "promptVariables",
    "requestMetadata",
    "performanceConfig",
}
BLOCK_KINDS = {
    "text",
    "image",
    "document",
    "video",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class Refused(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def invalid(message: str) -> Refused:
    return Refused(400, "ValidationException", message)


# --------------------------------------------------------------------------- SigV4 check


def check_signature(method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes) -> str:
    """Recompute the SigV4 signature from the request as received; return the region it was signed for."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import ReadOnlyCredentials

    match = AUTHORIZATION.match(headers.get("authorization", ""))
    if match is None:
        raise Refused(403, "UnrecognizedClientException", "Authorization header missing or malformed")
    amz_date = headers.get("x-amz-date", "")
    signed = match["signed"].split(";")
    if match["key"] != ACCESS_KEY:
        raise Refused(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
    if (
        match["service"] != "bedrock"
        or match["date"] != amz_date[:8]
        or "host" not in signed
        or "x-amz-date" not in signed
    ):
        raise Refused(403, "InvalidSignatureException", "Credential scope or signed headers are wrong")
    token = headers.get("x-amz-security-token")
    if token is not None and (token != SESSION_TOKEN or "x-amz-security-token" not in signed):
        raise Refused(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
    url = f"http://{headers['host']}{raw_path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers={h: headers[h] for h in signed if h != "host"})
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(ReadOnlyCredentials(ACCESS_KEY, SECRET_KEY, token), "bedrock", match["region"])
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if expected != match["signature"]:
        raise Refused(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )
    return match["region"]


# --------------------------------------------------------------------------- Converse body check


def check_block(block: Any, where: str) -> str:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in BLOCK_KINDS:
        raise invalid(f"{where}: a ContentBlock holds exactly one member")
    kind, value = next(iter(block.items()))
    if kind == "text" and (not isinstance(value, str) or not value.strip()):
        raise invalid(
            f"The text field in the ContentBlock object at {where} is blank. Add text to the text field, and try again."
        )
    if kind == "image":
        if value.get("format") not in ("png", "jpeg", "gif", "webp") or set(value) != {"format", "source"}:
            raise invalid(f"{where}.image: format must be png, jpeg, gif or webp")
        try:
            base64.b64decode(value["source"]["bytes"], validate=True)
        except (binascii.Error, KeyError, TypeError):
            raise invalid(f"{where}.image.source.bytes is not base64") from None
    if kind == "toolUse" and (set(value) != {"toolUseId", "name", "input"} or not isinstance(value["input"], dict)):
        raise invalid(f"{where}.toolUse needs toolUseId, name and an input object")
    if kind == "toolResult":
        if (
            not isinstance(value.get("toolUseId"), str)
            or not isinstance(value.get("content"), list)
            or not value["content"]
        ):
            raise invalid(f"{where}.toolResult needs toolUseId and content")
        for item in value["content"]:
            if (
                not isinstance(item, dict)
                or len(item) != 1
                or next(iter(item)) not in ("text", "json", "image", "document")
            ):
                raise invalid(f"{where}.toolResult.content: each item holds one of text, json, image, document")
    return kind


def check_converse(body: Any) -> None:
    if not isinstance(body, dict) or set(body) - REQUEST_FIELDS:
        raise invalid(
            f"Unknown request fields: {sorted(set(body) - REQUEST_FIELDS) if isinstance(body, dict) else body}"
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: must not be empty")
    uses_tools = False
    for i, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant") or set(message) != {"role", "content"}:
            raise invalid(f"messages.{i}: role must be user or assistant")
        if i == 0 and message["role"] != "user":
            raise invalid(
                "A conversation must start with a user message. Try again with a conversation that starts with a user message."
            )
        if i and messages[i - 1]["role"] == message["role"]:
            raise invalid(
                "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
            )
        if not isinstance(message["content"], list) or not message["content"]:
            raise invalid(f"messages.{i}.content: must not be empty")
        kinds = [check_block(b, f"messages.{i}.content.{j}") for j, b in enumerate(message["content"])]
        uses_tools = uses_tools or "toolUse" in kinds or "toolResult" in kinds
        if "toolUse" in kinds:
            wanted = {b["toolUse"]["toolUseId"] for b in message["content"] if "toolUse" in b}
            after = messages[i + 1]["content"] if i + 1 < len(messages) else []
            given = {b["toolResult"]["toolUseId"] for b in after if isinstance(b, dict) and "toolResult" in b}
            if i + 1 < len(messages) and wanted != given:
                raise invalid(
                    f"Expected toolResult blocks at messages.{i + 1}.content for the following Ids: {', '.join(sorted(wanted - given))}"
                )
    for j, block in enumerate(body.get("system") or []):
        if set(block) - {"text", "guardContent", "cachePoint"} or not str(block.get("text", "x")).strip():
            raise invalid(f"system.{j}: a SystemContentBlock holds non-blank text")
    config = body.get("inferenceConfig")
    if config is not None:
        if set(config) - {"maxTokens", "temperature", "topP", "stopSequences"}:
            raise invalid(
                f"inferenceConfig: unknown fields {sorted(set(config) - {'maxTokens', 'temperature', 'topP', 'stopSequences'})}"
            )
        if (
            not 0 <= config.get("temperature", 0) <= 1
            or not 0 <= config.get("topP", 0) <= 1
            or config.get("maxTokens", 1) < 1
        ):
            raise invalid("inferenceConfig: temperature and topP are between 0 and 1, maxTokens at least 1")
    tools = body.get("toolConfig")
    if uses_tools and tools is None:
        raise invalid("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    if tools is not None:
        check_tool_config(tools)


def check_tool_config(config: Any) -> None:
    if set(config) - {"tools", "toolChoice"} or not config.get("tools"):
        raise invalid("toolConfig.tools must not be empty")
    names = set()
    for i, tool in enumerate(config["tools"]):
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if not isinstance(spec, dict) or set(spec) - {"name", "description", "inputSchema"}:
            raise invalid(f"toolConfig.tools.{i}: a Tool holds a toolSpec with name, description, inputSchema")
        if not TOOL_NAME.match(str(spec.get("name"))) or ("description" in spec and not spec["description"]):
            raise invalid(
                f"toolConfig.tools.{i}.toolSpec: name must match [a-zA-Z0-9_-]+ and description must not be empty"
            )
        schema = (spec.get("inputSchema") or {}).get("json")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise invalid(f"toolConfig.tools.{i}.toolSpec.inputSchema: the json schema must be of type object")
        names.add(spec["name"])
    choice = config.get("toolChoice")
    if choice is not None:
        if not isinstance(choice, dict) or len(choice) != 1 or next(iter(choice)) not in ("auto", "any", "tool"):
            raise invalid("toolConfig.toolChoice holds exactly one of auto, any, tool")
        if "tool" in choice and choice["tool"].get("name") not in names:
            raise invalid("toolConfig.toolChoice.tool.name must name one of the tools")


# --------------------------------------------------------------------------- event-stream encoding


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message with string headers (value type 7)."""
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value.encode())) + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return head + struct.pack(">I", zlib.crc32(head))


def event(event_type: str, payload: dict[str, Any]) -> bytes:
    return encode_message(
        {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
        orjson.dumps({**payload, "p": "abcdefgh"}),
    )  # real events carry "p" padding


def exception(exception_type: str, message: str) -> bytes:
    return encode_message(
        {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"},
        orjson.dumps({"message": message}),
    )


def text_stream(*pieces: str, stop: str = "end_turn", usage: dict[str, int] | None = None) -> list[bytes]:
    events = [event("messageStart", {"role": "assistant"})]
    events += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}}) for p in pieces]
    events += [
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event("messageStop", {"stopReason": stop}),
        event(
            "metadata",
            {"usage": usage or {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13}, "metrics": {"latencyMs": 5}},
        ),
    ]
    return events


def converse_response(
    *blocks: dict[str, Any], stop: str = "end_turn", usage: dict[str, int] | None = None
) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": list(blocks)}},
        "stopReason": stop,
        "usage": usage or {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13},
        "metrics": {"latencyMs": 10},
    }


# --------------------------------------------------------------------------- the server


@dataclass
class BedrockReply:
    status: int = 200
    json: Any = None
    #: the error name sent in ``x-amzn-ErrorType`` for error statuses
    error_type: str | None = None
    #: raw event-stream messages for ConverseStream
    events: list[bytes] | None = None
    #: send the stream's bytes in pieces of this size (messages split across reads)
    piece_size: int | None = None
    cut_after: int | None = None
    pause_after: int | None = None
    resume: threading.Event = field(default_factory=threading.Event)


@dataclass
class Received:
    raw_path: str
    headers: dict[str, str]
    body: Any
    region: str


class FakeBedrock(LocalServer):
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[BedrockReply] = []
        self.finished_streams = 0
        #: every request that reached the server, valid or not
        self.hits = 0

    def enqueue(self, *replies: BedrockReply) -> None:
        self.script.extend(replies)

    def app(self) -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                while True:
                    kind = (await receive())["type"]
                    await send({"type": kind + ".complete"})
                    if kind == "lifespan.shutdown":
                        return
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            self.hits += 1
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            raw_path = scope["raw_path"].decode()
            await self._answer(scope, raw_path, headers, body, send)

        return app

    async def _answer(
        self, scope: dict[str, Any], raw_path: str, headers: dict[str, str], body: bytes, send: Any
    ) -> None:
        try:
            region = check_signature(scope["method"], raw_path, scope["query_string"].decode(), headers, body)
            match = re.fullmatch(r"/model/([^/]+)/(converse|converse-stream)", raw_path)
            if match is None:
                raise Refused(404, "UnknownOperationException", f"no operation at {raw_path}")
            parsed = orjson.loads(body)
            self.requests.append(Received(raw_path, headers, parsed, region))
            check_converse(parsed)
        except Refused as exc:
            await self._send_json(send, exc.status, {"message": exc.message}, exc.error_type)
            return
        reply = self.script.pop(0) if self.script else None
        streaming = match.group(2) == "converse-stream"
        if reply is None:
            reply = (
                BedrockReply(events=text_stream("Hello from ", "Bedrock."))
                if streaming
                else BedrockReply(json=converse_response({"text": "Hello from Bedrock."}))
            )
        if reply.status != 200 or not streaming:
            await self._send_json(send, reply.status, reply.json, reply.error_type)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/vnd.amazon.eventstream"), (b"x-amzn-requestid", b"req-1")],
            }
        )
        async for piece in self._pieces(reply):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self.finished_streams += 1

    async def _pieces(self, reply: BedrockReply) -> AsyncIterator[bytes]:
        for i, message in enumerate(reply.events or []):
            if reply.cut_after is not None and i >= reply.cut_after:
                raise ConnectionAbortedError("the fake Bedrock server cuts the stream on purpose")
            if reply.pause_after is not None and i == reply.pause_after:
                await asyncio.to_thread(reply.resume.wait, 10)
            step = reply.piece_size or len(message)
            for start in range(0, len(message), step):
                yield message[start : start + step]

    async def _send_json(self, send: Any, status: int, payload: Any, error_type: str | None) -> None:
        headers = [(b"content-type", b"application/json")]
        if error_type:
            headers.append(
                (b"x-amzn-errortype", f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/".encode())
            )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": orjson.dumps(payload)})


def bedrock_config(server: FakeBedrock, *, session_token: bool = False, **litellm_settings: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": f"bedrock/{MODEL_ID}",
        "api_base": server.url,
        "aws_region_name": REGION,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
    }
    if session_token:
        params["aws_session_token"] = SESSION_TOKEN
    return {
        "model_list": [{"model_name": "claude-bedrock", "litellm_params": params}],
        "general_settings": {"master_key": "sk-master"},
        "router_settings": {"num_retries": 0},
        "litellm_settings": litellm_settings,
    }
