"""The FLAN catalogue: clusters, datasets and held-out rules, read from `tasks/`.

Everything here is declared in `tasks/catalogue.yaml` and `tasks/clusters.yaml`;
this module only loads, validates and answers questions about it, so a reader
can check a fact against the paper by reading the YAML, not the code.
"""
from flan_repro.catalogue.spec import (  # noqa: F401
    Catalogue, ClusterSpec, DatasetSpec, FORMATS, UnknownNameError, load, tasks_dir,
)
