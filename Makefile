# fmas-hw — the two commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test test-fast lint demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==24.3.1"

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: install lint
	$(BIN)/python -m pytest -q -ra

test-fast: install
	$(BIN)/python -m pytest -q -ra -m "not slow"

lint: install
	$(BIN)/ruff check host tests bench
	$(BIN)/mypy

demo: install
	$(BIN)/fmas-hw demo --out demo-out

clean:
	rm -rf $(VENV) build dist host/*.egg-info .pytest_cache
