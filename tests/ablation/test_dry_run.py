"""`flan-repro ablation --dry_run`: the whole plan of a paper-scale ablation printed on one
CPU with nothing read (the base checkpoint and the data need not exist), and the paper
profiles' REQUIRED base checkpoint, asked for by name."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flan_repro.ablation.profile import RunConfig, load_profile, profile_bindings
from flan_repro.cli import main

ROOT = Path(__file__).resolve().parents[2]
MIXTURES = [f"flan_heldout_nli_{fmt}" for fmt in ("instruction", "no_template", "dataset_name")]


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("FLAN_REPRO_CACHE", str(tmp_path / "cache"))


def test_missing_base_checkpoint_names_the_macro_and_how_to_pass_it(capsys):
    with pytest.raises(ValueError, match=r"paper_t5_xl needs BASE_CHECKPOINT .*"
                                         r"--gin\.BASE_CHECKPOINT=\"'hf:/path/to/t5-v1_1-xl'\""):
        load_profile("paper_t5_xl")
    assert main(["ablation", "--cluster", "nli", "--profile", "paper_t5_xl", "--dry_run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: profile paper_t5_xl needs BASE_CHECKPOINT") and \
        err.count("\n") == 1
    # reproduce takes the same profiles, so the same binding
    assert main(["reproduce", "--figure", "5", "--profile", "paper_t5_xl", "--plan"]) == 2
    assert "needs BASE_CHECKPOINT" in capsys.readouterr().err


def test_base_checkpoint_binding_both_spellings_and_only_profile_names(capsys, cache, tmp_path):
    for arg in ("--gin.BASE_CHECKPOINT=hf:/ckpt/t5-v1_1-xl",
                "--gin.BASE_CHECKPOINT='hf:/ckpt/t5-v1_1-xl'"):
        run = RunConfig.load("paper_t5_xl", bindings=profile_bindings([arg]))
        assert run.profile.base_checkpoint == "hf:/ckpt/t5-v1_1-xl"
    steps = profile_bindings(["--gin.AblationProfile.finetune_steps=7"])
    assert RunConfig.load("toy", bindings=steps).profile.finetune_steps == 7
    out = tmp_path / "out"
    assert main(["reproduce", "--figure", "8", "--profile", "paper_t5_xl", "--plan",
                 "--out", str(out), "--gin.BASE_CHECKPOINT=hf:/ckpt/t5-v1_1-xl"]) == 0
    assert "tune instruction: 30000 steps  [flan_heldout_nli_instruction" in \
        capsys.readouterr().out
    # a trainer binding would be parsed into the profile's gin and ignored by training
    assert main(["ablation", "--cluster", "nli", "--profile", "paper_t5_xl", "--dry_run",
                 "--gin.BASE_CHECKPOINT=hf:/x", "--gin.train.batch_size=4"]) == 2
    assert "trainer settings go in the profile's train_gin" in capsys.readouterr().err
    assert main(["ablation", "--cluster", "nli", "--device_memory", "32GiB"]) == 2
    assert "add --dry_run" in capsys.readouterr().err


def test_paper_profile_dry_run_on_one_cpu_reads_no_checkpoint_or_data(tmp_path):
    """The README's command, in a fresh single-CPU process: the checkpoint folder and the
    data folder do not exist, and the output folder is not created."""
    missing = tmp_path / "no_such_checkpoint"
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(JAX_PLATFORMS="cpu", FLAN_REPRO_CACHE=str(tmp_path / "cache"))
    p = subprocess.run([sys.executable, "-m", "flan_repro", "ablation", "--cluster", "nli",
                        "--profile", "paper_t5_xl", "--dry_run", "--out", str(out),
                        "--data_dir", f"jsonl:{tmp_path / 'no_such_data'}",
                        f"--gin.BASE_CHECKPOINT=hf:{missing}", "--device_kind", "tpu_v4"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    text = p.stdout
    assert not missing.exists() and not out.exists() and not (tmp_path / "no_such_data").exists()
    lines = text.splitlines()
    assert f"base checkpoint: hf:{missing}" in lines
    # stages: one tuning run per format from the given checkpoint, FLAN's steps
    for i, mixture in enumerate(MIXTURES, 1):
        fmt = mixture.rsplit("nli_", 1)[1]
        assert lines[lines.index(f"[{i}/23] tune {fmt}: 30000 steps") + 1] == \
            f"    trains {mixture} from hf:{missing} into {out / 'models' / fmt}"
    # evaluations: the held-out cluster's datasets per row, every example
    assert "evaluations: every example per split and template" in lines
    assert f"    scores {out / 'models' / 'instruction'} with instruction prompts, 0-shot, on " \
           f"anli_r1, anli_r2, anli_r3, cb, rte" in lines
    assert sum(line.startswith("    scores ") for line in lines) == 23 - 3 - 1
    # one memory table for the three tuning runs (the same gin): XL on the v4-64 mesh
    head = lines.index("memory of training stages 1, 2, 3:")
    table = "\n".join(lines[head:])
    assert "2,849,757,184" in table and "'model': 8" in table
    assert re.search(r"^  (FITS|DOES NOT FIT): .* on tpu_v4", table, re.M)


def test_toy_dry_run_plans_pretraining_and_a_memory_table_per_training_stage(
        cache, capsys, tmp_path):
    out = tmp_path / "out"
    assert main(["ablation", "--cluster", "nli", "--profile", "toy", "--dry_run",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert not out.exists()
    lines = text.splitlines()
    assert "[1/24] pretrain base model: 300 steps" in lines
    base = lines[lines.index("[1/24] pretrain base model: 300 steps") + 1]
    assert base.startswith("    trains flan_toy_pretrain_span_corruption from scratch into ")
    assert f"    trains {MIXTURES[0]} from {base.rsplit(' into ', 1)[1]} into " \
           f"{out / 'models' / 'instruction'}" in lines
    assert "evaluations: at most 200 examples per split and template (50 on dev)" in lines
    # every training stage (1-4) is under exactly one memory table
    heads = [re.fullmatch(r"memory of training stages? ([\d, ]+):", line)
             for line in lines]
    numbers = [n for m in heads if m for n in m.group(1).split(", ")]
    assert sorted(numbers) == ["1", "2", "3", "4"]
    assert "parameters: 1,345,280" in text
