# fmas-hw — the two commands of the README: `make demo` and `make test`.
# The interpreter: PYTHON=python3.13 make test, else the first of python3, python3.13, python3.12
# and python3.11 that is a supported version (3.11 to 3.13, pyproject's requires-python).
SUPPORTED := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
            $$p -c '$(SUPPORTED)' 2>/dev/null && { echo $$p; break; }; done)
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

.PHONY: install test test-fast test-quick lint demo clean nntool-env

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "make: no Python 3.11, 3.12 or 3.13 found; name one: make test" \
	  "PYTHON=/path/to/python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==24.3.1"

# tensorflow-cpu (the package of TensorFlow 2.15 and earlier) shares its files with tensorflow:
# removed first, so a venv made before the move to tensorflow 2.21 is upgraded cleanly.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip uninstall --quiet --yes tensorflow-cpu tensorflow-estimator 2>/dev/null || true
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

# What CI runs on the other supported interpreters (the whole suite runs on one), in a few
# minutes: installing, the CLI, the search spaces, the store, the search loop, the device choice
# and the int8 TFLite export read back with LiteRT.
QUICK_TESTS := tests/test_packaging.py tests/test_structure.py tests/space tests/store tests/cli \
               tests/search/test_loop.py tests/search/test_config.py tests/model/test_device.py \
               tests/gap8/test_tflite_export.py
test-quick: install
	$(BIN)/python -m pytest -q -ra -m "not slow" $(QUICK_TESTS)

lint: install
	$(BIN)/ruff check host tests bench
	$(BIN)/mypy

demo: install
	$(BIN)/fmas-hw demo --out demo-out

clean:
	rm -rf $(VENV) .venv-3.* $(NNTOOL_VENV) build dist host/*.egg-info .pytest_cache
