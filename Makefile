# fmas-hw — the two commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# NNTool (GAP SDK tools/nntool) needs Python 3.8 and its own pins (tools/nntool-requirements.txt):
# a separate venv, built once, that the real-NNTool tests (tests/gap8/test_nntool.py) run with.
# pyenv's 3.8 is on the machine image; any python3.8 on PATH does too. Override with PYTHON38=...
PYTHON38     ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.8*/bin/python3.8) \
                  $(wildcard $(HOME)/.pyenv/versions/3.8*/bin/python3.8) \
                  $(shell command -v python3.8 2>/dev/null))
NNTOOL_VENV  ?= .venv-nntool
NNTOOL_STAMP := $(NNTOOL_VENV)/.installed

.PHONY: install test test-fast lint demo clean nntool-env

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==24.3.1"

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# bfloat16 1.1 builds against numpy (so without build isolation, with numpy, Cython and wheel
# installed first) and, on GCC >= 11, only with <memory> force-included (setuptools compiles
# its .cc with $(CC), so CFLAGS carries it too; the other packages build without it).
$(NNTOOL_STAMP): tools/nntool-requirements.txt
	@test -n "$(PYTHON38)" || { echo "nntool-env: no Python 3.8 found (pyenv install 3.8.18, or" \
	  "make PYTHON38=/path/to/python3.8)" >&2; exit 1; }
	rm -rf $(NNTOOL_VENV)
	$(PYTHON38) -m venv $(NNTOOL_VENV)
	$(NNTOOL_VENV)/bin/pip install --quiet --upgrade "pip==24.3.1"
	$(NNTOOL_VENV)/bin/pip install --quiet "wheel==0.45.1" $$(grep -E '^(numpy|Cython)==' $<)
	CFLAGS="-include memory" CXXFLAGS="-include memory" $(NNTOOL_VENV)/bin/pip install --quiet \
	  --no-build-isolation $$(grep -E '^bfloat16==' $<)
	$(NNTOOL_VENV)/bin/pip install --quiet -r $<
	touch $@

nntool-env: $(NNTOOL_STAMP)

# Without a Python 3.8 the NNTool tests skip saying why (and fail under CI, which has one).
NNTOOL_FOR_TEST := $(if $(PYTHON38),nntool-env,)

test: install lint $(NNTOOL_FOR_TEST)
	$(if $(PYTHON38),,@echo "make test: no Python 3.8 found, the real-NNTool tests will skip (make nntool-env)")
	$(BIN)/python -m pytest -q -ra

test-fast: install
	$(BIN)/python -m pytest -q -ra -m "not slow"

lint: install
	$(BIN)/ruff check host tests bench
	$(BIN)/mypy

demo: install
	$(BIN)/fmas-hw demo --out demo-out

clean:
	rm -rf $(VENV) $(NNTOOL_VENV) build dist host/*.egg-info .pytest_cache
