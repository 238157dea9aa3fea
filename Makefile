# Two commands do all the set-up on a fresh Debian machine:
#   make demo   install, train task01's reference, grade it
#   make test   install, then lint, type-check and run the whole test suite
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
FMNIST  := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO    := build/demo/model.keras

.PHONY: install data demo test lint bench clean

install: $(STAMP) data

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Fashion-MNIST offline: Debian's dataset-fashion-mnist, unless $GRADER_DATA points elsewhere.
data:
	@if [ -z "$$GRADER_DATA" ] && [ ! -f $(FMNIST) ]; then \
	  echo "Installing Debian's dataset-fashion-mnist"; \
	  $(SUDO) apt-get install -y -q dataset-fashion-mnist \
	  || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q dataset-fashion-mnist) \
	  || echo "warning: could not install dataset-fashion-mnist; grader will try to download Fashion-MNIST"; \
	fi

demo: install
	mkdir -p $(dir $(DEMO))
	$(PY) tasks/task01/reference.py $(DEMO)
	$(VENV)/bin/grade task01 --model $(DEMO)

lint: $(STAMP)
	$(VENV)/bin/ruff check grader tests bench tasks
	$(VENV)/bin/ruff format --check grader tests bench tasks
	$(VENV)/bin/mypy

test: install lint
	$(VENV)/bin/pytest

bench: install
	$(PY) bench/run.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
