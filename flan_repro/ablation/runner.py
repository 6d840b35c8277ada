"""`make ablation`: base model -> three tuned variants -> evaluations -> report.

Stages, each skipped when its output exists (so re-running is a no-op that reprints
the report, and an interrupted run resumes, losing at most one checkpoint interval):
  1. base     the profile's checkpoint, or a toy span-corruption pretraining run,
              cached by content and shared by every variant and every cluster;
  2. tune     one model per format (instruction, no_template, dataset_name), the same
              steps, seed and example order, only the prompt differs;
  3. eval     held-out datasets with instructions (the dataset-name model also with
              dataset-name prompts: the paper's four Fig. 8 rows), the untuned base
              model zero- and few-shot, and `seen` rows on a few training datasets;
  4. report   report.md / report.csv / summary.json / figures (ablation.report).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import gin

from flan_repro.ablation.profile import AblationProfile, ROOT
from flan_repro.catalogue import FORMATS, load

log = logging.getLogger("flan_repro.ablation")

# (row id, model, train format, eval format): the paper's Fig. 8 rows, FLAN last.
TUNED_ROWS = (
    ("no_template", "no_template", "instruction"),
    ("dataset_name", "dataset_name", "instruction"),
    ("dataset_name", "dataset_name", "dataset_name"),
    ("instruction", "instruction", "instruction"),
)


def _train(model_dir: Path, mixture: str, steps: int, prof: AblationProfile,
           extra: list[str]) -> Path:
    """One training run in this process (gin config scoped to it); resumes if started."""
    from flan_repro.registry.config import configure, configure_from_gin
    from flan_repro.train import command, trainer
    done = model_dir / "DONE"
    if done.exists():
        return model_dir
    gin.clear_config()
    command.parse_gin(list(prof.train_gin), [
        f"MODEL_DIR = '{model_dir}'", f"MIXTURE = '{mixture}'", f"TRAIN_STEPS = {steps}",
        *extra])
    saved = _registry_state()
    configure_from_gin()
    try:
        result = trainer.train()
    finally:
        configure(**saved)
        gin.clear_config()
    if result.stopped_by_signal:
        raise KeyboardInterrupt(f"stopped by signal while training {model_dir}")
    done.write_text(json.dumps({"step": result.step, "loss": result.final_loss}))
    return model_dir


def _registry_state() -> dict:
    from flan_repro.registry.config import current
    cur = current()
    return {f: getattr(cur, f) for f in cur.__dataclass_fields__}


def base_model(prof: AblationProfile) -> str:
    """The base checkpoint: the profile's, or the cached toy pretraining run."""
    if prof.base_checkpoint:
        return prof.base_checkpoint
    from flan_repro.cache import cache_dir
    from flan_repro.registry.config import current
    key = hashlib.sha256(json.dumps({
        "train_gin": [(ROOT / g).read_text() for g in prof.train_gin],
        "steps": prof.pretrain_steps, "lengths": [prof.pretrain_inputs_length,
                                                   prof.pretrain_targets_length],
        "batch": prof.pretrain_batch_size,
        "vocab": str(current().vocab.sentencepiece_model_file)}, sort_keys=True).encode())
    model_dir = cache_dir("base_models", f"toy-{key.hexdigest()[:12]}")
    _train(model_dir, "flan_toy_pretrain_span_corruption", prof.pretrain_steps, prof, [
        f"train.inputs_length = {prof.pretrain_inputs_length}",
        f"train.targets_length = {prof.pretrain_targets_length}",
        f"train.batch_size = {prof.pretrain_batch_size}"])
    return str(model_dir)


def seen_datasets(prof: AblationProfile, cluster: str) -> list[str]:
    """A few classification datasets the tuned models were trained on."""
    cat = load()
    train = set(cat.train_datasets(cluster))
    picked = [d for d in prof.seen_datasets
              if d in train and d in cat.eval_datasets(cat.datasets[d].cluster)]
    return picked[: prof.num_seen]


