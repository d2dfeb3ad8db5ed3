# personlab_mm: the two commands of the README's quick start.
#   make test   build .venv/ if missing (scripts/setup_env.sh), run the test suite
#   make demo   build .venv/ if missing, train the embedded synthetic config
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= work_dirs/demo

.PHONY: env test demo clean-env

env:
	@bash scripts/setup_env.sh

test: env
	$(PY) -m pytest tests

demo: env
	$(VENV)/bin/mim train personlab_mm configs/personlab/r18_synthetic.py \
		--work-dir $(DEMO_DIR)

clean-env:
	rm -rf $(VENV)
