# Set-up and the two entry points of the README. Everything a fresh Debian + Python 3.11
# machine needs is installed here (Python packages in .venv; the tests' local SLURM installs
# its Debian packages itself through slurm/local-cluster.sh).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.skyforge-installed
CORES  ?= 2

.PHONY: setup run test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# torch first and pinned: on this machine kind it resolves to the local CPU build; any other
	@# order lets a dependency pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(STAMP)

## The main job: the whole DAG on the embedded default config.yaml.
run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

## The tests: the import contracts (pyproject.toml), then pytest (starts a real 2-node SLURM
## when run as root; see slurm/local-cluster.sh).
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -ra

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

clean:
	rm -rf results logs .snakemake
