# Two entry points on a fresh machine: `make results` and `make test`.
PYTHON ?= python3
VENV ?= .venv
CORES ?= 2
# CPU wheel by default; on a CUDA machine set TORCH_SPEC to the build you want.
TORCH_SPEC ?= torch==2.13.0
# The default target of the DAG; `make results TARGET=...` builds another file, and
# CONFIG=... names config files laid over config/config.yaml (e.g. config/acdc_cpu.yaml).
TARGET ?=
CONFIG ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.mednas-installed

.PHONY: install results test clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip install --quiet --no-deps "medmnist==3.0.2"  # it declares torchvision; imports it only to download
	touch $(STAMP)

results: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(TARGET) $(if $(CONFIG),--configfile $(CONFIG))

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf results resources logs .snakemake
