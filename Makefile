# flan-repro: every target creates (or reuses) .venv itself, so these work on a
# fresh machine with nothing installed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CLUSTER ?= nli
PROFILE ?= toy
SHOTS   ?= 0
SEEDS   ?= 1
OUT     ?= runs/ablation_$(CLUSTER)_$(PROFILE)

FIGURE  ?= 8
# the positive control's held-out cluster (tasks/control/clusters.yaml)
CONTROL_CLUSTER ?= new_topic_pairs

.PHONY: install test test-all ablation control reproduce bench clean

install: $(STAMP)

$(STAMP): setup.py requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(PY) -m flan_repro.install_check
	touch $(STAMP)

test: install
	$(PY) -m pytest -q -m "not slow"

test-all: install
	$(PY) -m pytest -q

ablation: install
	$(PY) -m flan_repro ablation --cluster $(CLUSTER) --profile $(PROFILE) --shots $(SHOTS) --seeds $(SEEDS) --out $(OUT)

# The positive control: the same pipeline on tasks/control/, where the effect exists by
# construction. Output in runs/control unless OUT is given (`make control OUT=DIR`).
control: install
	$(PY) -m flan_repro ablation --cluster $(CONTROL_CLUSTER) --profile control \
		--out $(if $(filter file,$(origin OUT)),runs/control,$(OUT))

reproduce: install
	$(PY) -m flan_repro reproduce --figure $(FIGURE) --profile $(PROFILE)

bench: install
	$(PY) -m flan_repro bench

clean:
	rm -rf $(VENV) .pytest_cache
