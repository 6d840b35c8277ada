"""The toy vocabulary's cache key covers everything it is built from: its training text
(here, a converter's output, which once was left out: a new COPA field changed the
vocabulary under the same file name) and the SentencePiece release."""
from __future__ import annotations

import sentencepiece

from flan_repro.data import vocab


def _key(monkeypatch, lines, version="0.2.0"):
    vocab._toy_vocab_key.cache_clear()
    monkeypatch.setattr(vocab, "_toy_training_text", lambda: list(lines))
    monkeypatch.setattr(sentencepiece, "__version__", version)
    try:
        return vocab._toy_vocab_key("tasks")
    finally:
        vocab._toy_vocab_key.cache_clear()


def test_key_follows_the_training_text_and_the_sentencepiece_release(monkeypatch):
    base = _key(monkeypatch, ["a premise.", "a choice"])
    assert _key(monkeypatch, ["a premise.", "a choice"]) == base
    assert _key(monkeypatch, ["a premise.", "a choice", "a premise because"]) != base
    assert _key(monkeypatch, ["a premise.a choice"]) != base        # lines stay lines
    assert _key(monkeypatch, ["a premise.", "a choice"], version="0.2.3") != base


def test_the_real_text_holds_converter_output():
    """Why the text, not the template files, is hashed: converter fields are in it."""
    from flan_repro.catalogue import load
    from flan_repro.catalogue.converters import convert
    from flan_repro.data.sources import ToySource
    copa = load().dataset("copa")
    ex = next(iter(ToySource(train_size=50, eval_size=10).examples(copa, "test")))
    assert convert(copa, ex)["glm_premise"] in vocab._toy_training_text()
