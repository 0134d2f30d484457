#!/usr/bin/env bash
# Measure the time from `gateway new-plugin` to a passing test of a working guardrail.
#
#   plugin-template/measure.sh [framework|hook]      (default: framework, the default variant)
#
# Steps, each timed: generate the package, install it (pip + hatchling, as `pip install -e .` does),
# run its generated tests (a real gateway, the official openai SDK, a recording fake upstream).
# The package is installed into a private folder put on PYTHONPATH, so the shared virtualenv is
# left exactly as it was. Needs the repository's .venv (make install).
set -euo pipefail
cd "$(dirname "$0")/.."
variant="${1:-framework}"
python="${PYTHON:-.venv/bin/python}"
python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")"  # absolute: the tests run in the package
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { "$python" -c 'import time; print(time.perf_counter())'; }
elapsed() { "$python" -c "print(f'{$2 - $1:.2f}')"; }

t0=$(now)
"$python" -m gateway new-plugin word-filter --kind guardrail --variant "$variant" --output "$work" >/dev/null
t1=$(now)
flags=""  # the venv's hatchling when present (offline); otherwise pip fetches it, as a user's install would
"$python" -c 'import hatchling' 2>/dev/null && flags="--no-build-isolation --no-index"
# shellcheck disable=SC2086
"$python" -m pip install --quiet --no-deps $flags \
    --target "$work/site" "$work/gateway-word-filter" 2>&1 | grep -v "Location '" || true
t2=$(now)
(cd "$work/gateway-word-filter" && PYTHONPATH="$work/site" "$python" -m pytest -q -p no:cacheprovider) \
    > "$work/pytest.log" 2>&1 || { cat "$work/pytest.log"; exit 1; }
t3=$(now)
summary=$(tail -1 "$work/pytest.log")
echo "guardrail variant: $variant"
echo "generate:  $(elapsed "$t0" "$t1") s   (gateway new-plugin word-filter --kind guardrail)"
echo "install:   $(elapsed "$t1" "$t2") s   (pip build + install with hatchling)"
echo "tests:     $(elapsed "$t2" "$t3") s   ($summary)"
echo "total:     $(elapsed "$t0" "$t3") s   from new-plugin to a passing test of a working guardrail"