def _evaluate(row_file: Path, checkpoint, cluster: str, fmt: str, shots: int, out: Path,
              prof: AblationProfile, datasets=None) -> dict:
    """One evaluation, cached as a row file (re-runs read it back)."""
    if row_file.exists():
        return json.loads(row_file.read_text())
    from flan_repro.evaluate.runner import evaluate_cluster
    res = evaluate_cluster(checkpoint, cluster, fmt=fmt, shots=shots, out_dir=out,
                           max_examples=prof.eval_max_examples, datasets=datasets)
    keep = {k: res[k] for k in ("cluster", "format", "shots", "datasets", "summary", "scores",
                                "primary", "calibration")}
    keep["results"] = {n: {k: r.get(k) for k in ("primary", "score", "templates", "summary",
                                                 "calibration")}
                       for n, r in res["results"].items()}
    row_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = row_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(keep, default=float))
    tmp.replace(row_file)
    return keep


def run_ablation(cluster: str, profile: str = "toy", shots: int = 0,
                 out: str | Path | None = None, data_dir: str | None = None,
                 formats: tuple[str, ...] = FORMATS) -> dict:
    """All stages for one held-out cluster; `formats` limits the tuned variants (Fig. 5
    needs only the instruction-tuned model)."""
    from flan_repro.ablation import report
    from flan_repro.ablation.profile import load_profile
    from flan_repro.cache import enable_jax_compilation_cache
    from flan_repro.registry.config import configure
    cat = load()
    cat.cluster(cluster)                 # a bad name fails before any work
    prof = load_profile(profile)
    out = Path(out or f"runs/ablation_{cluster}_{profile}")
    out.mkdir(parents=True, exist_ok=True)
    configure(**dict(prof.registry), **({"data_dir": data_dir} if data_dir else {}))
    enable_jax_compilation_cache()
    timings = json.loads((out / "timings.json").read_text()) if (out / "timings.json").exists() \
        else {}

    def stage(name, fn):
        t = time.time()
        value = fn()
        if name not in timings:          # first (real) run of the stage keeps its time
            timings[name] = round(time.time() - t, 1)
            (out / "timings.json").write_text(json.dumps(timings, indent=1))
        log.info("stage %s done (%.1fs)", name, timings[name])
        return value

    base = stage("base_model", lambda: base_model(prof))
    models = {}
    for fmt in formats:
        models[fmt] = stage(f"tune_{fmt}", lambda fmt=fmt: str(_train(
            out / "models" / fmt, f"flan_heldout_{cluster}_{fmt}", prof.finetune_steps, prof,
            [f"train.init_from = '{base}'"])))

    rows = []
    evals = out / "eval"
    for shot_count, name in ((0, "base"), (prof.baseline_few_shot, "base_few_shot")):
        r = stage(f"eval_{name}", lambda s=shot_count, n=name: _evaluate(
            evals / "rows" / f"{n}.json", base, cluster, "instruction", s, evals / n, prof))
        rows.append(report.row(name, None, "instruction", shot_count, r))
    for model_fmt, train_fmt, eval_fmt in TUNED_ROWS:
        if model_fmt not in models:
            continue
        name = f"{train_fmt}__eval_{eval_fmt}"
        r = stage(f"eval_{name}", lambda m=model_fmt, e=eval_fmt, n=name: _evaluate(
            evals / "rows" / f"{n}_{shots}shot.json", models[m], cluster, e, shots,
            evals / n, prof))
        rows.append(report.row(train_fmt, train_fmt, eval_fmt, shots, r))
    seen = seen_datasets(prof, cluster)
    for fmt in formats:
        parts = []
        for d in seen:
            c = cat.datasets[d].cluster
            parts.append(stage(f"seen_{fmt}_{d}", lambda d=d, c=c, fmt=fmt: _evaluate(
                evals / "rows" / f"seen_{fmt}_{d}.json", models[fmt], c, fmt, 0,
                evals / f"seen_{fmt}", prof, datasets=[d])))
        if parts:
            rows.append(report.row(f"seen_{fmt}", fmt, fmt, 0, report.merge(parts)))

    summary = report.summary(cluster, prof, rows, timings, base)
    report.write_all(out, summary)
    return summary
