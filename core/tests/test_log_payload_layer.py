"""``LogEvent.to_dict`` belongs to core's bottom layer: building the payload never loads the sink framework.

The bottom layer (``_types``, ``_errors``, ``chat``, ``_log_payload``, ``_tracecontext``) is what
everything else imports; if it imported ``gateway.sinks`` (even lazily, inside a function) the
layers would be a cycle and a ``gateway_log`` plugin calling ``to_dict()`` would drag the sink
framework in.
"""

from __future__ import annotations

import subprocess
import sys

import grimp
import orjson

BOTTOM_LAYER = ("gateway._types", "gateway._errors", "gateway.chat", "gateway._log_payload", "gateway._tracecontext")

TO_DICT_IN_A_FRESH_INTERPRETER = """
import sys
import orjson
from gateway._types import LogEvent, RequestContext

headers = {"traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"}
ctx = RequestContext("req_layer", "chat", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, headers)
payload = LogEvent(ctx).to_dict()
loaded = sorted(name for name in sys.modules if name == "gateway.sinks" or name.startswith("gateway.sinks."))
sys.stdout.write(orjson.dumps({"payload": payload, "sinks_loaded": loaded}).decode())
"""


def test_to_dict_builds_the_documented_payload_without_loading_the_sink_framework() -> None:
    done = subprocess.run(
        [sys.executable, "-c", TO_DICT_IN_A_FRESH_INTERPRETER], capture_output=True, text=True, check=True
    )
    out = orjson.loads(done.stdout)
    assert out["sinks_loaded"] == []
    payload = out["payload"]
    assert payload["schema_version"] == 1
    assert payload["request_id"] == "req_layer"
    assert payload["traceparent"] == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert payload["request"]["messages"] == [{"role": "user", "content": "hi"}]


def test_no_bottom_layer_module_imports_the_sink_framework_even_lazily() -> None:
    graph = grimp.build_graph("gateway")  # every import statement, including those inside functions
    for module in BOTTOM_LAYER:
        chains = graph.find_shortest_chains(importer=module, imported="gateway.sinks", as_packages=True)
        assert not chains, f"{module} reaches gateway.sinks through {sorted(chains)}"
