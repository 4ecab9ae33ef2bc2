# Every target bootstraps .venv by itself: a fresh clone needs only `make test` or `make demo`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the optional LogLead package (the `peers` extra), for the benchmark only
PEERS := $(VENV)/.peers

.PHONY: venv demo test bench bench-ablations bench-full bench-budgets bench-splits bench-serve bench-ingest bench-loop soak lint format helm-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

$(PEERS): $(STAMP)
	$(BIN)/pip install -q -e '.[dev,peers]'
	touch $(PEERS)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/logsynergy demo

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -p no:cacheprovider --durations=25

bench: $(PEERS)
	HF_HUB_OFFLINE=1 $(BIN)/logsynergy bench --config examples/bench.yaml --out runs/bench

bench-ablations: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/logsynergy bench --config examples/bench-ablations.yaml --out runs/bench-ablations

bench-full: bench bench-ablations

bench-budgets: $(PEERS)
	HF_HUB_OFFLINE=1 $(BIN)/logsynergy bench --config examples/bench-budgets.yaml --out runs/bench-budgets

bench-splits: $(PEERS)
	HF_HUB_OFFLINE=1 $(BIN)/logsynergy bench --config examples/bench-splits.yaml --out runs/bench-splits

lint: $(STAMP)
	$(BIN)/ruff check platform contracts api workers tests scripts
	$(BIN)/ruff format --check platform contracts api workers tests scripts

format: $(STAMP)
	$(BIN)/ruff format platform contracts api workers tests scripts
	$(BIN)/ruff check --fix platform contracts api workers tests scripts

helm-check: $(STAMP)
	$(BIN)/python scripts/helm_check.py

bench-serve: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m logsynergy_workers.serving.bench --out runs/bench-serve

bench-ingest: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python scripts/bench_ingest.py --out runs/bench-ingest

bench-loop: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/logsynergy bench-loop --out runs/bench-loop

soak: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m logsynergy_api.soak --out runs/soak $(SOAK_ARGS)
