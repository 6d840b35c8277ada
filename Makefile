# flan-repro: every target creates (or reuses) .venv itself, so these work on a
# fresh machine with nothing installed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The accelerator jax runs on: cpu (the default wheel), tpu (jax[tpu], libtpu) or cuda12
# (jax[cuda12]). Left unset, it stays what the venv has (a stamp .venv/.jax-<accel>), so
# `make ablation` after `make install ACCEL=tpu` keeps the TPU runtime.
ACCELS := cpu tpu cuda12
ACCEL  ?= $(or $(patsubst $(VENV)/.jax-%,%,$(firstword $(wildcard $(VENV)/.jax-*))),cpu)
ifeq ($(filter $(ACCEL),$(ACCELS)),)
$(error ACCEL=$(ACCEL) is not an accelerator we install: cpu|tpu|cuda12 \
(e.g. make install ACCEL=tpu))
endif
ACCEL_STAMP := $(VENV)/.jax-$(ACCEL)
# what each jax extra adds to the CPU install (removed when switching away from it)
ACCEL_PACKAGES_tpu    := libtpu
ACCEL_PACKAGES_cuda12 := jax-cuda12-plugin jax-cuda12-pjrt
# the jax the venv has (read when the recipe runs, after setup.py's install)
JAX_VERSION = $$($(PY) -m flan_repro.install_check --jax_version)
# the packages of the accelerators the venv had before, other than $(1)
previous_plugins = $(strip $(foreach a,$(filter-out $(1),$(ACCELS)),\
    $(if $(wildcard $(VENV)/.jax-$(a)),$(ACCEL_PACKAGES_$(a)))))
CLUSTER ?= nli
PROFILE ?= toy
SHOTS   ?= 0
SEEDS   ?= 1
OUT     ?= runs/ablation_$(CLUSTER)_$(PROFILE)
# the paper profiles' base model (hf:DIR, t5x:DIR), e.g. BASE_CHECKPOINT=hf:/ckpt/t5-v1_1-xl;
# DATA_DIR replaces the profile's data (a TFDS data dir, jsonl:DIR); DRY_RUN=1 prints the
# ablation's plan and memory per device, and runs nothing
BASE_CHECKPOINT ?=
DATA_DIR ?=
DRY_RUN ?=
PROFILE_ARGS = $(if $(BASE_CHECKPOINT),--gin.BASE_CHECKPOINT=$(BASE_CHECKPOINT))

FIGURE  ?= 8
# the positive control's held-out cluster (tasks/control/clusters.yaml)
CONTROL_CLUSTER ?= new_topic_pairs

.PHONY: install test test-all ablation control reproduce bench clean

install: $(ACCEL_STAMP)

$(STAMP): setup.py requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(PY) -m flan_repro.install_check
	touch $(STAMP)

# The jax extra at the jax version setup.py resolved (jaxlib and the plugin must match it),
# after removing the plugin of the accelerator installed before. Re-runs after a reinstall.
$(VENV)/.jax-%: $(STAMP)
	$(if $(call previous_plugins,$*),$(PY) -m pip uninstall --quiet -y $(call previous_plugins,$*))
	$(if $(wildcard $(VENV)/.jax-*),rm -f $(VENV)/.jax-*)
	$(if $(filter-out cpu,$*),$(PY) -m pip install --quiet "jax[$*]==$(JAX_VERSION)")
	$(if $(filter-out cpu,$*),$(PY) -m flan_repro.install_check --accel $*)
	touch $@

test: install
	$(PY) -m pytest -q -m "not slow"

test-all: install
	$(PY) -m pytest -q

ablation: install
	$(PY) -m flan_repro ablation --cluster $(CLUSTER) --profile $(PROFILE) --shots $(SHOTS) \
		--seeds $(SEEDS) --out $(OUT) $(PROFILE_ARGS) $(if $(DATA_DIR),--data_dir $(DATA_DIR)) \
		$(if $(DRY_RUN),--dry_run)

# The positive control: the same pipeline on tasks/control/, where the effect exists by
# construction. Output in runs/control unless OUT is given (`make control OUT=DIR`).
control: install
	$(PY) -m flan_repro ablation --cluster $(CONTROL_CLUSTER) --profile control \
		--out $(if $(filter file,$(origin OUT)),runs/control,$(OUT))

reproduce: install
	$(PY) -m flan_repro reproduce --figure $(FIGURE) --profile $(PROFILE) $(PROFILE_ARGS)

bench: install
	$(PY) -m flan_repro bench

clean:
	rm -rf $(VENV) .pytest_cache
