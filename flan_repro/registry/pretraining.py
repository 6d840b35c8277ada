"""The toy profile's pretraining task: T5 span corruption over the project's toy text.

FLAN starts from a pretrained LM; the toy profile rehearses that with a short
span-corruption run (t5's own preprocessors, as in T5's C4 task) on toy sentences
and the text of toy examples, so the tuned variants share a base that already
models the toy language.
"""
from __future__ import annotations

import functools

import seqio

from flan_repro.registry.config import current

TASK = "flan_toy_pretrain_span_corruption"


def _corpus(num_sentences: int, seed: int) -> list[str]:
    from flan_repro.data.toy import toy_text_corpus
    sents = toy_text_corpus(num_sentences, seed=seed)
    # documents of ~5 sentences, so spans have context to be filled from
    return [" ".join(sents[i:i + 5]) for i in range(0, len(sents), 5)]


def register(num_sentences: int = 20000, corpus_seed: int = 1) -> str:
    import tensorflow as tf
    from t5.data import preprocessors as t5_pre

    def dataset_fn(split, shuffle_files=False, seed=None):
        docs = _corpus(num_sentences, corpus_seed + (0 if split == "train" else 1))
        return tf.data.Dataset.from_tensor_slices({"text": docs})

    if TASK in seqio.TaskRegistry.names():
        seqio.TaskRegistry.remove(TASK)
    vocab = current().vocab
    seqio.TaskRegistry.add(
        TASK,
        source=seqio.FunctionDataSource(dataset_fn, splits=("train", "validation")),
        preprocessors=[
            functools.partial(t5_pre.rekey, key_map={"inputs": None, "targets": "text"}),
            seqio.preprocessors.tokenize,
            seqio.CacheDatasetPlaceholder(),
            t5_pre.span_corruption,
            seqio.preprocessors.append_eos_after_trim,
        ],
        output_features={"inputs": seqio.Feature(vocab, add_eos=True, required=False),
                         "targets": seqio.Feature(vocab, add_eos=True)},
        metric_fns=[])
    return TASK
