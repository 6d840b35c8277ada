"""Mixing rates are min(n, 3000) with n the train size after the 30k cut (FLAN Sec. 2.4)."""
import dataclasses
import json

import pytest
import seqio

from flan_repro.catalogue import FORMATS, load
from flan_repro.data import sources
from flan_repro.registry import configure, current
from flan_repro.registry import examples as ex_lib
from flan_repro.registry import mixtures, tasks


def write_rte(root, n):
    folder = root / "super_glue" / "rte"
    folder.mkdir(parents=True)
    with open(folder / "train.jsonl", "w") as f:
        for i in range(n):
            f.write(json.dumps({"premise": f"p{i}", "hypothesis": f"h{i}", "idx": i,
                                "label": i % 2}) + "\n")


@pytest.fixture
def restore_config():
    saved = current()
    yield
    configure(**{f: getattr(saved, f) for f in saved.__dataclass_fields__})


@pytest.mark.parametrize("n,rate", [(150, 0.0), (900, 700.0), (3500, 3000.0)])
def test_rate_is_capped_example_count(tmp_path, restore_config, n, rate):
    write_rte(tmp_path, n)
    configure(data_dir=f"jsonl:{tmp_path}")
    # RTE's FLAN train split is train[:-200]: the last 200 are the dev split
    assert mixtures.mixing_rate("rte") == max(0.0, min(n - 200, 3000))
    assert mixtures.mixing_rate("rte") == rate


def test_train_split_cut_at_30k():
    class Big(sources.Source):
        def raw(self, spec, split):
            return list(range(40000))
    spec = load().dataset("snli")
    assert Big().num_examples(spec, "train") == 30000
    assert len(Big().examples(spec, "test")) == 40000


def test_tfds_style_slicing():
    xs = list(range(10))
    assert sources.slice_examples(xs, "train[:-2]") == list(range(8))
    assert sources.slice_examples(xs, "train[-2:]") == [8, 9]
    assert sources.slice_examples(xs, "train[2:4]") == [2, 3]
    assert sources.slice_examples(xs, "train[:50%]") == list(range(5))
    assert sources.slice_examples(xs, "validation") == xs
    with pytest.raises(ValueError, match="TFDS slicing"):
        sources.parse_split("train[a:b]")


def test_missing_jsonl_split_names_file_and_present_splits(tmp_path, restore_config):
    write_rte(tmp_path, 10)
    configure(data_dir=f"jsonl:{tmp_path}")
    with pytest.raises(sources.DataNotFoundError, match=r"rte/validation.jsonl.*present.*train"):
        current().source.examples(load().dataset("rte"), "test")


def test_unprepared_tfds_dataset_names_the_build_command(tmp_path, restore_config):
    configure(data_dir=str(tmp_path))
    with pytest.raises(sources.DataNotFoundError, match="tfds build super_glue/rte"):
        current().source.examples(load().dataset("rte"), "test")


def test_cluster_count_ablation_order():
    one = mixtures.cluster_count_datasets(1)
    assert set(one) == set(load().cluster("summarization").datasets)
    seven = mixtures.cluster_count_datasets(7)
    assert {"coqa", "quac"} <= set(seven)
    cat = load()
    assert not {cat.datasets[d].cluster for d in seven} & {"nli", "closed_book_qa", "commonsense"}
    with pytest.raises(ValueError, match="1..7"):
        mixtures.cluster_count_datasets(8)


@pytest.mark.parametrize("suite", ["flan", "control"])
def test_mixture_names_round_trip(suite):
    """Every name the ablation and Fig. 6 build reads back as what built it, whatever
    underscores a cluster or format name has."""
    cat = load(suite)
    built = [mixtures.MixtureName.held_out(c, f, n, k)
             for c in cat.clusters for f in FORMATS for n in (None, 4) for k in (0, 2, 16)]
    built += [mixtures.MixtureName.cluster_count(k, f) for k in (1, 7) for f in FORMATS]
    for m in built:
        assert mixtures.MixtureName.parse(str(m)) == m, str(m)


