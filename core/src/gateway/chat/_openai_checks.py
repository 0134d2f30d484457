"""Checking OpenAI request bodies before anything else happens, with messages that say the fix.

Every field a provider, a plugin or the ledger reads is checked here for its JSON type (and
integers for a range any upstream takes), so a wrong type is a 400 that names the field, never
a ``TypeError`` deep in a provider's encoder.  Fields nobody reads are left alone: the upstream
judges them.
"""

from __future__ import annotations

from typing import Any

from gateway._errors import BadRequestError

_NUMBER = (int, float)
VALID_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
#: the largest integer any upstream or column takes (a signed 64-bit value)
MAX_INT = 2**63 - 1
#: deepest nesting of arrays and objects in a request body: re-encoding JSON (orjson, for the
#: upstream or the ledger) stops at 255 levels, and no real request comes near this
MAX_JSON_DEPTH = 128

#: common optional fields and the JSON types they must have
_OPTIONAL_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "stream": ((bool,), "true or false"),
    "temperature": (_NUMBER, "a number"),
    "top_p": (_NUMBER, "a number"),
    "top_k": ((int,), "an integer"),
    "n": ((int,), "an integer"),
    "max_tokens": ((int,), "an integer"),
    "max_completion_tokens": ((int,), "an integer"),
    "presence_penalty": (_NUMBER, "a number"),
    "frequency_penalty": (_NUMBER, "a number"),
    "stop": ((str, list), "a string or a list of strings"),
    "tools": ((list,), "a list"),
    "tool_choice": ((str, dict), "'auto', 'none', 'required' or an object naming a function"),
    "parallel_tool_calls": ((bool,), "true or false"),
    "user": ((str,), "a string"),
    "metadata": ((dict,), "an object"),
    "stream_options": ((dict,), "an object"),
    "response_format": ((dict,), "an object"),
    "reasoning_effort": ((str,), "a string such as 'low', 'medium' or 'high'"),
    "thinking": ((dict,), 'an object like {"type": "enabled", "budget_tokens": 2048}'),
    "logprobs": ((bool, int), "true or false (an integer on /v1/completions)"),
    "top_logprobs": ((int,), "an integer"),
    "seed": ((int,), "an integer"),
    "logit_bias": ((dict,), "an object"),
    "fallbacks": ((list,), "a list of model names"),
    "guardrails": ((list, dict), "a list of guardrail names"),
    "dimensions": ((int,), "an integer"),
    "encoding_format": ((str,), "'float' or 'base64'"),
}


#: every member :func:`_check_optional` looks at
_OPTIONAL_KEYS = frozenset(_OPTIONAL_TYPES)
#: the members of a plain message (``{"role": ..., "content": ...}``): nothing more to check
_PLAIN_MESSAGE_KEYS = frozenset({"role", "content"})

#: fields that must be at least 1 when given
_AT_LEAST_ONE = frozenset({"max_tokens", "max_completion_tokens", "n", "dimensions"})


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, param=param)


def _check_optional(body: dict[str, Any]) -> None:
    if _OPTIONAL_KEYS.isdisjoint(body):  # only required members (most requests): nothing to check
        return
    for name, value in body.items():  # bodies have a handful of keys, the table twenty
        spec = _OPTIONAL_TYPES.get(name)
        if spec is None or value is None:
            continue
        types, expected = spec
        # bool is an int in Python; a number field given true/false is still wrong
        if not isinstance(value, types) or ((value is True or value is False) and bool not in types):
            raise _bad(f"'{name}' must be {expected}, got {type(value).__name__}", name)
        if types is _NUMBER or int in types:
            if name in _AT_LEAST_ONE and isinstance(value, int) and value < 1:
                raise _bad(f"'{name}' must be at least 1, got {value}", name)
            if isinstance(value, int) and abs(value) > MAX_INT:
                raise _bad(f"'{name}' must be at most {MAX_INT}, got a larger number", name)
    stop = body.get("stop")
    if isinstance(stop, list) and not all(isinstance(s, str) for s in stop):
        raise _bad("'stop' must be a string or a list of strings", "stop")
    response_format = body.get("response_format")
    if response_format is not None and not isinstance(response_format.get("type"), str):
        raise _bad("'response_format.type' must be 'text', 'json_object' or 'json_schema'", "response_format.type")
    bias = body.get("logit_bias")
    if bias and not all(isinstance(v, _NUMBER) and not isinstance(v, bool) for v in bias.values()):
        raise _bad("'logit_bias' must map token ids to numbers", "logit_bias")
    if body.get("tools"):
        _check_tools(body["tools"])


