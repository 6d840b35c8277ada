"""Evaluate a model on a held-out cluster, FLAN style: every dataset, every template.

For each reported dataset of the cluster (`cfg.catalogue.eval_datasets(cluster)`, the
catalogue of the registry config's suite: the evaluator treats every suite alike), each
result entry (a dataset, or one direction of a translation dataset) is evaluated by
`dataset_eval` (prompts, splits, scoring, metrics, calibration, per-example records);
the cluster number is the average over its reported datasets (both modes:
`aggregate.summarize_cluster`). This module checks and loads the checkpoint before any
data work, runs the entries and writes the files.

Files (OUT = out_dir), one folder per result entry, ':' written as '.':
  OUT/<dataset>/<format>_<k>shot.json             everything below, plain JSON
  OUT/<dataset>/<format>_<k>shot.examples.jsonl   one line per (template, test example)
  OUT/<dataset>/<format>_<k>shot_reliability.png  pooled test reliability diagram
                                                   (classification only)
  OUT/<cluster>_<format>_<k>shot.json             the cluster summary
JSON keys of a dataset file: dataset, entry, direction, cluster, format, shots,
checkpoint, kind, metrics, primary, templates, best_dev_unavailable (why, or null),
num_examples, per_template
{test, validation}, summary (aggregate.DatasetSummary), score {mean, best_dev},
calibration {pooled, per_template} (null for generation), predictions (the first N
test examples of every template, with option scores / generation log-prob),
stat_metric, settings. NaN metrics (e.g. a correlation of constant predictions) are
written as null. The `.examples.jsonl` lines are the per-example records described in
`dataset_eval`.

Determinism: examples, templates and few-shot exemplars are seeded by the registry;
batches are formed in a fixed order and jax on CPU is deterministic, so the same
inputs give byte-identical JSON (no timings or dates are written).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from flan_repro.evaluate import aggregate, calibration as calib
from flan_repro.evaluate.dataset_eval import (DEFAULT_NUM_PREDICTIONS, EvalSettings,
                                              evaluate_result_entry, result_entries)
from flan_repro.model.loading import as_loaded_model

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- files
def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    return x


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_jsonable(obj), indent=1, sort_keys=False, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


def write_jsonl(path: Path, rows: Sequence[dict]) -> Path:
    """One JSON object a line, written whole or not at all (a killed run leaves none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        for row in rows:
            f.write(json.dumps(_jsonable(row), allow_nan=False) + "\n")
    tmp.replace(path)
    return path


def read_jsonl(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def dataset_dir(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / name.replace(":", ".")


def result_stem(fmt: str, shots: int) -> str:
    return f"{fmt}_{shots}shot"


# --------------------------------------------------------------------------- the API
def evaluate_cluster(checkpoint, cluster: str, fmt: str = "instruction", shots: int = 0,
                     out_dir: str | Path | None = None, max_examples: int | None = None, *,
                     datasets: Sequence[str] | None = None, registry=None, vocab=None,
                     batch_size: int = 16, max_input_length: int = 1024,
                     max_decode_length: int = 64, length_normalized: bool = False,
                     num_predictions: int = DEFAULT_NUM_PREDICTIONS,
                     num_bins: int = calib.DEFAULT_NUM_BINS, plots: bool = True,
                     max_dev_examples: int | None = None) -> dict:
    """Evaluates `checkpoint` on the reported datasets of held-out `cluster`.

    checkpoint: a model dir, "hf:DIR", "t5x:DIR", a `LoadedModel` (with a soft prompt:
      prompt tuning's model-prompt pair), or an in-memory (config, params) pair (no
      reload). It is checked and loaded before any data work.
    datasets: a subset of the cluster's reported registry entries (default: all).
    registry: the RegistryConfig (data_dir, templates, seed, vocabulary); default
      `flan_repro.registry.current()`. vocab: default the registry's vocabulary.
    max_examples: at most this many examples per split and template (fast toy runs).
    max_dev_examples: a smaller cap for the dev split, which only picks the best-dev
      template (the test split is what the intervals are about); None: max_examples.
    Returns {"cluster", "format", "shots", "checkpoint", "datasets", "results"
    {name: dataset dict as written}, "records" {name: per-example records}, "summary"
    {"mean", "best_dev"} (ClusterSummary dicts), "files", "example_files", "elapsed_s"};
    writes the files of the module doc when out_dir is set.
    """
    t0 = time.time()
    from flan_repro.evaluate.generation import Generator
    from flan_repro.evaluate.scoring import Scorer
    from flan_repro.registry.config import current
    cfg = registry or current()
    cat = cfg.catalogue
    cat.cluster(cluster)
    cat.check_format(fmt)
    if not 0 <= shots <= cfg.max_shots:
        raise ValueError(f"shots must be between 0 and {cfg.max_shots}, got {shots}")
    if max_examples is not None and max_examples < 1:
        raise ValueError(f"max_examples must be positive, got {max_examples}")
    reported = cat.eval_datasets(cluster)
    with_exemplars = cat.eval_datasets(cluster, shots)
    entries = list(datasets) if datasets else with_exemplars
    bad = [d for d in entries if d not in reported]
    if bad:
        raise ValueError(f"datasets {bad} are not reported for cluster {cluster!r} "
                         f"(reported: {', '.join(reported)})")
    no_train = [d for d in entries if d not in with_exemplars]
    if no_train:
        raise ValueError(f"datasets {no_train} have no train split to draw {shots}-shot "
                         f"exemplars from (FLAN never takes them from the scored split): "
                         f"evaluate them with shots=0")
    # FLAN has no few-shot numbers for these; the row's average is over the others
    zero_shot_only = [d for d in reported if d not in with_exemplars] if not datasets else []
    if zero_shot_only:
        log.warning("%s, %d-shot: %s left out (no train split to draw exemplars from); the "
                    "cluster average is over the other datasets", cluster, shots,
                    ", ".join(zero_shot_only))
    # the checkpoint first: a typo must fail before any data work
    model = as_loaded_model(checkpoint)
    source = model.source if not isinstance(checkpoint, str) else checkpoint
    vocab = vocab if vocab is not None else cfg.vocab
    scorer = Scorer(model, vocab, batch_size=batch_size, max_input_length=max_input_length)
    generator = Generator(model, vocab, batch_size=batch_size, max_input_length=max_input_length,
                          max_decode_length=max_decode_length)
    if max_dev_examples is not None and max_dev_examples < 1:
        raise ValueError(f"max_dev_examples must be positive, got {max_dev_examples}")
    st = EvalSettings(fmt=fmt, shots=shots, max_examples=max_examples,
                      max_dev_examples=max_dev_examples,
                      length_normalized=length_normalized, num_predictions=num_predictions,
                      num_bins=num_bins, batch_size=batch_size, max_input_length=max_input_length,
                      max_decode_length=max_decode_length)
    settings = {**dataclasses.asdict(st), "data_dir": cfg.data_dir, "templates": cfg.templates,
                "vocabulary": cfg.vocabulary, "seed": cfg.seed,
                "few_shot_budget": cfg.input_budget, "model_type": model.model_type}
    if model.prompt is not None:       # a prompt-tuned (model, prompt) pair
        settings["prompt_length"] = int(model.prompt.shape[-2])
    results: dict[str, dict] = {}
    records: dict[str, list[dict]] = {}
    files: dict[str, str] = {}
    example_files: dict[str, str] = {}
    stem = result_stem(fmt, shots)
    for entry in entries:
        for res in result_entries(cfg, entry, fmt):
            t1 = time.time()
            r = evaluate_result_entry(res, cfg, scorer, generator, st, cluster, str(source))
            r["settings"] = settings
            records[res.name] = r.pop("records")
            results[res.name] = r
            log.info("%s: %s %.4g (mean over %d templates), %.1fs", res.name, r["primary"],
                     r["score"]["mean"], len(r["templates"]), time.time() - t1)
            if out_dir is not None:
                folder = dataset_dir(Path(out_dir), res.name)
                files[res.name] = str(write_json(folder / f"{stem}.json", r))
                example_files[res.name] = str(write_jsonl(folder / f"{stem}.examples.jsonl",
                                                          records[res.name]))
                if plots and r["calibration"] is not None:
                    pooled = _calibration_from_dict(r["calibration"]["pooled"])
                    calib.write_reliability_diagram(
                        pooled, folder / f"{stem}_reliability.png",
                        f"{res.name} ({fmt}, {shots}-shot, test, all templates)")
    names = list(results)
    summaries = {n: aggregate.DatasetSummary(**results[n]["summary"]) for n in names}
    summary = {mode: aggregate.summarize_cluster(cluster, summaries, names, mode).to_dict()
               for mode in aggregate.SCORE_MODES}
    out = {"cluster": cluster, "format": fmt, "shots": shots, "checkpoint": str(source),
           "datasets": names, "zero_shot_only": zero_shot_only, "summary": summary,
           "scores": {n: results[n]["score"] for n in names},
           "primary": {n: results[n]["primary"] for n in names},
           "calibration": {n: {k: results[n]["calibration"]["pooled"][k]
                               for k in ("ece", "mce", "brier")}
                           for n in names if results[n]["calibration"] is not None},
           "settings": settings}
    if out_dir is not None:
        files["cluster"] = str(write_json(Path(out_dir) / f"{cluster}_{stem}.json", out))
    return {**out, "results": results, "records": records, "files": files,
            "example_files": example_files, "elapsed_s": time.time() - t0}


def _calibration_from_dict(d: dict) -> calib.CalibrationResult:
    bins = tuple(calib.CalibrationBin(**b) for b in d["bins"])
    return calib.CalibrationResult(**{**d, "bins": bins})
