# The two commands a newcomer needs: `make run` (UI with demo data) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export BGP_HOME ?= $(CURDIR)/.bgp
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
LLM_POOL_LIMIT ?= 4
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: install dev-install dagster-home pools run demo test bench bench-smoke validate clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# Dagster keeps its own storage in the git-ignored .dagster_home/, configured by ./dagster.yaml.
dagster-home:
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

# Per-pool step limits (OSS dagster.yaml holds only a default; these are stored in the instance).
# social = the sensory run limit: every scoring run holds a social-pool step (relationship_scores).
pools: install dagster-home
	$(BIN)/dagster instance concurrency set llm $(LLM_POOL_LIMIT) >/dev/null
	$(BIN)/dagster instance concurrency set sensory 4 >/dev/null
	$(BIN)/dagster instance concurrency set cognition 2 >/dev/null
	$(BIN)/dagster instance concurrency set social 2 >/dev/null
	$(BIN)/dagster instance concurrency set action 1 >/dev/null

run: install dagster-home pools
	$(BIN)/bgp demo-data
	@echo "Dagster UI: http://$(HOST):$(PORT)  (sensors and schedules start running by default)"
	@# bgp serve runs dagster dev in its own process group: Ctrl+C or SIGTERM stops every process
	$(BIN)/bgp serve --host $(HOST) --port $(PORT)

demo: install dagster-home pools
	$(BIN)/bgp demo-data
	$(BIN)/python deploy/demo_run.py

test: install
	$(BIN)/pytest -q

# Every benchmark at full size, one after the other (long: run it on a quiet machine); the table of
# goals (MET / NOT MET, wall and CPU seconds, load average) goes to stdout and benchmarks/out/.
# ONLY=a,b runs a few; ARGS='name=--flag value' gives one of them other arguments.
bench: install
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/run_bench.py $(if $(ONLY),--only $(ONLY)) $(if $(ARGS),--args '$(ARGS)')

# The same at smoke sizes (CI): fails only when a benchmark crashes.
bench-smoke: install
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/run_smoke.py

validate: install dagster-home
	$(BIN)/dagster definitions validate -w workspace.yaml

clean:
	rm -rf $(BGP_HOME) $(DAGSTER_HOME)
