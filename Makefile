# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export ANONYMIZED_TELEMETRY := False

.PHONY: install run ingest serve browser lint test test-slow eval bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip wheel
	# The CPU wheel of exactly this torch lies on these machines; any other version pulls GBs of CUDA.
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e ".[dev]"
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

ingest: $(STAMP)
	$(VENV)/bin/qa ingest articles/

# Ingest is a no-op for unchanged articles, so running it every time costs only a file read.
run: ingest
	$(VENV)/bin/qa serve

serve: $(STAMP)
	$(VENV)/bin/qa serve

# The browser tests drive Debian's chromium; install it only when it is missing, never a downloaded browser.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# ruff's rules are in pyproject.toml; a finding fails the test run before any test starts.
lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) lint browser
	@$(PY) -m pytest tests -m "not slow"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure here."; fi; \
	exit $$rc

test-slow: $(STAMP)
	@$(PY) -m pytest tests -m slow; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-slow: no slow tests are defined."; rc=0; fi; \
	exit $$rc

BENCH_STAMP := $(VENV)/.installed-bench
BENCH_ARGS ?=

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -e ".[bench]"
	touch $(BENCH_STAMP)

# Speed and memory figures (bench/README.md). Long: it ingests both corpora once per embedding backend.
# Smoke run: make bench BENCH_ARGS="--limit 20 --questions 3 --out /tmp/bench-smoke"
bench: $(BENCH_STAMP)
	$(PY) bench/speed.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
