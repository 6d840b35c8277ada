"""Offline toy examples in each catalogue dataset's exact TFDS schema.

`toy_examples(tfds_name, split, n, seed)` returns n procedurally generated raw
examples decoded the way our TFDS reader decodes real ones (Text -> str, ClassLabel
-> int, Sequence(Text) -> list, Sequence({a, b}) -> {"a": [...], "b": [...]},
FeaturesDict -> dict, Translation -> {lang: str}), with every feature of the builder
and its label encoding. Labels follow from the text (see each module's docstring),
so a small model can learn them. Output depends only on (tfds_name, split, seed),
and the first k examples do not depend on n.

Splits whose labels the real data hides look like the real ones (GLUE / SuperGLUE /
HellaSwag / CosmosQA / WinoGrande test labels are -1, ReCoRD test answers are empty,
TriviaQA test answers are '<unk>', CommonGen test targets are empty).

Generators live in one module per kind: nli, classification, pairs, choice, coref,
qa, reading, summarization, generation, translation; shared words and the fixed toy
world in lexicon. The positive control's builders (`flan_repro_control/...`, declared
in tasks/control/builders.yaml) are served by `toy_examples` too, from `control`, but
are not in `TOY_BUILDERS` (FLAN's builders: the TFDS schema tests and the pretraining
corpus). Importing this package does not import TensorFlow.
"""
from __future__ import annotations

import difflib
import functools
import re

from flan_repro.data.toy import (choice, classification, control, coref, generation, lexicon, nli,
                                 pairs, qa, reading, summarization, translation)

_GENERATORS: dict = {}
for _module in (nli, classification, pairs, choice, coref, qa, reading, summarization, generation,
                translation):
    _GENERATORS.update(_module.GENERATORS)

TOY_BUILDERS: tuple[str, ...] = tuple(sorted(_GENERATORS))

_TVT = ("train", "validation", "test")
_GEM_CHALLENGE = ("challenge_train_sample", "challenge_validation_sample", "challenge_test_scramble")
_HELLASWAG = ("train", "train_activitynet", "train_wikihow", "validation", "test",
              *(f"{s}_{d}_{src}" for s in ("validation", "test") for d in ("ind", "ood")
                for src in ("activitynet", "wikihow")))
SPLITS = {  # raw TFDS split names, where they are not train / validation / test
    "ag_news_subset": ("train", "test"), "bool_q": ("train", "validation"), "coqa": ("train", "test"),
    "definite_pronoun_resolution": ("train", "test"), "drop": ("train", "dev"),
    "gem/common_gen": _TVT + _GEM_CHALLENGE, "gem/e2e_nlg": _TVT + _GEM_CHALLENGE,
    "gem/web_nlg_en": _TVT + _GEM_CHALLENGE + ("challenge_test_numbers",),
    "glue/mnli": ("train", "validation_matched", "validation_mismatched", "test_matched",
                  "test_mismatched"),
    "hellaswag": _HELLASWAG, "imdb_reviews/plain_text": ("train", "test", "unsupervised"),
    "math_dataset/algebra__linear_1d": ("train", "test"),
    "natural_questions_open": ("train", "validation"),
    "opinion_abstracts/idebate": ("train",), "opinion_abstracts/rotten_tomatoes": ("train",),
    "para_crawl/enda": ("train",), "para_crawl/enes": ("train",), "piqa": ("train", "validation"),
    "quac": ("train", "validation"), "sentiment140": ("train", "test"),
    "squad/v1.1": ("train", "validation"), "squad/v2.0": ("train", "validation"),
    "story_cloze/2016": ("validation", "test"), "trec": ("train", "test"),
    "winogrande": ("train_xl", "train_l", "train_m", "train_s", "train_xs", "validation", "test"),
    "wsc273": ("test",), "yelp_polarity_reviews": ("train", "test"),
}

# builder (or prefix ending in "/") -> splits whose gold labels the real data withholds
HIDDEN_LABEL_SPLITS = {
    "glue/": ("test", "test_matched", "test_mismatched"), "super_glue/": ("test",),
    "hellaswag": tuple(s for s in _HELLASWAG if s.startswith("test")), "cosmos_qa": ("test",),
    "winogrande": ("test",), "imdb_reviews/plain_text": ("unsupervised",), "trivia_qa/rc": ("test",),
    "gem/common_gen": ("test",),
}


