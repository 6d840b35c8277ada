"""The positive control's suite (tasks/control/): loads through the same catalogue code as
FLAN's, cannot be confused with it, and is built so that only the instruction says what
the answer is (the property the control's effect rests on)."""
import collections

import pytest
import yaml

from flan_repro.catalogue import UnknownNameError, load, suite_dir, suite_names
from flan_repro.catalogue.converters import convert
from flan_repro.data.toy import control as toy_control
from flan_repro.data.toy import toy_examples
from flan_repro.prompts.templates import templates_for

CONTROL = load("control")
HELD_OUT = "new_topic_pairs"
BUILDERS = toy_control.declarations()
TOPIC_NAMES = BUILDERS["topic_names"]


def test_loads_and_validates():
    assert "control" in suite_names()
    assert set(CONTROL.clusters) == {"topic_questions", HELD_OUT}
    assert CONTROL.eval_datasets(HELD_OUT) == ["food_or_clothing", "sport_or_colour"]
    assert set(CONTROL.train_datasets(HELD_OUT)) == {
        "animal_or_food", "vehicle_or_sport", "clothing_or_colour", "animal_or_vehicle"}
    for spec in CONTROL.datasets.values():
        assert spec.suite == "control" and spec.fixed_options == ("yes", "no")
        assert spec.fields == {"text": "text", "topic": "topic", "label": "label"} and \
            spec.metrics == ("accuracy",)


def test_suites_do_not_share_names():
    """seqio's registries are global and names say only `flan_<entry>`/`flan_heldout_<cluster>`,
    so a control name must never mean a FLAN dataset or cluster."""
    flan = load()
    assert not set(CONTROL.datasets) & set(flan.datasets)
    assert not set(CONTROL.clusters) & set(flan.clusters)
    assert len(flan.datasets) == 67 and len(flan.clusters) == 12   # FLAN's catalogue as before


def test_unknown_suite_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="unknown suite 'contrl'.*Did you mean 'control'"):
        load("contrl")
    with pytest.raises(UnknownNameError, match="suite"):
        suite_dir("../tasks")


def test_every_dataset_has_a_builder_with_its_topics():
    for spec in CONTROL.datasets.values():
        assert spec.name == "_or_".join(BUILDERS["builders"][spec.tfds_name]["topics"])


def test_held_out_tasks_are_topic_pairs_no_training_task_has():
    pairs = {frozenset(BUILDERS["builders"][CONTROL.dataset(d).tfds_name]["topics"])
             for d in CONTROL.train_datasets(HELD_OUT)}
    trained_topics = set().union(*pairs)
    for d in CONTROL.eval_datasets(HELD_OUT):
        topics = BUILDERS["builders"][CONTROL.dataset(d).tfds_name]["topics"]
        assert frozenset(topics) not in pairs and set(topics) <= trained_topics, d


@pytest.mark.parametrize("entry", sorted(CONTROL.datasets))
def test_templates_name_only_the_topic_asked_about(entry):
    """An instruction names exactly one topic, the example's own {topic}: nothing else in it
    (and nothing in the sentence) says what yes means."""
    templates = templates_for(CONTROL.dataset(entry))
    assert len(templates) == 8 and not any(t.turned_around for t in templates)
    for t in templates:
        assert t.input_fields == {"text", "topic", "options_"}, t.input
        assert t.input.endswith("\n{options_}") and t.target == "{answer}"
        words = t.input.replace("{topic}", "").lower()
        assert not [n for n in TOPIC_NAMES if n in words], t.input


@pytest.mark.parametrize("builder", toy_control.builder_names())
def test_examples_balanced_and_answered_by_the_asked_topic(builder):
    """Yes and no are equally likely whatever the sentence, and the answer is yes exactly
    when the sentence's words are of the topic asked about."""
    spec = next(s for s in CONTROL.datasets.values() if s.tfds_name == builder)
    words_of = {TOPIC_NAMES[t]: set(w) for t, w in BUILDERS["topics"].items()}
    examples = toy_examples(builder, "train", 2000, seed=0)
    assert examples == toy_examples(builder, "train", 2000, seed=0)
    assert examples[:50] != toy_examples(builder, "test", 50, seed=0)
    by_text_topic = collections.defaultdict(collections.Counter)
    for ex in examples:
        fields = convert(spec, ex)
        about = [n for n, ws in words_of.items() if ws & set(ex["text"].rstrip(".").split())]
        assert len(about) == 1, ex
        assert fields["answer"] == ("yes" if about[0] == ex["topic"] else "no")
        by_text_topic[about[0]][fields["answer"]] += 1
    for counts in by_text_topic.values():
        assert abs(counts["yes"] / sum(counts.values()) - 0.5) < 0.06, counts


def test_yaml_files_are_plain_data():
    for name in ("catalogue.yaml", "clusters.yaml", "builders.yaml"):
        text = (suite_dir("control") / name).read_text()
        assert "!!python" not in text and yaml.safe_load(text)


def test_a_name_of_the_other_suite_says_which_suite_it_is_in():
    with pytest.raises(UnknownNameError, match="belongs to suite 'control'"):
        load().cluster("new_topic_pairs")
    with pytest.raises(UnknownNameError, match="belongs to suite 'flan'"):
        CONTROL.dataset("rte")
    with pytest.raises(UnknownNameError) as e:
        load().cluster("bogus")
    assert "belongs to" not in str(e.value)
