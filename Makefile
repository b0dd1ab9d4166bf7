# The two commands the README starts with: `make serve` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PORT ?= 8000

.PHONY: install train serve test lint

# Re-install only when the dependency list changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Trains the default models only for tasks that have no version under models/ yet.
train: install
	$(PY) -m training all --if-missing

serve: train
	SEQSERVE_HOST=$${SEQSERVE_HOST:-0.0.0.0} SEQSERVE_PORT=$(PORT) $(PY) -m app

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest -q
