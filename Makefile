# personlab_mm: the two commands of the README's quick start.
#   make test   build .venv/ if missing (scripts/setup_env.sh), run the test suite
#   make demo   build .venv/ if missing, train the embedded synthetic config,
#               evaluate it (COCO keypoint AP + segm AP), draw the val images
#               into $(DEMO_DIR)/<timestamp>/vis; last line: JSON summary
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
		--work-dir $(DEMO_DIR) --cfg-options train_cfg.val_interval=100000
	$(VENV)/bin/mim test personlab_mm configs/personlab/r18_synthetic.py \
		-C "$$(cat $(DEMO_DIR)/last_checkpoint)" --work-dir $(DEMO_DIR) \
		--show-dir vis

clean-env:
	rm -rf $(VENV)
