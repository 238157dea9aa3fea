# Two commands do all the set-up on a fresh Debian machine:
#   make demo   install, train task01's reference, grade it (in build/demo, a workspace of its own)
#   make test   install, then lint, type-check and run the whole test suite
VENV    ?= .venv
PY      := $(VENV)/bin/python
# pip byte-compiles what it installs unless PYTHONDONTWRITEBYTECODE is set; compiled
# modules are what keeps `grade list` inside its 0.3 s start-up budget.
PIP     := env -u PYTHONDONTWRITEBYTECODE $(PY) -m pip
STAMP   := $(VENV)/.installed
DEVSTAMP:= $(VENV)/.installed-dev
FMNIST  := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The demo is a workspace of its own (its gradebook and model store in build/demo/.grader),
# reading the catalogue from tasks/: the candidate's .grader, clocks and restores are untouched.
DEMO_WS := build/demo
DEMO    := $(DEMO_WS)/model.keras
DEMO_ENV:= GRADER_HOME=$(CURDIR)/$(DEMO_WS) GRADER_TASKS=$(CURDIR)/tasks

.PHONY: install install-dev data demo test lint bench clean

install: $(STAMP) data

install-dev: $(DEVSTAMP) data

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m compileall -q grader
	touch $(STAMP)

# Test tools plus the optional Ray backend, so its local-runtime test runs in CI too.
$(DEVSTAMP): $(STAMP)
	$(PIP) install --quiet -e '.[dev,cluster]'
	touch $(DEVSTAMP)

# System packages from Debian: Fashion-MNIST offline (unless $GRADER_DATA points elsewhere)
# and bubblewrap, which confines the sandboxed child (read-only filesystem, no network).
# chromium (+ chromium-driver) renders `grade TASK --report` HTML headless in the tests.
APT_NEED := $(if $(wildcard $(FMNIST)),,$(if $(GRADER_DATA),,dataset-fashion-mnist)) \
            $(if $(shell command -v bwrap),,bubblewrap) \
            $(if $(shell command -v chromium),,chromium chromium-driver)
data:
	@if [ -n "$(strip $(APT_NEED))" ]; then \
	  echo "Installing Debian packages: $(strip $(APT_NEED))"; \
	  $(SUDO) apt-get install -y -q $(APT_NEED) \
	  || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(APT_NEED)) \
	  || echo "warning: could not install $(strip $(APT_NEED)); see README (offline data, sandbox)"; \
	fi

demo: install
	mkdir -p $(DEMO_WS)
	$(PY) tasks/task01/reference.py $(DEMO)
	env $(DEMO_ENV) $(VENV)/bin/grade task01 --model $(DEMO)

lint: $(DEVSTAMP)
	$(VENV)/bin/ruff check grader tests bench tasks
	$(VENV)/bin/ruff format --check grader tests bench tasks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: install-dev lint
	$(VENV)/bin/grade validate --fast --offline
	$(VENV)/bin/pytest

bench: install
	$(PY) bench/run.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
