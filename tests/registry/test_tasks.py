"""Every registered task yields tokenized examples from the toy source, in every format
and shot count; targets of classification tasks are among the options."""
import subprocess
import sys

import numpy as np
import pytest
import seqio

from flan_repro.catalogue import FORMATS, load
from flan_repro.registry import RegistryConfig, configure, current
from flan_repro.registry import examples as ex_lib
from flan_repro.registry import mixtures, tasks

SMALL = dict(data_dir="toy", toy_train_size=40, toy_eval_size=12)


@pytest.fixture(scope="module")
def small_registry():
    saved = current()
    configure(**SMALL)
    yield current()
    configure(**{f: getattr(saved, f) for f in saved.__dataclass_fields__})


def first(task_name, split, n=2):
    ds = seqio.get_mixture_or_task(task_name).get_dataset(
        sequence_length=None, split=split, shuffle=False, use_cached=False, num_epochs=1)
    return list(ds.take(n).as_numpy_iterator())


def test_every_dataset_format_and_shot_tokenizes(small_registry):
    """All datasets x formats x shots render and tokenize; the seqio task path (same code
    for every format) runs once per dataset, rotating format and shot count."""
    cat = load()
    vocab = small_registry.vocab
    for i, (entry, spec) in enumerate(cat.datasets.items()):
        for fmt in FORMATS:
            for shots in (0, 2) if spec.few_shot else (0,):   # WSC273: zero-shot only
                recs = ex_lib.render_split(small_registry, entry, "test", fmt=fmt, shots=shots)
                assert recs, (entry, fmt, shots)
                for r in recs[:3]:
                    assert len(vocab.encode(r["inputs"])) > 0
                    assert vocab.decode(vocab.encode(r["targets"])).strip() or not r["targets"]
                    if spec.classification and fmt != "instruction":
                        assert r["targets"] in r["options"]
        fmt, shots = FORMATS[i % 3], (0, 2)[(i // 3) % 2] if spec.few_shot else 0
        name = tasks.ensure_task(entry, fmt=fmt, shots=shots)
        rows = first(name, "test")
        assert rows, name
        for r in rows:
            assert r["inputs"].dtype == np.int32 and r["inputs"][-1] == 1   # EOS
            assert len(r["targets"]) >= 1
            if spec.classification and fmt != "instruction":
                assert r["targets_pretokenized"].decode() in [o.decode() for o in r["options"]]


def test_few_shot_prompts_never_contain_the_example(small_registry):
    for entry in ("rte", "copa", "winogrande", "xsum"):
        plain = ex_lib.render_split(small_registry, entry, "test", fmt="no_template")
        shot = ex_lib.render_split(small_registry, entry, "test", fmt="no_template", shots=3)
        for p, s in zip(plain, shot):
            assert s["inputs"].endswith(p["inputs"])
            prefix = s["inputs"][: -len(p["inputs"])]
            assert p["inputs"] not in prefix
            assert s["shots"] >= 1


def test_few_shot_respects_token_budget(small_registry):
    cfg = RegistryConfig(**SMALL, few_shot_budget=120)
    for rec in ex_lib.render_split(cfg, "cb", "test", shots=16):
        assert len(cfg.vocab.encode(rec["inputs"])) <= 120 or rec["shots"] == 0


def test_per_template_tasks_use_standard_templates(small_registry):
    idx = ex_lib.eval_template_indices(small_registry, "rte")
    assert len(idx) >= 7
    templates = ex_lib.dataset_templates(small_registry, "rte")
    assert all(not templates[i].turned_around for i in idx)


def test_heldout_mixture_excludes_cluster(small_registry):
    name = mixtures.register_heldout("nli", "no_template")
    mix = seqio.get_mixture_or_task(name)
    cat = load()
    entries = {t.name.split("_no_template")[0][len("flan_"):] for t in mix.tasks}
    assert not {cat.datasets[e].cluster for e in entries} & {"nli", "paraphrase"}
    rates = {t.name: mix.get_rate(t) for t in mix.tasks}
    assert set(rates.values()) == {40.0}
    ds = mix.get_dataset({"inputs": 64, "targets": 16}, split="train", shuffle=True, seed=0,
                         use_cached=False)
    assert len(list(ds.take(5).as_numpy_iterator())) == 5


def test_tasks_and_mixtures_register_by_name_in_a_fresh_process():
    # Registration time is measured by `make bench`, never asserted here.
    code = ("import seqio, flan_repro.registry.tasks as T, flan_repro.registry.mixtures as M; "
            "from flan_repro.registry import current; "
            "n=len(list(T.variants(current()))); "
            "names=[M.ensure_registered(x) for x in ('flan_rte_no_template_16shot', "
            "'flan_cb_instruction_4templates_0shot', 'flan_heldout_nli_instruction')]; "
            "print(n, len(seqio.TaskRegistry.names()), len(seqio.MixtureRegistry.names()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    n_variants, n_tasks, n_mix = int(out[0]), int(out[1]), int(out[2])
    # entries x (0, max) shots x (formats + counts); WSC273 (no train split) zero-shot only
    assert n_variants == 66 * 2 * (3 + 4) + 1 * (3 + 4)
    assert n_tasks >= 2 + len(load().train_datasets("nli")) and n_mix >= 1
