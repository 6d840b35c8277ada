"""flan-repro: reproduce FLAN (Wei et al., ICLR 2022) and its ablations.

Data flow: catalogue (clusters, datasets) -> prompts (templates, formats) ->
tasks (seqio tasks and mixtures) -> model/train -> evaluate -> ablation report.
Importing the package is cheap; TensorFlow and JAX load only where used.
"""
__version__ = "0.1.0"
