"""OpenAI chat chunks -> the Responses API's event stream.

``response.created`` and ``response.in_progress`` first; then, per output item,
``response.output_item.added``, its content events (``response.content_part.added`` and
``response.output_text.delta`` for a message, ``response.function_call_arguments.delta`` for a
tool call, ``response.reasoning_summary_part.added`` and ``response.reasoning_summary_text.delta``
for reasoning), their ``.done`` events and ``response.output_item.done``; last
``response.completed`` (or ``response.incomplete``) with the whole Response and its usage.  Every
event carries its ``sequence_number``.  A message or reasoning item is closed as soon as another
item starts; tool calls stay open to the end (parallel calls may interleave their deltas).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from gateway.chat import JSON
from gateway.surfaces import encode_event

from .answer import function_call_item, message_item, new_id, reasoning_item, response_object
from .decode import ResponsesRequest


class _Item:
    __slots__ = ("kind", "index", "id", "text", "call_id", "name", "signature", "done")

    def __init__(self, kind: str, index: int, item_id: str) -> None:
        self.kind = kind
        self.index = index
        self.id = item_id
        self.text = ""
        self.call_id = ""
        self.name = ""
        self.signature: str | None = None
        self.done = False

    def final(self, namespaces: Mapping[str, str]) -> JSON:
        item = self._final()
        if self.kind == "function_call" and self.name in namespaces:
            item["namespace"] = namespaces[self.name]
        return item

    def _final(self) -> JSON:
        if self.kind == "message":
            return message_item(self.text, self.id)
        if self.kind == "reasoning":
            return reasoning_item(self.text, self.signature, self.id)
        return function_call_item(self.call_id, self.name, self.text, self.id)


class EventTranslator:
    """Feed it chunks; it returns the SSE bytes of the events each produces."""

    def __init__(self, request: ResponsesRequest, response_id: str, created_at: int) -> None:
        self.request = request
        self.response_id = response_id
        self.created_at = created_at
        self.model = request.model
        self.sequence = 0
        self.items: list[_Item] = []
        self.open_text: _Item | None = None  # the message or reasoning item receiving deltas
        self.calls: dict[int, _Item] = {}
        self.finish_reason: str | None = None
        self.usage: Mapping[str, Any] | None = None

    def _event(self, kind: str, **payload: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.sequence, **payload}
        self.sequence += 1
        return encode_event(kind, data)

    def response(self, status: str, error: JSON | None = None) -> JSON:
        output = [item.final(self.request.namespaces) for item in self.items] if status != "in_progress" else []
        return response_object(
            self.request,
            self.response_id,
            self.model,
            output,
            status=status,
            finish_reason=self.finish_reason,
            chat_usage=self.usage,
            created_at=self.created_at,
            error=error,
        )

    def start(self) -> bytes:
        response = self.response("in_progress")
        return self._event("response.created", response=response) + self._event(
            "response.in_progress", response=response
        )

    def feed(self, chunk: Mapping[str, Any]) -> Iterator[bytes]:
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.model = chunk["model"]
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue  # n > 1 has no Responses form; the first choice is the answer
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                yield from self._text("reasoning", reasoning)
            for block in delta.get("thinking_blocks") or ():
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "redacted_thinking" and isinstance(block.get("data"), str):
                    # an encrypted block of its own: a reasoning item with no summary, sent back as it came
                    yield self._open("reasoning")
                    assert self.open_text is not None
                    self.open_text.signature = block["data"]
                elif isinstance(block.get("signature"), str) and block["signature"]:
                    if self.open_text is None or self.open_text.kind != "reasoning":
                        yield self._open("reasoning")
                    assert self.open_text is not None
                    self.open_text.signature = block["signature"]
            content = delta.get("content")
            if isinstance(content, str) and content:
                yield from self._text("message", content)
            for call in delta.get("tool_calls") or ():
                yield from self._call(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def _text(self, kind: str, text: str) -> Iterator[bytes]:
        if self.open_text is None or self.open_text.kind != kind:
            yield self._open(kind)
        item = self.open_text
        assert item is not None
        item.text += text
        if kind == "message":
            yield self._event("response.output_text.delta", item_id=item.id, output_index=item.index,
                              content_index=0, delta=text, logprobs=[])  # fmt: skip
        else:
            yield self._event("response.reasoning_summary_text.delta", item_id=item.id, output_index=item.index,
                              summary_index=0, delta=text)  # fmt: skip

    def _open(self, kind: str) -> bytes:
        out = self._close_text()
        item = _Item(kind, len(self.items), new_id("msg" if kind == "message" else "rs"))
        self.items.append(item)
        self.open_text = item
        if kind == "message":
            added = {"id": item.id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
            out += self._event("response.output_item.added", output_index=item.index, item=added)
            out += self._event("response.content_part.added", item_id=item.id, output_index=item.index,
                               content_index=0, part={"type": "output_text", "text": "", "annotations": []})  # fmt: skip
        else:
            out += self._event("response.output_item.added", output_index=item.index,
                               item={"id": item.id, "type": "reasoning", "summary": []})  # fmt: skip
            out += self._event("response.reasoning_summary_part.added", item_id=item.id, output_index=item.index,
                               summary_index=0, part={"type": "summary_text", "text": ""})  # fmt: skip
        return out

    def _close_text(self) -> bytes:
        item = self.open_text
        if item is None:
            return b""
        self.open_text = None
        item.done = True
        if item.kind == "message":
            part = {"type": "output_text", "text": item.text, "annotations": [], "logprobs": []}
            return (
                self._event("response.output_text.done", item_id=item.id, output_index=item.index, content_index=0,
                            text=item.text, logprobs=[])
                + self._event("response.content_part.done", item_id=item.id, output_index=item.index,
                              content_index=0, part=part)
                + self._event("response.output_item.done", output_index=item.index, item=item.final(self.request.namespaces))
            )  # fmt: skip
        return (
            self._event("response.reasoning_summary_text.done", item_id=item.id, output_index=item.index,
                        summary_index=0, text=item.text)
            + self._event("response.reasoning_summary_part.done", item_id=item.id, output_index=item.index,
                          summary_index=0, part={"type": "summary_text", "text": item.text})
            + self._event("response.output_item.done", output_index=item.index, item=item.final(self.request.namespaces))
        )  # fmt: skip

    def _call(self, call: Mapping[str, Any]) -> Iterator[bytes]:
        index = call.get("index", len(self.calls))
        function = call.get("function") or {}
        item = self.calls.get(index)
        if item is None:
            closed = self._close_text()
            if closed:
                yield closed
            item = _Item("function_call", len(self.items), new_id("fc"))
            item.call_id = str(call.get("id") or new_id("call"))
            item.name = str(function.get("name") or "")
            self.items.append(item)
            self.calls[index] = item
            added = function_call_item(item.call_id, item.name, "", item.id, status="in_progress")
            if item.name in self.request.namespaces:
                added["namespace"] = self.request.namespaces[item.name]
            yield self._event("response.output_item.added", output_index=item.index, item=added)
        elif function.get("name") and not item.name:
            item.name = str(function["name"])
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item.text += arguments
            yield self._event("response.function_call_arguments.delta", item_id=item.id, output_index=item.index,
                              delta=arguments)  # fmt: skip

    def finish(self) -> Iterator[bytes]:
        """The remaining ``.done`` events; then call :meth:`completed`."""
        closed = self._close_text()
        if closed:
            yield closed
        for item in self.calls.values():
            if item.done:
                continue
            item.done = True
            yield self._event("response.function_call_arguments.done", item_id=item.id, output_index=item.index,
                              name=item.name, arguments=item.text)  # fmt: skip
            yield self._event(
                "response.output_item.done", output_index=item.index, item=item.final(self.request.namespaces)
            )

    def completed(self, response: JSON) -> bytes:
        kind = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        return self._event(kind, response=response)

    def failed(self, code: str, message: str) -> bytes:
        return self._event("response.failed", response=self.response("failed", {"code": code, "message": message}))
