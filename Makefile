# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-peers example-registry report-screenshot clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,mlflow]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	$(BIN)/ruff check minireg tests bench examples
	$(BIN)/ruff format --check minireg tests bench examples
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# minireg beside MLflow and GTO (installed into .bench/venv); not part of `make test`.
# Quick run: make bench-peers PEERS_ARGS="--sizes 1000 --rounds 3"
bench-peers: $(STAMP)
	$(BIN)/python bench/peers.py $(PEERS_ARGS)

example-registry: $(STAMP)
	$(BIN)/python examples/make_example_registry.py

# The README's picture of `minireg report` (docs/report.png), in headless Chromium.
report-screenshot: $(STAMP)
	$(BIN)/python examples/report_screenshot.py docs/report.png

clean:
	rm -rf $(VENV) .bench .mypy_cache .pytest_cache .ruff_cache
