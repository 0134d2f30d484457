"""The typed chat request model and the OpenAI chat codec (public API for plugins).

Surfaces decode a client's chat request into a :class:`ChatRequest`; request hooks read and change
it; each provider encodes it into its upstream's format with one encoder.  See
``docs/architecture.md`` ("Surfaces, one lifecycle, one request model").
"""

from gateway.chat._checks import parse_data_url
from gateway.chat._model import (
    JSON,
    ChatRequest,
    ContentForm,
    File,
    Image,
    Message,
    ModelRequest,
    Opaque,
    OpaqueTool,
    Part,
    Text,
    Thinking,
    Tool,
    ToolCall,
    ToolChoice,
    ToolResult,
)
from gateway.chat._openai import as_openai_body
from gateway.chat._openai import decode_chat as decode_openai_chat
from gateway.chat._openai import decode_prompt as decode_openai_prompt
from gateway.chat._openai import encode_chat as encode_openai_chat
from gateway.chat._openai import encode_prompt as encode_openai_prompt

__all__ = [
    "JSON",
    "ChatRequest",
    "ContentForm",
    "File",
    "Image",
    "Message",
    "ModelRequest",
    "Opaque",
    "OpaqueTool",
    "Part",
    "Text",
    "Thinking",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "ToolResult",
    "as_openai_body",
    "decode_openai_chat",
    "decode_openai_prompt",
    "encode_openai_chat",
    "encode_openai_prompt",
    "parse_data_url",
]
