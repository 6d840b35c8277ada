# flan-repro: every target creates (or reuses) .venv itself, so these work on a
# fresh machine with nothing installed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CLUSTER ?= nli
PROFILE ?= toy
SHOTS   ?= 0
OUT     ?= runs/ablation_$(CLUSTER)_$(PROFILE)
export TF_CPP_MIN_LOG_LEVEL ?= 2

FIGURE  ?= 8

.PHONY: install test test-all ablation reproduce bench clean

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
	$(PY) -m flan_repro ablation --cluster $(CLUSTER) --profile $(PROFILE) --shots $(SHOTS) --out $(OUT)

reproduce: install
	$(PY) -m flan_repro reproduce --figure $(FIGURE) --profile $(PROFILE)

bench: install
	$(PY) -m flan_repro bench

clean:
	rm -rf $(VENV) .pytest_cache
