# Two commands for a newcomer: `make demo` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= examples/demo.duckdb
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo test test-slow test-robust lint bench screenshots serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Test-only peer: ChannelAttribution (compiled from its sdist) for tests/peers. Best effort:
# where it cannot be installed, those tests skip and say why (with CI=true they fail).
PEERS  := $(VENV)/.peers
$(PEERS): $(STAMP)
	-$(BIN)/python -m pip install --quiet channelattribution pandas matplotlib \
	  || echo "note: channelattribution could not be installed; tests/peers will be skipped (fail with CI=true)"
	touch $(PEERS)

# The Spark engine (optional extra `closedloop[spark]`: pyspark + sqlglot; Java 17 is on the
# machine) for tests/engine/test_spark.py. Best effort: with CI=true a missing pyspark fails those tests.
SPARK  := $(VENV)/.spark
$(SPARK): $(STAMP)
	-$(BIN)/python -m pip install --quiet -e '.[dev,spark]' \
	  || echo "note: pyspark could not be installed; tests/engine/test_spark.py will be skipped (fail with CI=true)"
	touch $(SPARK)

# Test-only: Debian's chromium for tests/test_dashboard_browser.py. Best effort, only as root:
# where it cannot be installed, that test skips and says why (with CI=true it fails).
BROWSER := $(VENV)/.browser
$(BROWSER): $(STAMP)
	-command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
	  || echo "note: chromium could not be installed; tests/test_dashboard_browser.py will be skipped (fail with CI=true)"
	touch $(BROWSER)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py --db $(DB) --host $(HOST) --port $(PORT)

test: $(STAMP) $(PEERS) $(BROWSER) $(SPARK)
	$(BIN)/python -m pytest -q -m "not slow and not robustness"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

screenshots: $(STAMP) $(BROWSER)
	CLOSEDLOOP_SCREENSHOTS=docs/img $(BIN)/python -m pytest -q tests/test_dashboard_browser.py

test-slow: $(STAMP) $(PEERS)
	$(BIN)/python -m pytest -q -m slow

# SIGKILL ingests at seeded random points (the store must be exactly as before or after) and
# read during single- and multi-table ingests (no torn read): tests/robustness, a few minutes.
test-robust: $(STAMP)
	$(BIN)/python -m pytest -q -m robustness tests/robustness

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) $(PEERS)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache examples/demo.duckdb
