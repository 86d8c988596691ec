# Two commands a newcomer needs:  `make lab`  and  `make test`.
# Both create .venv (if missing) and install aecodec with everything it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.aecodec-installed

.PHONY: install lab lab-student test notebooks classroom bench bench-recipe train-device verify-codec lint clean

install: $(STAMP)

# Re-install only when the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# `make lab FAST=1`: the notebooks take their quick path (short training, fewer images),
# for a teacher on a slow machine; the figures then differ from the committed ones.
FAST_ENV := $(if $(FAST),AECODEC_FAST=1,)

lab: $(STAMP)
	$(FAST_ENV) $(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/

# The student edition (solutions replaced by stubs), built into student/ if it is not there
# yet, and opened there. Once learners work in it, it is not rebuilt: `make classroom`
# does that, and refuses to overwrite a notebook a learner changed.
lab-student: $(STAMP)
	test -d student || $(PY) -m aecodec classroom build student
	$(FAST_ENV) $(VENV)/bin/jupyter lab $(ROOT_FLAG) student/

# AECODEC_FAST=1: notebooks take their quick path (short training), as in CI.
test: $(STAMP)
	AECODEC_FAST=1 $(PY) -m pytest

# Re-run every notebook in full mode and save it with its outputs (for maintainers).
notebooks: $(STAMP)
	$(PY) -m aecodec.course.run_notebooks notebooks/[0-9][0-9]_*.ipynb

# The course as static HTML from the committed notebooks (nothing is run), into build/book/:
# open build/book/index.html, or share the folder.
.PHONY: book
book: $(STAMP)
	$(PY) -m aecodec.course.book notebooks build/book

# The student edition: solutions replaced by stubs, into student/ (see README, For teachers).
classroom: $(STAMP)
	$(PY) -m aecodec classroom build student

# Speed and memory of the codecs (beside JPEG and WebP) and of training, and how fast the
# command line starts (against `import torch`), on this machine;
# a few minutes, not part of `make test`. Kodak from $(KODAK); results in benchmarks/results/.
KODAK ?= $(or $(AECODEC_KODAK),../shared/kodak)
bench: $(STAMP)
	$(PY) benchmarks/codec_speed.py --kodak $(KODAK) --out benchmarks/results/codec_speed.md
	$(PY) benchmarks/training_speed.py --kodak $(KODAK) --out benchmarks/results/training_speed.md
	AECODEC_KODAK=$(KODAK) $(PY) benchmarks/explorer_speed.py
	$(PY) benchmarks/cli_startup.py --out benchmarks/results/cli_startup.md

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

# The default codec on one lent GPU, in at most 10 minutes (docs/training.md, "On a lent
# GPU"). Runs THERE, with that machine's python3 (its PyTorch) and constriction's wheel
# carried in .whl; reads data/train, a git-ignored copy of ../shared/train carried too.
DEVICE_MINUTES ?= 8
DEVICE_OUT ?= runs/device
train-device:
	PYTHONPATH=src:$(PYTHONPATH) python3 -m aecodec zoo-train-default --data data/train \
		--device cuda --minutes $(DEVICE_MINUTES) --start data/models/vr_context.pt \
		--batch-size 32 --patch-size 256 --out $(DEVICE_OUT)/default_codec.pt

# Back here: the trained codec loads, codes kodim01 and decodes bit-exactly on the CPU.
MODEL ?= runs/device/default_codec.pt
verify-codec: $(STAMP)
	$(PY) benchmarks/verify_codec.py $(MODEL) --image $(KODAK)/kodim01.png

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
