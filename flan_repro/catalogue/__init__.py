"""The task catalogue: clusters, datasets and held-out rules, read from `tasks/`.

Everything here is declared in `tasks/catalogue.yaml` and `tasks/clusters.yaml` (FLAN)
or in a suite's folder `tasks/<suite>/` (the positive control); this module only loads,
validates and answers questions about it, so a reader can check a fact against the
paper by reading the YAML, not the code.
"""
from flan_repro.catalogue.spec import (  # noqa: F401
    DEFAULT_SUITE, EVAL_FORMATS, FORMATS, Catalogue, ClusterSpec, DatasetSpec, UnknownNameError,
    load, suite_dir, suite_names, tasks_dir,
)
