"""The typed chat request model, the OpenAI chat codec and the helpers of translating providers
(public API for plugins).

Surfaces decode a client's chat request into a :class:`ChatRequest`; request hooks read and change
it; each provider encodes it into its upstream's format with one encoder.  See
``docs/architecture.md`` ("Surfaces, one lifecycle, one request model").
"""

from gateway.chat._answers import (
    FINISH_CONTENT_FILTER,
    FINISH_LENGTH,
    FINISH_REASONS,
    FINISH_STOP,
    FINISH_TOOL_CALLS,
    ChunkBuilder,
    chat_completion,
    loads_replacing,
    new_completion_id,
    openai_usage,
    tool_call,
    upstream_json_answer,
    upstream_json_object,
)
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
from gateway.chat._openai import CONTENT_FORMATS as OPENAI_CONTENT_FORMATS
from gateway.chat._openai import ContentFormat as OpenAIContentFormat
from gateway.chat._openai import as_openai_body
from gateway.chat._openai import decode_chat as decode_openai_chat
from gateway.chat._openai import decode_prompt as decode_openai_prompt
from gateway.chat._openai import encode_chat as encode_openai_chat
from gateway.chat._openai import encode_prompt as encode_openai_prompt
from gateway.chat._params import DROPPED_PARAMS_HEADER, GATEWAY_ONLY_FIELDS, drop_or_refuse, effective_drop_params
from gateway.chat._tools import TOOL_SHAPE, check_function_tool, function_tools, tool_choice_mode

__all__ = [
    # the request model and the OpenAI codec
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
    "OPENAI_CONTENT_FORMATS",
    "OpenAIContentFormat",
    "decode_openai_chat",
    "decode_openai_prompt",
    "encode_openai_chat",
    "encode_openai_prompt",
    "parse_data_url",
    "TOOL_SHAPE",
    "check_function_tool",
    "function_tools",
    "tool_choice_mode",
    # request parameters: the gateway's own fields, drop_params
    "GATEWAY_ONLY_FIELDS",
    "DROPPED_PARAMS_HEADER",
    "drop_or_refuse",
    "effective_drop_params",
    # building OpenAI answers from an upstream's (translating providers)
    "FINISH_CONTENT_FILTER",
    "FINISH_LENGTH",
    "FINISH_REASONS",
    "FINISH_STOP",
    "FINISH_TOOL_CALLS",
    "ChunkBuilder",
    "chat_completion",
    "new_completion_id",
    "openai_usage",
    "tool_call",
    "upstream_json_object",
    "upstream_json_answer",
    "loads_replacing",
]
