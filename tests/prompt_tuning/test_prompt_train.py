"""The loop's promises: only the prompt is trained (the model's params are bitwise the
same and never written), T5 and decoder-only alike, and a prompt trained on a toy task
lifts a frozen random model well above chance."""
import json

import jax
import numpy as np
import pytest

from flan_repro.prompt_tuning.run import prompt_tune
from flan_repro.prompt_tuning.train import (PromptTuningConfig, batch_indices,
                                            feature_arrays, init_prompt, input_embedding,
                                            load_prompt, make_optimizer, prompt_loss,
                                            tokenize, training_examples)

SMALL_RECIPE = PromptTuningConfig(prompt_length=4, steps=6, batch_size=4, train_examples=8,
                                  checkpoint_every=3, max_input_length=64)


@pytest.mark.parametrize("family", ["tiny_t5", "tiny_decoder_only"])
def test_only_the_prompt_is_trained(request, family, toy_registry, tmp_path):
    model = request.getfixturevalue(family)
    before = jax.tree.map(np.array, model.params)
    out = prompt_tune(model, "sst2", tmp_path, SMALL_RECIPE, registry=toy_registry,
                      max_examples=4, plots=False)
    for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(model.params)):
        np.testing.assert_array_equal(a, np.asarray(b))
    prompt = load_prompt(tmp_path)
    embedding = input_embedding(model.config, model.params)
    start = init_prompt(SMALL_RECIPE, embedding, embedding.shape[0])
    assert prompt.shape == start.shape == (4, model.config.d_model)
    assert not np.array_equal(prompt, start)
    # the optimizer keeps statistics of the prompt only
    tx = make_optimizer(SMALL_RECIPE)
    assert all(np.size(leaf) <= prompt.size for leaf in jax.tree.leaves(tx.init(prompt)))
    # nothing of the model is written: the prompt, the loop's checkpoints, the evaluation
    assert not list(tmp_path.rglob("*.safetensors"))
    assert sorted(p.name for p in tmp_path.glob("*.npy")) == ["prompt.npy"]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["num_train_examples"] == 8 and results["steps"] == 6
    assert results["entries"]["sst2"]["primary"] == "accuracy"
    records = (tmp_path / "sst2" / "instruction_0shot.examples.jsonl").read_text().splitlines()
    assert len(records) == 4 * len(json.loads(
        (tmp_path / "sst2" / "instruction_0shot.json").read_text())["templates"])
    sst2 = json.loads((tmp_path / "sst2" / "instruction_0shot.json").read_text())
    assert sst2["settings"]["prompt_length"] == 4
    assert out["final_loss"] == results["final_loss"]


def test_the_prompt_gets_a_gradient_and_the_params_are_constants(tiny_t5, toy_registry):
    examples = training_examples(toy_registry, "sst2", 4, seed=0)
    batch = feature_arrays("encoder_decoder", tokenize(examples, toy_registry.vocab, 64, 8))
    prompt = init_prompt(SMALL_RECIPE, input_embedding(tiny_t5.config, tiny_t5.params), 2000)
    grad = jax.grad(prompt_loss, argnums=2)(tiny_t5.config, tiny_t5.params, prompt, batch)
    assert grad.shape == prompt.shape and np.abs(np.asarray(grad)).sum() > 0


def test_examples_are_a_seeded_draw_over_the_standard_templates(toy_registry):
    from flan_repro.registry.examples import eval_template_indices
    a = training_examples(toy_registry, "sst2", 32, seed=3)
    assert a == training_examples(toy_registry, "sst2", 32, seed=3)
    assert a != training_examples(toy_registry, "sst2", 32, seed=4)
    assert {r["template"] for r in a} <= set(eval_template_indices(toy_registry, "sst2"))
    assert len({r["template"] for r in a}) > 1          # mixed, not one template
    assert all(r["targets"] in r["options"] for r in a)
    assert len(training_examples(toy_registry, "sst2", None, seed=0)) == 200
    with pytest.raises(ValueError, match="500 train examples asked"):
        training_examples(toy_registry, "sst2", 500, seed=0)


def test_batches_depend_on_the_step_only():
    rows = np.concatenate([batch_indices(10, 4, 0, s) for s in range(5)])
    assert sorted(rows[:10]) == list(range(10)) and sorted(rows[10:20]) == list(range(10))
    np.testing.assert_array_equal(batch_indices(10, 4, 0, 3), rows[12:16])


def test_prompt_tuning_lifts_a_frozen_random_model_above_chance(toy_registry, tmp_path):
    """Toy SST-2 (the label is the majority polarity of its words) on a frozen random
    T5: rank classification is at chance without a prompt; a tuned prompt lifts the mean
    over templates well above it."""
    from flan_repro.evaluate.runner import evaluate_cluster
    from flan_repro.model.loading import LoadedModel
    from flan_repro.model.t5 import T5Config
    from model_testlib import random_params
    cfg = T5Config(vocab_size=2176, d_model=128, d_ff=256, num_heads=8, d_kv=16,
                   num_encoder_layers=1, num_decoder_layers=1, dropout_rate=0.0)
    model = LoadedModel(cfg, random_params(cfg, seed=0))
    base = evaluate_cluster(model, "sentiment", datasets=["sst2"], registry=toy_registry,
                            max_examples=40, plots=False)["scores"]["sst2"]["mean"]
    recipe = PromptTuningConfig(prompt_length=16, steps=600, batch_size=16,
                                optimizer="adam", learning_rate=0.1, checkpoint_every=600,
                                max_input_length=128)
    tuned = prompt_tune(model, "sst2", tmp_path, recipe, registry=toy_registry,
                        max_examples=40, plots=False)["entries"]["sst2"]["score"]["mean"]
    assert base < 60 and tuned > 72, (base, tuned)
