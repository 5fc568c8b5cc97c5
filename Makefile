# Two commands for a reader: `make run` and `make test`. Python 3.11+ and make are all you need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install lint format docs docs-build worker scheduler migrate recipe notebooks clean bench bench-quick

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependencies change.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: the reference app on the embedded SQLite broker (API + worker process). Ctrl-C stops all.
run: $(STAMP)
	$(BIN)/python -m reference_app.dev

## make test: the whole suite (tests needing Redis/RabbitMQ skip if absent, unless CI=true),
## on TEST_WORKERS pytest processes (pytest-xdist; TEST_WORKERS=0: one process, for -s or pdb).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

## make recipe NAME=<slug>: one recipe, as its page runs it, on a queue of its own (so the
## worker of a `make run` beside it never takes its messages). Local development, like
## `make run`: DEV_MODE=true (the default SECRET_KEY is accepted).
recipe: $(STAMP)
	@test -n "$(NAME)" -a -d "recipes/$(NAME)" || { echo "make recipe: NAME must be one of: $$(ls -d recipes/*/ | xargs -n1 basename | grep -v __pycache__ | tr '\n' ' ')"; exit 2; }
	DEV_MODE="$${DEV_MODE:-true}" TASKIQ_QUEUE_NAME="$${TASKIQ_QUEUE_NAME:-recipe-$(NAME)}" \
		$(BIN)/python -m recipes.$(NAME)

## make worker: worker processes only, configured by TASKIQ_* variables; QUEUE=slow: those of
## the second queue (TASKIQ_SLOW_QUEUE=true). Local development, like `make run`
## (DEV_MODE=true); on a server run the launcher itself (deploy/).
worker: $(STAMP)
	DEV_MODE="$${DEV_MODE:-true}" $(BIN)/python -m reference_app.infrastructure.taskiq.run_worker \
		$(if $(QUEUE),--queue $(QUEUE))

## make migrate: upgrade the database of DATABASE_URL to the latest schema (Alembic). `make run`
## does it itself for its SQLite file; a PostgreSQL database needs it before the app starts.
migrate: $(STAMP)
	$(BIN)/python -m reference_app.migrate

## make scheduler: the scheduler process only (sends labelled and runtime schedules when due).
## Local development, like `make worker`; `make run` starts one beside its worker.
scheduler: $(STAMP)
	DEV_MODE="$${DEV_MODE:-true}" $(BIN)/python -m reference_app.infrastructure.taskiq.run_scheduler

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

format: $(STAMP)
	$(BIN)/python -m ruff check --fix .
	$(BIN)/python -m ruff format .

## make docs: serve the docs site with live reload on http://127.0.0.1:8001
docs: $(STAMP)
	$(BIN)/mkdocs serve -a 127.0.0.1:8001

docs-build: $(STAMP)
	$(BIN)/mkdocs build --strict

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

## make bench: the benchmark of bench/ (Redis and RabbitMQ on localhost; < 10 min), then plots.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.plots

## make bench-quick: the same with small N and one run each (< 1 min); results in build/.
bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick --out build/bench-quick.json

## make bench-pool: NullPool against a pool per worker process, on PostgreSQL at 127.0.0.1.
.PHONY: bench-pool
bench-pool: $(BENCH_STAMP)
	$(BIN)/python -m bench.pool

## make bench-faults: the fault tests on every broker, then their table for the docs
## (docs/includes/faults.md: fault x broker, time to recover, what was lost).
.PHONY: bench-faults
bench-faults: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) tests/faults tests/reference_app/test_faults.py
	$(BIN)/python -m bench.faults_table

## make bench-db: the report round trip (POST to complete) on SQLite and on PostgreSQL.
.PHONY: bench-db
bench-db: $(BENCH_STAMP)
	$(BIN)/python -m bench.report_roundtrip

## make bench-soak: 50 POST /reports per second on each broker, recycling off and on (~11 min).
.PHONY: bench-soak
bench-soak: $(BENCH_STAMP)
	$(BIN)/python -m bench.soak

NOTEBOOKS_STAMP := $(VENV)/.installed-notebooks

$(NOTEBOOKS_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks]'
	@touch $(NOTEBOOKS_STAMP)

## make notebooks: installs JupyterLab once (the notebooks extra), registers this venv as the
## kernel "Python (taskiq-cookbook)", then opens JupyterLab on notebooks/ at 127.0.0.1:8888
## (or the next free port; its token is in the printed link). Ctrl-C stops it. As root, it
## passes --allow-root (containers), which JupyterLab otherwise refuses.
notebooks: $(NOTEBOOKS_STAMP)
	$(BIN)/python -m ipykernel install --user --name taskiq-cookbook --display-name "Python (taskiq-cookbook)"
	$(BIN)/jupyter lab --ip=127.0.0.1 $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/

clean:
	rm -rf $(VENV) site var .pytest_cache build
