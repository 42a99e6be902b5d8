# `make run`: set up (once) and run the embedded default; `make test`: set up and run the tests.
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: run test dag lint clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES)
	@echo; cat results/tables/accuracy.md

test: $(VENV)/.installed
	$(BIN)/pytest

dag: $(VENV)/.installed
	$(BIN)/snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint

clean:
	rm -rf results .snakemake