def _hidden(tfds_name: str, split: str) -> bool:
    return any((tfds_name.startswith(k) if k.endswith("/") else tfds_name == k) and split in v
               for k, v in HIDDEN_LABEL_SPLITS.items())


def _hide_labels(tfds_name: str, ex: dict) -> dict:
    if tfds_name == "super_glue/record":
        ex["answers"] = []
    elif tfds_name == "trivia_qa/rc":
        ex["answer"] = {"aliases": [], "normalized_aliases": [], "matched_wiki_entity_name": "<unk>",
                        "normalized_matched_wiki_entity_name": "<unk>", "normalized_value": "<unk>",
                        "type": "", "value": "<unk>"}
    elif tfds_name == "gem/common_gen":
        ex["target"], ex["references"] = "", []
    elif tfds_name == "glue/stsb":
        ex["label"] = -1.0
    else:
        ex["label"] = -1
    return ex


def _check(tfds_name: str) -> str:
    name = tfds_name.split(":", 1)[0]                 # "glue/mnli:1.0.0" -> "glue/mnli"
    if name not in _GENERATORS and not (name.startswith(control.PREFIX)
                                        and name in control.builder_names()):
        known = TOY_BUILDERS + (control.builder_names() if name.startswith(control.PREFIX)
                                else ())
        close = difflib.get_close_matches(name, known, n=1)
        raise KeyError(f"no toy generator for TFDS builder {tfds_name!r}"
                       + (f"; did you mean {close[0]!r}?" if close else "")
                       + f" Toy builders: {', '.join(known)}")
    return name


def _generator(name: str):
    if name in _GENERATORS:
        return _GENERATORS[name]
    return functools.partial(control.generate, name)


def toy_split_names(tfds_name: str) -> tuple[str, ...]:
    """The raw TFDS split names of the builder, e.g. ('train', 'validation', 'test')."""
    return SPLITS.get(_check(tfds_name), _TVT)


def toy_examples(tfds_name: str, split: str, num_examples: int, seed: int = 0) -> list[dict]:
    """`num_examples` raw examples of `split` in the builder's TFDS schema."""
    name = _check(tfds_name)
    if split not in toy_split_names(name):
        raise ValueError(f"{tfds_name} has no split {split!r}; its splits are "
                         f"{', '.join(toy_split_names(name))}")
    rng = lexicon.rng_for(name, split, seed)
    gen, hidden = _generator(name), _hidden(name, split)
    out: list[dict] = []
    call = 0
    while len(out) < num_examples:
        made = gen(rng, call, split)
        call += 1
        for ex in made if isinstance(made, list) else [made]:
            out.append(_hide_labels(name, ex) if hidden else ex)
    return out[:num_examples]


_MARKUP = re.compile(r"<br\s*/>|@highlight|@placeholder|\|\|\|\|\||\[\w+\]|\\n|\(CNN\) --"
                     r"|CANNOTANSWER|\s+")
_SENT_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def toy_text_corpus(num_sentences: int, seed: int = 0) -> list[str]:
    """Toy sentences drawn from the text of every builder's examples (for vocabularies and
    span-corruption pretraining). Mostly English; the translation builders add their toy
    foreign side (about 1 sentence in 15), so a vocabulary built on it covers the targets."""
    rng = lexicon.rng_for("toy_text_corpus", seed)
    out: list[str] = []
    call = 0
    while len(out) < num_sentences:
        name = rng.choice(TOY_BUILDERS)
        made = _GENERATORS[name](rng, call, "train")
        call += 1
        for ex in made if isinstance(made, list) else [made]:
            for text in _strings(ex):
                text = _MARKUP.sub(" ", text).strip()
                for sent in _SENT_END.split(text):
                    if len(sent.split()) >= 3 and any(ch.isalpha() for ch in sent):
                        out.append(sent)
    return out[:num_sentences]


__all__ = ["TOY_BUILDERS", "toy_examples", "toy_split_names", "toy_text_corpus"]
