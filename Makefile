# Two commands a newcomer needs:  `make lab`  and  `make test`.
# Both create .venv (if missing) and install aecodec with everything it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.aecodec-installed

.PHONY: install lab test notebooks classroom lint clean

install: $(STAMP)

# Re-install only when the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/

# AECODEC_FAST=1: notebooks take their quick path (short training), as in CI.
test: $(STAMP)
	AECODEC_FAST=1 $(PY) -m pytest

# Re-run every notebook in full mode and save it with its outputs (for maintainers).
notebooks: $(STAMP)
	$(PY) -m aecodec._notebooks notebooks/0*.ipynb

# The student edition: solutions replaced by stubs, into student/ (see README, For teachers).
classroom: $(STAMP)
	$(PY) -m aecodec classroom build student

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