class _Malformed(Exception):
    """A malformed item of a list (a message, a part, a tool): ``message`` and ``param`` with ``{at}``
    where the item's path goes.  The loop over the list fills it in, so a valid request formats no
    path at all (a path per message and part cost more than checking them)."""

    def __init__(self, message: str, param: str = "{at}", client_value: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        #: what the client sent, quoted after the message (never searched for ``{at}``)
        self.client_value = client_value

    def at(self, path: str) -> BadRequestError:
        return _bad(self.message.replace("{at}", path) + self.client_value, self.param.replace("{at}", path))


def _check_tools(tools: list[Any]) -> None:
    for i, tool in enumerate(tools):
        try:
            _check_tool(tool)
        except _Malformed as exc:
            raise exc.at(f"tools[{i}]") from None


def _check_tool(tool: Any) -> None:
    if not isinstance(tool, dict) or not isinstance(tool.get("type", "function"), str):
        raise _Malformed('{at} must be an object like {"type": "function", "function": {...}}')
    if tool.get("type", "function") != "function":
        return  # a provider's built-in tool: that provider checks it
    fn = tool.get("function")
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise _Malformed("{at}.function must be an object with a 'name'", "{at}.function")
    if fn.get("description") is not None and not isinstance(fn["description"], str):
        raise _Malformed("{at}.function.description must be a string", "{at}.function.description")
    if fn.get("parameters") is not None and not isinstance(fn["parameters"], dict):
        raise _Malformed("{at}.function.parameters must be a JSON schema object", "{at}.function.parameters")


def _check_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None:
        raise _bad("'model' is required: name one of the models from GET /v1/models", "model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("'model' must be a non-empty string naming a model from GET /v1/models", "model")
    return model


#: content part type -> (member, what it must be): the member every reader of that part uses
_PART_MEMBERS: dict[str, tuple[str, tuple[type, ...], str]] = {
    "text": ("text", (str,), "a string"),
    "refusal": ("refusal", (str,), "a string"),
    "image_url": ("image_url", (str, dict), 'an object like {"url": "https://..."}'),
    "input_audio": ("input_audio", (dict,), "an object with 'data' and 'format'"),
    "file": ("file", (dict,), "an object with 'file_id' or 'file_data'"),
}


def _check_parts(parts: list[Any], where: str) -> None:
    """``where``: the list's path below the message, with ``{at}`` for the message's (``{at}.content``)."""
    for j, part in enumerate(parts):
        if isinstance(part, str):
            continue  # a bare string stands for a text part (LiteLLM and several servers accept it)
        try:
            _check_part(part)
        except _Malformed as exc:
            path = f"{where}[{j}]"
            raise _Malformed(exc.message.replace("{at}", path), exc.param.replace("{at}", path)) from None


def _check_part(part: Any) -> None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise _Malformed("{at} must be an object with a 'type' (text, image_url ...)")
    spec = _PART_MEMBERS.get(part["type"])
    if spec is None:
        return  # a part type the gateway does not read: the provider accepts or refuses it
    member, types, expected = spec
    value = part.get(member)
    if not isinstance(value, types):
        raise _Malformed(f"{{at}}.{member} must be {expected}, got {type(value).__name__}", f"{{at}}.{member}")
    if isinstance(value, dict):
        for name in ("url", "detail", "data", "format", "file_id", "file_data", "filename"):
            if value.get(name) is not None and not isinstance(value[name], str):
                raise _Malformed(f"{{at}}.{member}.{name} must be a string", f"{{at}}.{member}.{name}")
        if member == "image_url" and not isinstance(value.get("url"), str):
            raise _Malformed("{at}.image_url.url is required: an https:// URL or a data: URL", "{at}.image_url.url")


def _check_tool_calls(calls: Any) -> None:
    if not isinstance(calls, list):
        raise _Malformed("{at}.tool_calls must be a list of tool calls", "{at}.tool_calls")
    for k, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not isinstance(call.get("id"), str):
            shape = '{"id": ..., "type": "function", "function": {"name": ..., "arguments": "<JSON>"}}'
            raise _Malformed(f"{{at}}.tool_calls[{k}] must be {shape}", f"{{at}}.tool_calls[{k}]")
        if fn.get("arguments") is not None and not isinstance(fn["arguments"], str):
            at = f"{{at}}.tool_calls[{k}].function.arguments"
            raise _Malformed(f"{at} must be a JSON string", at)


def _check_message(message: Any) -> None:
    if not isinstance(message, dict):
        raise _Malformed("{at} must be an object with 'role' and 'content'")
    role = message.get("role")
    if not isinstance(role, str) or role not in VALID_ROLES:
        raise _Malformed(f"{{at}}.role must be one of {', '.join(sorted(VALID_ROLES))}, got ", "{at}.role", repr(role))
    content = message.get("content")
    if isinstance(content, list):
        _check_parts(content, "{at}.content")
    elif content is not None and not isinstance(content, str):
        raise _Malformed("{at}.content must be a string or a list of content parts", "{at}.content")
    if _PLAIN_MESSAGE_KEYS.issuperset(message):
        return
    for name in ("name", "tool_call_id"):
        if message.get(name) is not None and not isinstance(message[name], str):
            raise _Malformed(f"{{at}}.{name} must be a string", f"{{at}}.{name}")
    if message.get("tool_calls") is not None:
        _check_tool_calls(message["tool_calls"])
    blocks = message.get("thinking_blocks")
    if blocks is not None and not (isinstance(blocks, list) and all(isinstance(b, dict) for b in blocks)):
        raise _Malformed("{at}.thinking_blocks must be a list of thinking block objects", "{at}.thinking_blocks")


def validate_chat(body: dict[str, Any]) -> str:
    model = _check_model(body)
    messages = body.get("messages")
    if messages is None:
        raise _bad('\'messages\' is required: a list like [{"role": "user", "content": "Hello"}]', "messages")
    if not isinstance(messages, list):
        raise _bad(f"'messages' must be a list of message objects, got {type(messages).__name__}", "messages")
    if not messages:
        raise _bad("'messages' is empty; send at least one message", "messages")
    for i, message in enumerate(messages):
        try:
            _check_message(message)
        except _Malformed as exc:
            raise exc.at(f"messages[{i}]") from None
    _check_optional(body)
    return model


def _is_tokens(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in value)


def _check_texts(value: Any, name: str, what: str) -> None:
    """A string, a list of strings, a list of token ids, or a list of such lists (OpenAI's forms)."""
    if isinstance(value, str) or (value and _is_tokens(value)):
        return
    if isinstance(value, list) and value and all(isinstance(v, str) or _is_tokens(v) for v in value):
        return
    raise _bad(f"'{name}' must be {what}: a string, a list of strings, or token ids", name)


def validate_completion(body: dict[str, Any]) -> str:
    model = _check_model(body)
    prompt = body.get("prompt")
    if prompt is None:
        raise _bad("'prompt' is required for /v1/completions", "prompt")
    _check_texts(prompt, "prompt", "the text to complete")
    if body.get("suffix") is not None and not isinstance(body["suffix"], str):
        raise _bad("'suffix' must be a string", "suffix")
    _check_optional(body)
    return model


def validate_embeddings(body: dict[str, Any]) -> str:
    model = _check_model(body)
    value = body.get("input")
    if value is None:
        raise _bad("'input' is required: a string or a list of strings to embed", "input")
    _check_texts(value, "input", "what to embed, not empty")
    _check_optional(body)
    return model


def check_nesting(data: dict[str, Any], raw: bytes) -> None:
    """Refuse a body nested deeper than ``MAX_JSON_DEPTH`` (400 naming the top-level field).

    A body with fewer ``[`` and ``{`` than the limit cannot be too deep: counting them runs in C
    and settles nearly every request, so the walk only runs for bodies with many containers.
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return
    stack = [(value, 2, name) for name, value in data.items() if isinstance(value, (dict, list))]
    while stack:
        value, depth, name = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _bad(
                f"'{name}' is nested more than {MAX_JSON_DEPTH} levels deep; the gateway accepts at most "
                f"{MAX_JSON_DEPTH} levels of arrays and objects in a request",
                name,
            )
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1, name) for child in children if isinstance(child, (dict, list)))
