"""flan-repro: reproduce FLAN (Wei et al., ICLR 2022) and its ablations end to end."""
from setuptools import find_packages, setup

# Bounded ranges that resolve together on Python 3.11 (checked: TF 2.21, JAX 0.10).
# `t5` is NOT listed: it pins seqio-nightly and tfds-nightly, which would install over
# seqio and tensorflow-datasets. The Makefile installs it with --no-deps; the deps its
# metrics and preprocessors need are listed here instead.
INSTALL_REQUIRES = [
    "jax>=0.10,<0.13",
    "flax>=0.10,<0.13",
    "optax>=0.2.4,<0.3",
    "orbax-checkpoint>=0.11,<0.13",
    "seqio==0.0.20",
    "tensorflow-datasets>=4.9.8,<4.10",
    "tensorflow-cpu>=2.18,<2.22",
    "tensorflow-text>=2.18,<2.22",
    "gin-config>=0.5,<0.6",
    "sentencepiece>=0.2,<0.3",
    "sacrebleu>=2.4,<3",
    "rouge-score>=0.1.2,<0.2",
    "matplotlib>=3.8,<4",
    "tensorboardX>=2.6,<3",
    "pyyaml>=6,<7",
    "numpy>=1.26,<3",
    # needed by t5.evaluation.metrics / t5.data.preprocessors (t5 installed --no-deps)
    "babel", "editdistance", "immutabledict", "nltk", "pandas", "scikit-learn", "scipy",
]

setup(
    name="flan_repro",
    version="0.1.0",
    description="Reproduce FLAN's instruction-tuning ablations: data, training, evaluation, reports",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["flan_repro", "flan_repro.*"]),
    install_requires=INSTALL_REQUIRES,
    # test-only: the HF parity tests build a random transformers T5 on a CPU torch
    # (2.13.0 is the CPU wheel these machines carry; a newer pin may pull a CUDA build).
    extras_require={"test": ["pytest>=8,<10", "torch==2.13.0", "transformers>=5.0,<6",
                             "safetensors>=0.4,<1"]},
    entry_points={"console_scripts": ["flan-repro=flan_repro.cli:main"]},
)
