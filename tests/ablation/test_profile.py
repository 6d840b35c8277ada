"""Profiles: the user-facing ones in gin/ablation/, test-sized ones by path; a run's
configuration is one value (`RunConfig`), and a training stage's gin stays its own."""
from pathlib import Path

import gin
import pytest

from flan_repro import gin_config
from flan_repro.ablation import runner
from flan_repro.ablation.profile import RunConfig, load_profile, profile_names
from flan_repro.catalogue import UnknownNameError
from flan_repro.registry.config import RegistryConfig, current, set_current

ROOT = Path(__file__).resolve().parents[2]


def test_profiles_are_the_user_facing_files_only():
    assert profile_names() == ["control", "paper_t5_xl", "toy"]
    with pytest.raises(UnknownNameError, match="unknown profile 'ci'.*control, paper_t5_xl, toy"):
        load_profile("ci")
    with pytest.raises(FileNotFoundError, match="nope.gin"):
        load_profile("tests/gin/nope.gin")


@pytest.mark.parametrize("profile", ["toy", "control", "paper_t5_xl", "tests/gin/ci.gin",
                                     "tests/gin/control_ci.gin",
                                     str(ROOT / "tests" / "gin" / "ci.gin")])
def test_every_profile_loads_and_its_trainer_gin_parses(profile):
    # the paper profile's checkpoint is REQUIRED (tests/ablation/test_dry_run.py)
    given = ["BASE_CHECKPOINT = 'hf:/ckpt'"] if profile == "paper_t5_xl" else []
    run = RunConfig.load(profile, data_dir="jsonl:/data", bindings=given)
    assert run.registry.data_dir == "jsonl:/data"
    assert run.registry == RegistryConfig(**{**dict(run.profile.registry),
                                             "data_dir": "jsonl:/data"})
    with gin_config.gin_scope(list(run.profile.train_gin), ["MODEL_DIR = 'm'", "MIXTURE = 'x'",
                                                            "TRAIN_STEPS = 1"]):
        config = gin.query_parameter("train.model_config").scoped_configurable_fn()
    assert config.vocab_size == (2176 if run.registry.vocabulary == "toy" else 32128)


def test_training_stage_gin_is_scoped_and_needs_the_runs_registry(monkeypatch, tmp_path):
    from flan_repro.train import trainer
    run = RunConfig.load("tests/gin/ci.gin")
    seen = {}

    def fake_train(progress_label=""):
        seen.update(mixture=gin.query_parameter("%MIXTURE"), d_model=gin.query_parameter(
            "T5Config.d_model"), seed=gin.query_parameter("train.seed"), label=progress_label)
        (tmp_path / "a").mkdir()
        return trainer.TrainResult(str(tmp_path / "a"), 3, 0.5)
    monkeypatch.setattr(trainer, "train", fake_train)
    saved = current()
    try:
        with pytest.raises(RuntimeError, match="prepare"):
            runner.train_model(tmp_path / "a", "flan_heldout_nli_instruction", 3, run)
        set_current(run.registry)
        with gin_config.gin_scope([], ["train.seed = 7"]):      # the caller's own binding
            runner.train_model(tmp_path / "a", "flan_heldout_nli_instruction", 3, run,
                               ["train.seed = 1"], label="[2/9] tune")
            assert gin.query_parameter("train.seed") == 7
            with pytest.raises(ValueError):
                gin.query_parameter("train.mixture")              # nothing leaked back
    finally:
        set_current(saved)
    # the stage saw its own gin only: the profile's trainer files and its bindings
    assert seen == {"mixture": "flan_heldout_nli_instruction", "d_model": 32, "seed": 1,
                    "label": "[2/9] tune"}
    assert (tmp_path / "a" / "DONE").exists()
