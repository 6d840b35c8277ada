"""Vocabularies: T5's SentencePiece model at paper scale, a cached toy one offline.

The toy vocabulary is trained by the project itself on toy text plus every template's
wording, so instruction words are real pieces rather than <unk>; it is built once,
on first use (not at import or registration), and cached under a digest of its training
text and the SentencePiece release (`_toy_vocab_key`).
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import seqio

from flan_repro.cache import cache_dir

# T5's public vocabulary (32k pieces + 100 sentinels); any local path or gs:// works.
T5_VOCAB = "gs://t5-data/vocabs/cc_all.32000/sentencepiece.model"
TOY_VOCAB_SIZE = 2000
EXTRA_IDS = 100          # sentinels for span corruption, as T5
TOY_VOCAB_VERSION = 1    # bump when the recipe below changes


def _toy_training_text() -> list[str]:
    from flan_repro.catalogue import load
    from flan_repro.data.toy import toy_text_corpus
    from flan_repro.prompts.templates import load_all
    lines = list(toy_text_corpus(20000, seed=0))
    for templates in load_all().values():
        for t in templates:
            lines += [t.input, t.target]
    cat = load()
    lines += [c.display_name for c in cat.clusters.values()]
    lines += [d.paper_name for d in cat.datasets.values()]
    lines += ["OPTIONS:", "- yes", "- no"]
    # a sample of rendered toy examples in each language the toy translation uses
    from flan_repro.data.sources import ToySource
    from flan_repro.catalogue.converters import convert
    src = ToySource(train_size=50, eval_size=10)
    for spec in cat.datasets.values():
        for ex in src.examples(spec, "test"):
            fields = convert(spec, ex) or {}
            lines += [v for v in fields.values() if isinstance(v, str)]
    return [l for l in lines if l.strip()]


def build_toy_vocab(path: Path, vocab_size: int = TOY_VOCAB_SIZE) -> Path:
    import sentencepiece as spm
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(_toy_training_text()), model_writer=f,
            vocab_size=vocab_size, model_type="unigram", character_coverage=1.0,
            pad_id=0, eos_id=1, unk_id=2, bos_id=-1,      # T5's ids
            byte_fallback=True, split_digits=True, num_threads=1,
            normalization_rule_name="identity", remove_extra_whitespaces=False,
            user_defined_symbols=["\n"], minloglevel=2)
    os.replace(tmp, path)     # atomic: a killed build never leaves a half file
    return path


@functools.lru_cache(maxsize=4)
def _toy_vocab_key(tasks: str) -> str:
    """A digest of everything the toy vocabulary is built from: the text it is trained on
    (toy data, templates, catalogue names, every converter's output, so a new converter
    field is a new vocabulary) and the SentencePiece release that trains it (another
    release may cut other pieces from the same text). `tasks` is the catalogue folder."""
    import sentencepiece
    h = hashlib.sha256(f"v{TOY_VOCAB_VERSION}:{TOY_VOCAB_SIZE}:"
                       f"sentencepiece {sentencepiece.__version__}".encode())
    for line in _toy_training_text():
        h.update(line.encode() + b"\0")
    return h.hexdigest()[:12]


def toy_vocab_path() -> Path:
    from flan_repro.catalogue import tasks_dir
    return cache_dir() / "vocab" / f"toy-{_toy_vocab_key(str(tasks_dir()))}.model"


class LazySentencePieceVocabulary(seqio.SentencePieceVocabulary):
    """Builds its model file on first use, so registering tasks stays cheap."""

    def __init__(self, path: Path, builder=build_toy_vocab, extra_ids: int = EXTRA_IDS):
        super().__init__(str(path), extra_ids=extra_ids)
        self._builder = builder

    def _model_context(self):
        path = Path(self.sentencepiece_model_file)
        if not path.exists():
            self._builder(path)
        return super()._model_context()


def get_vocabulary(spec: str = "toy") -> seqio.Vocabulary:
    """'toy' -> the cached project vocabulary; 't5' -> T5's; otherwise a model path."""
    if spec == "toy":
        return LazySentencePieceVocabulary(toy_vocab_path())
    return seqio.SentencePieceVocabulary(T5_VOCAB if spec == "t5" else spec, extra_ids=EXTRA_IDS)