def test_mixture_name_spelling():
    name = mixtures.MixtureName
    assert str(name.held_out("closed_book_qa", "no_template")) == \
        "flan_heldout_closed_book_qa_no_template"
    assert str(name.held_out("nli", "instruction", 4)) == "flan_heldout_nli_instruction_4templates"
    assert str(name.cluster_count(3)) == "flan_clusters3_instruction"
    assert str(name.held_out("nli", shots=2)) == "flan_heldout_nli_instruction_2shot"
    assert str(name.held_out("nli", "instruction", 4, 16)) == \
        "flan_heldout_nli_instruction_4templates_16shot"
    assert str(name.held_out("nli", shots=0)) == "flan_heldout_nli_instruction"
    assert name.parse("flan_heldout_nli_no_template_2shot") == name.held_out(
        "nli", "no_template", shots=2)
    assert name.parse("flan_rte_instruction_0shot") is None      # a task's name


def exemplar_sources(monkeypatch, task: seqio.Task) -> tuple[list[dict], list[tuple[int, int]]]:
    """A task's train records, read through its seqio source, and each exemplar rendered
    for them as (id of the query's fields, id of the exemplar's fields): a query is rendered
    without a fixed template, its exemplars with the query's."""
    pairs, query = [], [None]
    real = ex_lib._render_one

    def spy(cfg, spec, fields, fmt, templates, template, *args):
        if template is None:
            query[0] = id(fields)
        else:
            pairs.append((query[0], id(fields)))
        return real(cfg, spec, fields, fmt, templates, template, *args)

    with monkeypatch.context() as m:
        m.setattr(ex_lib, "_render_one", spy)
        recs = list(task.source.get_dataset("train", shuffle=False).as_numpy_iterator())
    return recs, pairs


def test_k_shot_mixture_trains_on_exemplars_from_train_never_the_example(monkeypatch,
                                                                       restore_config):
    """Few-shot FLAN (Fig. 9) tunes with exemplars: every task of a k-shot mixture renders
    its training examples with up to k other train examples, within the input budget."""
    cfg = configure(data_dir="toy", toy_train_size=30, toy_eval_size=8)
    mixture = mixtures.MixtureName.held_out("nli", shots=2)
    assert mixtures.MixtureName.parse("flan_heldout_nli_instruction_2shot") == mixture
    mix = seqio.get_mixture_or_task(mixtures.ensure_registered(str(mixture)))
    entries = load().train_datasets("nli")
    assert sorted(t.name for t in mix.tasks) == sorted(
        tasks.task_name(e, "instruction", 2) for e in entries)
    for entry in ("sst2", "copa"):
        train = {id(f) for _, f in ex_lib.converted(cfg, entry, "train")}
        task = seqio.get_mixture_or_task(tasks.task_name(entry, "instruction", 2))
        recs, pairs = exemplar_sources(monkeypatch, task)
        assert recs and pairs, entry
        assert all(q in train and e in train and e != q for q, e in pairs), entry
        # the query is the zero-shot prompt, after the exemplars the budget leaves room for
        zero_shot = [r["inputs"] for r in ex_lib.render_split(cfg, entry, "train")]
        got = [r["inputs"].decode() for r in recs]
        assert len(got) == len(zero_shot) and all(map(str.endswith, got, zero_shot)), entry
        assert any(g != z for g, z in zip(got, zero_shot)), entry
        tight = dataclasses.replace(cfg, few_shot_budget=1)
        assert [r["inputs"] for r in ex_lib.render_split(tight, entry, "train", shots=2)] \
            == zero_shot
    zero = seqio.get_mixture_or_task(mixtures.ensure_registered("flan_heldout_nli_instruction"))
    assert {t.name for t in zero.tasks} == {tasks.task_name(e) for e in entries}


def test_k_shot_tasks_register_by_name_for_any_k_up_to_the_recipes(restore_config):
    assert tasks.register_named("flan_sst2_no_template_2shot")
    assert "flan_sst2_no_template_2shot" in seqio.TaskRegistry.names()
    assert not tasks.register_named("flan_wsc273_instruction_2shot")   # no train split
    assert not tasks.register_named("flan_sst2_instruction_17shot")    # over max_shots
