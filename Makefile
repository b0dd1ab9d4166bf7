# The two commands the README starts with: `make serve` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: install train serve test test-fast lint container-test

# Re-install only when the dependency list changes.
$(VENV)/.installed: pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' -e ./client
	touch $@

# The kserve SDK, whose typed models check deploy/kserve/, in a virtualenv of its own: it pins
# protobuf<7, below what TensorFlow and ONNX Runtime get in $(VENV) (pyproject.toml, kserve-check).
KSERVE_VENV ?= .venv-kserve
$(KSERVE_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install --quiet \
		$$($(PYTHON) scripts/requirements.py --only kserve-check)
	touch $@

install: $(VENV)/.installed

# Trains the default models only for tasks that have no version under models/ yet.
train: install
	$(PY) -m training all --if-missing

# Host, port and every other setting come from SEQSERVE_* (.env.example); loopback by default.
serve: train
	$(PY) -m app

# The linters, as a canned recipe: `lint` and `test-fast` both run it.
define LINT
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(VENV)/bin/docker-compose -f docker-compose.yml -f docker-compose.scale.yml --profile gpu \
		config --quiet
	$(VENV)/bin/shellcheck scripts/*.sh .ci/run
endef

lint: install
	$(LINT)

# `make serve` does not need the kserve SDK, so only the tests make its virtualenv.
test: lint $(KSERVE_VENV)/.installed
	KSERVE_CHECK_PYTHON=$(KSERVE_VENV)/bin/python $(VENV)/bin/pytest -q

# Lint and the tests not marked `slow` (pyproject.toml): no training, no processes, no
# TensorFlow, no kserve SDK. For the edit-test loop; `make test` runs everything. The virtualenv
# is only made when missing: an edited pyproject.toml does not reinstall here.
test-fast:
	@test -e $(VENV)/.installed || $(MAKE) install
	$(LINT)
	$(VENV)/bin/pytest -q -m "not slow"

# Builds the images and runs the compose stack for real (needs Docker, or ../shared/tools).
container-test:
	scripts/container-test.sh

# Serving benchmark (bench/): the service against a hello-world ceiling and a plain FastAPI +
# ONNX Runtime handler, ~2 minutes; needs trained models (`make train`). Writes
# bench/results/latest.md. Options: make bench BENCH_ARGS="--quick --models-dir DIR"
.PHONY: bench
bench: install
	$(PY) -m bench $(BENCH_ARGS)

# Overload (issue 6): /forecast capacity, then 4x that offered open loop, and 4x the stream limit
# of /generate clients; ~1 minute. Writes bench/results/overload.md.
# Options: make overload OVERLOAD_ARGS="--queue-rows 64 --seconds 20"
.PHONY: overload
overload: install
	$(PY) -m bench.overload $(OVERLOAD_ARGS)

# Soak (issue 6): mixed traffic for 10 minutes while the service's RSS is sampled; writes
# bench/results/soak.md and soak_rss.csv. Options: make soak SOAK_ARGS="--minutes 1 --rate 80"
.PHONY: soak
soak: install
	$(PY) -m bench.soak $(SOAK_ARGS)

# Tracing's and request capture's cost per request, on and off (issue 16); about a minute; needs
# trained models. Prints its figures. Options: make bench-tracing BENCH_ARGS="--models-dir DIR"
.PHONY: bench-tracing
bench-tracing: install
	$(PY) -m bench.tracing $(BENCH_ARGS)

# SEQSERVE_WORKERS=2 against one worker on /forecast, wrk pinned to one CPU; ~1 minute.
# Writes bench/results/workers.md. Options: make bench-workers BENCH_ARGS="--rounds 3"
.PHONY: bench-workers
bench-workers: install
	$(PY) -m bench.workers $(BENCH_ARGS)
