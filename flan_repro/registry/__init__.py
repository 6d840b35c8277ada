"""seqio tasks and mixtures for the FLAN catalogue (tasks -> mixtures in the data flow)."""
from flan_repro.registry.config import RegistryConfig, configure, current  # noqa: F401
