"""The positive control's toy builders: yes/no topic questions (tasks/control/).

Each builder declared in `tasks/control/builders.yaml` yields raw examples
{text, topic, label}: a sentence made of a topic-neutral frame and one or two words of
one of the builder's two topics; the name of the topic the example asks about (half the
time the sentence's, otherwise any other topic, so yes and no are equally likely and the
sentence alone never tells which); and the answer (0 yes, 1 no).

These builders are kept apart from FLAN's (`TOY_BUILDERS`): they are not TFDS builders,
so the schema tests against TFDS do not apply, and their sentences stay out of the toy
pretraining corpus and vocabulary, so adding the control changes nothing FLAN's toy runs
compute or cache.
"""
from __future__ import annotations

import functools

import yaml

PREFIX = "flan_repro_control/"


@functools.lru_cache(maxsize=1)
def declarations() -> dict:
    """builders.yaml, checked: every builder names two known topics; every topic has a
    name and at least two words, and no word is in two topics."""
    from flan_repro.catalogue import UnknownNameError, suite_dir
    path = suite_dir("control") / "builders.yaml"
    with open(path) as f:
        d = yaml.safe_load(f)
    seen: dict = {}
    for topic, words in d["topics"].items():
        if len(set(words)) < 2 or topic not in d["topic_names"]:
            raise ValueError(f"{path}: topic {topic!r} needs a name in topic_names and at "
                             f"least two distinct words")
        for w in words:
            if seen.setdefault(w, topic) != topic:
                raise ValueError(f"{path}: {w!r} is a word of topics {seen[w]!r} and {topic!r}")
    for name, b in d["builders"].items():
        if not name.startswith(PREFIX):
            raise ValueError(f"{path}: builder {name!r} must start with {PREFIX!r}")
        if len(b["topics"]) != 2 or len(set(b["topics"])) != 2:
            raise ValueError(f"{path}: builder {name!r} needs two distinct topics, "
                             f"got {b['topics']}")
        for t in b["topics"]:
            if t not in d["topics"]:
                raise UnknownNameError("topic", t, d["topics"], hint=f"(in {path}, {name})")
    return d


def builder_names() -> tuple[str, ...]:
    return tuple(sorted(declarations()["builders"]))


def generate(name: str, rng, i: int, split: str) -> dict:
    """One raw example of builder `name` (the generator signature of `data.toy`)."""
    d = declarations()
    about = rng.choice(d["builders"][name]["topics"])
    frame = rng.choice(d["frames"])
    x, y = rng.sample(d["topics"][about], 2)
    yes = rng.random() < 0.5
    asked = about if yes else rng.choice([t for t in d["topics"] if t != about])
    return {"text": frame.format(x=x, y=y), "topic": d["topic_names"][asked],
            "label": 0 if yes else 1}
