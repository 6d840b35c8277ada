"""One prompt-tuning row end to end: load the frozen model, tune a prompt on a dataset,
evaluate the (model, prompt) pair, write the files.

Evaluation is `evaluate.runner.evaluate_cluster` with `datasets=[dataset]` (the
dataset's cluster held out, instruction format, zero-shot): the same per-template
scores, best-dev template, calibration and per-example records as every other row, so a
prompt-tuning number is comparable with the ablation's. Files in DIR:

  prompt.npy                                   the soft prompt [L, d_model] (only it:
                                               the model's params are never written)
  checkpoints/                                 the loop's orbax steps (resume)
  <dataset>/instruction_0shot.json, .examples.jsonl, _reliability.png, and
  <cluster>_instruction_0shot.json             the evaluator's files
  results.json                                 the row: checkpoint, dataset, recipe,
                                               train examples, final loss, score
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from flan_repro.prompt_tuning.train import PromptTuningConfig, train_prompt, with_prompt


def prompt_tune(checkpoint, dataset: str, out_dir: str | Path, recipe: PromptTuningConfig, *,
                registry=None, max_examples: int | None = None, batch_size: int = 16,
                plots: bool = True, max_dev_examples: int | None = None) -> dict:
    """Tunes (or resumes) and evaluates; returns the results.json dict.

    checkpoint: a model dir, hf:DIR, t5x:DIR, a LoadedModel or a (config, params) pair.
    registry: the RegistryConfig (default: the current one). max_examples /
    max_dev_examples / batch_size: the evaluation's (see `evaluate_cluster`); it trims inputs to the recipe's
    `max_input_length`, as training did."""
    from flan_repro.evaluate.runner import evaluate_cluster, write_json
    from flan_repro.model.loading import as_loaded_model
    from flan_repro.registry.config import current
    t0 = time.time()
    cfg = registry or current()
    cluster = cfg.catalogue.dataset(dataset).cluster
    if dataset not in cfg.catalogue.eval_datasets(cluster):
        raise ValueError(f"dataset {dataset!r} is not reported for its cluster {cluster!r} "
                         f"(reported: {', '.join(cfg.catalogue.eval_datasets(cluster))})")
    model = as_loaded_model(checkpoint)
    tuned = train_prompt(model, dataset, out_dir, recipe, cfg, cfg.vocab)
    ev = evaluate_cluster(with_prompt(model, tuned.prompt), cluster, "instruction", 0, out_dir,
                          max_examples, datasets=[dataset], registry=cfg,
                          batch_size=batch_size, max_input_length=recipe.max_input_length,
                          plots=plots, max_dev_examples=max_dev_examples)
    results = {
        "checkpoint": model.source, "dataset": dataset, "cluster": cluster,
        "model_type": model.model_type, "recipe": dataclasses.asdict(recipe),
        "num_train_examples": tuned.num_train_examples, "steps": tuned.step,
        "final_loss": tuned.final_loss, "prompt": "prompt.npy",
        "entries": {name: {"primary": ev["primary"][name], "score": ev["scores"][name],
                           "stat_metric": ev["results"][name].get("stat_metric"),
                           "file": _relative(ev["files"].get(name), out_dir),
                           "examples": _relative(ev["example_files"].get(name), out_dir)}
                    for name in ev["datasets"]},
        "summary": ev["summary"],
    }
    write_json(Path(out_dir) / "results.json", results)
    return {**results, "elapsed_s": time.time() - t0}


def _relative(path, out_dir) -> str | None:
    """Paths in results.json are relative to DIR, so a moved run folder still reads."""
    return None if path is None else os.path.relpath(path, out_dir)
