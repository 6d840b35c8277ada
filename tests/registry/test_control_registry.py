"""The control suite goes through the same registry as FLAN's (tasks, mixtures, every
format), selected by the registry config; FLAN's registry is exactly what it was."""
import subprocess
import sys

import pytest
import seqio

from flan_repro.catalogue import EVAL_FORMATS, UnknownNameError
from flan_repro.registry import RegistryConfig, configure
from flan_repro.registry import examples as ex_lib
from flan_repro.registry import mixtures, tasks
from flan_repro.train import input_pipeline

SMALL = dict(data_dir="toy", toy_train_size=40, toy_eval_size=12)


@pytest.fixture
def control_registry(registry_settings):
    return registry_settings(**SMALL, suite="control")


def test_every_control_dataset_renders_in_every_format(control_registry):
    cfg = control_registry
    vocab = cfg.vocab
    for entry, spec in cfg.catalogue.datasets.items():
        for fmt in EVAL_FORMATS:
            recs = ex_lib.render_split(cfg, entry, "test", fmt=fmt)
            assert len(recs) == 12, (entry, fmt)
            for r in recs:
                assert r["targets"] in ("yes", "no") and r["options"] == ["yes", "no"]
                assert r["targets"] == r["options"][r["label"]]
                assert len(vocab.encode(r["inputs"])) > 0
            fields = [f for _, f in ex_lib.converted(cfg, entry, "test")]
            assert all(f["text"] in r["inputs"] for f, r in zip(fields, recs))
            if fmt == "instruction":
                assert all(f["topic"] in r["inputs"] for f, r in zip(fields, recs))
            elif fmt in ("no_template", "dataset_name"):
                # the prompt is the sentence and the options, whatever the question: these
                # formats cannot tell a yes from a no
                plain = [f"{f['text']}\nOPTIONS:\n- yes\n- no" for f in fields]
                assert all(r["inputs"].endswith(p) and r["inputs"].count("\n") <= 4
                           for p, r in zip(plain, recs))


def test_control_tasks_and_mixtures_through_seqio(control_registry):
    name = mixtures.register_heldout("new_topic_pairs", "instruction")
    mix = seqio.get_mixture_or_task(name)
    entries = sorted(t.name[len("flan_"):-len("_instruction_0shot")] for t in mix.tasks)
    assert entries == ["animal_or_food", "animal_or_vehicle", "clothing_or_colour",
                       "vehicle_or_sport"]
    ds = mix.get_dataset({"inputs": 64, "targets": 8}, split="train", shuffle=True, seed=0,
                         use_cached=False)
    assert len(list(ds.take(4).as_numpy_iterator())) == 4
    task = tasks.ensure_task("food_or_clothing", fmt="shuffled_instruction")
    rows = list(seqio.get_mixture_or_task(task).get_dataset(
        sequence_length=None, split="test", shuffle=False, use_cached=False, num_epochs=1
    ).take(2).as_numpy_iterator())
    assert [r["targets_pretokenized"].decode() for r in rows] == [
        r["targets"] for r in ex_lib.render_split(control_registry, "food_or_clothing", "test",
                                                  fmt="shuffled_instruction")[:2]]


def test_shuffled_instruction_is_never_a_training_mixture(control_registry):
    with pytest.raises(UnknownNameError, match="evaluation-only"):
        mixtures.register_heldout("new_topic_pairs", "shuffled_instruction")


def test_unknown_suite_fails_when_configured():
    with pytest.raises(UnknownNameError, match="unknown suite 'bogus'.*control.*flan"):
        RegistryConfig(suite="bogus")


def test_batch_cache_key_follows_the_suite_and_its_files(control_registry, tmp_path,
                                                         monkeypatch):
    """The trainer's batch store is keyed by the suite and the content of its declarations:
    an edited template must never be served from batches rendered before the edit."""
    cfg = input_pipeline.DataConfig(mixture="flan_heldout_new_topic_pairs_instruction")
    control_key = input_pipeline.cache_key(cfg, 10)
    configure(suite="flan")
    assert input_pipeline.cache_key(cfg, 10) != control_key
    configure(suite="control")
    assert input_pipeline.cache_key(cfg, 10) == control_key
    import shutil
    from flan_repro.catalogue import spec, tasks_dir
    shutil.copytree(tasks_dir(), tmp_path / "tasks")
    monkeypatch.setenv("FLAN_REPRO_TASKS_DIR", str(tmp_path / "tasks"))
    spec.suite_digest.cache_clear()
    same = input_pipeline.cache_key(cfg, 10)
    with open(tmp_path / "tasks" / "control" / "templates" / "animal_or_food.yaml", "a") as f:
        f.write('- input: "Topic: {topic}?\\n{text}\\n{options_}"\n  target: "{answer}"\n')
    spec.suite_digest.cache_clear()
    edited = input_pipeline.cache_key(cfg, 10)
    spec.suite_digest.cache_clear()
    assert same == control_key and edited != control_key


def test_flan_registry_unchanged():
    """FLAN's registry resolves its 931 task names (67 entries x 2 shot counts x 7
    variants, WSC273 zero-shot only), none of them a control dataset or an eval-only
    format."""
    code = ("import flan_repro.registry.tasks as T; from flan_repro.registry import current; "
            "t=[T.task_name(**v) for v in T.variants(current())]; print(len(t)); "
            "print(sum('shuffled' in n or 'topic' in n for n in t))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["931", "0"]
