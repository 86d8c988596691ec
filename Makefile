# Two commands a newcomer needs:  `make lab`  and  `make test`.
# Both create .venv (if missing) and install aecodec with everything it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.aecodec-installed

.PHONY: install lab test notebooks classroom bench bench-recipe lint clean

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
	$(PY) -m aecodec.course.run_notebooks notebooks/[0-9][0-9]_*.ipynb

# The student edition: solutions replaced by stubs, into student/ (see README, For teachers).
classroom: $(STAMP)
	$(PY) -m aecodec classroom build student

# Speed and memory of the codecs (beside JPEG and WebP) and of training, on this machine;
# a few minutes, not part of `make test`. Kodak from $(KODAK); results in benchmarks/results/.
KODAK ?= $(or $(AECODEC_KODAK),../shared/kodak)
bench: $(STAMP)
	$(PY) benchmarks/codec_speed.py --kodak $(KODAK) --out benchmarks/results/codec_speed.md
	$(PY) benchmarks/training_speed.py --kodak $(KODAK) --out benchmarks/results/training_speed.md
	AECODEC_KODAK=$(KODAK) $(PY) benchmarks/explorer_speed.py

# The classroom training recipe against CompressAI's published one and against the kit's
# previous recipe, same budget, same run, two threads (3 x 12 minutes of training, then
# Kodak: about 55 minutes). Installs CompressAI without its numpy<2 pin (see pyproject.toml).
MINUTES ?= 12
THREADS ?= 2
bench-recipe: $(STAMP)
	$(PY) -c "import compressai" 2>/dev/null || ( $(PY) -m pip install --quiet -e ".[reference]" \
		&& $(PY) -m pip install --quiet --no-deps "compressai==1.2.8" )
	$(PY) benchmarks/rd_recipe.py --minutes $(MINUTES) --threads $(THREADS) --kodak $(KODAK) \
		--out runs/bench_recipe

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
