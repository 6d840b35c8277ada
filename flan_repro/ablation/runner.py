"""`make ablation`: base model -> three tuned variants -> evaluations -> report.

Stages, each skipped when its output exists (so re-running is a no-op that reprints
the report, and an interrupted run resumes, losing at most one checkpoint interval):
  1. base     the profile's checkpoint, or a toy span-corruption pretraining run,
              cached by content and shared by every variant and every cluster;
  2. tune     one model per format (instruction, no_template, dataset_name), the same
              steps, seed and example order, only the prompt differs;
  3. eval     held-out datasets with instructions (the dataset-name model also with
              dataset-name prompts: the paper's four Fig. 8 rows), the untuned base
              model zero- and few-shot (with the profile's `base_eval_format`: by
              default `baseline`, the continuation prompts the paper gives an untuned
              LM), and `seen` rows on a few training datasets;
  4. report   report.md / report.csv / summary.json / figures (ablation.report).

`plan_ablation` lists the stages before anything runs, as data (`Stage`): the run prints
that plan (numbered, steps, what is cached), then executes the same list, announcing
each stage as `[3/17] tune no_template: 600 steps`; the number also labels the
training progress lines, so a long log says which run a `step 300/600` belongs to.

Everything a run reads comes in one `RunConfig` (profile + registry settings). The
registry is installed once, at the start (`prepare`); each training run parses its gin
in a scope of its own (`train_model`), and each evaluation is given the registry
(`evaluate_row`). `reproduce` builds its figures from the same public functions.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

from flan_repro.ablation.profile import AblationProfile, RunConfig
from flan_repro.catalogue import FORMATS, load

log = logging.getLogger("flan_repro.ablation")

# (row id, model, train format, eval format): the paper's Fig. 8 rows, FLAN last; before
# it Webson & Pavlick's (2022) negative control, the FLAN model given instructions of
# other tasks (an eval-only format), which every comparison pairs with the FLAN row.
TUNED_ROWS = (
    ("no_template", "no_template", "instruction"),
    ("dataset_name", "dataset_name", "instruction"),
    ("dataset_name", "dataset_name", "dataset_name"),
    ("instruction", "instruction", "shuffled_instruction"),
    ("instruction", "instruction", "instruction"),
)


@dataclasses.dataclass(frozen=True)
class Row:
    """The report row an evaluation stage feeds. A `merged` row (the seen rows) gathers
    several single-dataset evaluations, one stage each, so each is cached on its own."""
    variant: str
    train_format: str | None
    eval_format: str
    shots: int
    merged: bool = False


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of the ablation, known before anything runs, so that the printed plan and
    the execution are the same list.

    run(results, label): `results` holds the earlier stages' values by name (the report
    needs the evaluations), `label` is the numbered label (`[3/17] tune no_template`)
    a training stage passes on to its progress lines. `done` is the file whose existence
    means the work is on disk: a re-run's `run` only reads it back (None: the stage
    always does its work, as the report does)."""
    name: str                  # key in timings.json and the report's stage table
    label: str
    run: Callable[[dict, str], Any]
    done: Path | None = None
    steps: int | None = None   # training stages
    row: Row | None = None     # evaluation stages
    checkpoint: str | None = None   # the model a training stage writes or an eval scores
    mixture: str | None = None      # what a training stage trains on
    bindings: tuple = ()            # a training stage's gin beyond the profile's (the dry run)
    datasets: tuple = ()            # what an evaluation stage scores

    @property
    def cached(self) -> bool:
        return self.done is not None and self.done.exists()

    def describe(self) -> str:
        return f"{self.label}: {self.steps} steps" if self.steps else self.label


def prepare(run: RunConfig) -> None:
    """Installs the run's registry settings, once, before any stage: seqio's registries
    are process-wide and the trainer's input pipeline reads them. Also turns on JAX's
    persistent compilation cache."""
    from flan_repro.cache import enable_jax_compilation_cache
    from flan_repro.registry.config import set_current
    set_current(run.registry)
    enable_jax_compilation_cache()


def train_model(model_dir: Path, mixture: str, steps: int, run: RunConfig,
                bindings: list[str] = (), label: str = "") -> Path:
    """Trains `mixture` for `steps` steps into `model_dir` in this process, with the
    profile's trainer gin plus `bindings`; a finished run (DONE) is returned as it is, a
    started one resumes. `label` prefixes the progress lines.

    The gin config exists for this call only (`gin_config.gin_scope`): it neither sees
    the caller's bindings nor leaves its own for the next run. The data comes from the
    process-wide registry, which must be this run's (`prepare`)."""
    from flan_repro import gin_config
    from flan_repro.registry.config import current
    from flan_repro.train import trainer
    done = model_dir / "DONE"
    if done.exists():
        return model_dir
    if current() != run.registry:
        raise RuntimeError("the registry is not this run's: call runner.prepare(run) first")
    with gin_config.gin_scope(list(run.profile.train_gin),
                              training_bindings(model_dir, mixture, steps, bindings)):
        result = trainer.train(progress_label=label)
    if result.stopped_by_signal:
        raise KeyboardInterrupt(f"stopped by signal while training {model_dir}")
    done.write_text(json.dumps({"step": result.step, "loss": result.final_loss}))
    return model_dir


def training_bindings(model_dir: Path, mixture: str, steps: int,
                      bindings: list[str] = ()) -> list[str]:
    """A training stage's gin bindings on top of the profile's trainer gin (the run and
    the dry run parse the same)."""
    return [f"MODEL_DIR = '{model_dir}'", f"MIXTURE = '{mixture}'", f"TRAIN_STEPS = {steps}",
            *bindings]


def pretrain_bindings(prof: AblationProfile) -> list[str]:
    """The toy pretraining run's own lengths and batch (span corruption, not the recipe's)."""
    return [f"train.inputs_length = {prof.pretrain_inputs_length}",
            f"train.targets_length = {prof.pretrain_targets_length}",
            f"train.batch_size = {prof.pretrain_batch_size}"]


def _train_bindings(train_gin: tuple) -> str:
    """What the trainer gin binds, include structure and comments aside."""
    import gin
    from flan_repro import gin_config
    with gin_config.gin_scope(list(train_gin), []):
        text = gin.config_str()
    return "\n".join(line for line in text.splitlines()
                     if line.strip() and not line.startswith(("#", "import ")))


def toy_base_dir(run: RunConfig) -> Path:
    """Where the toy pretraining run of this profile lives: cached by content (what the
    trainer gin binds, the pretraining settings, the vocabulary), so every variant,
    cluster and output folder shares it."""
    from flan_repro.cache import cache_dir
    prof = run.profile
    key = hashlib.sha256(json.dumps({
        "train_config": _train_bindings(prof.train_gin),
        "steps": prof.pretrain_steps, "lengths": [prof.pretrain_inputs_length,
                                                   prof.pretrain_targets_length],
        "batch": prof.pretrain_batch_size,
        "vocab": str(run.registry.vocab.sentencepiece_model_file)}, sort_keys=True).encode())
    return cache_dir("base_models", f"toy-{key.hexdigest()[:12]}")


def base_model(run: RunConfig, label: str = "") -> str:
    """The base checkpoint: the profile's, or the cached toy pretraining run."""
    from flan_repro.registry import pretraining
    prof = run.profile
    if prof.base_checkpoint:
        return prof.base_checkpoint
    model_dir = toy_base_dir(run)
    train_model(model_dir, pretraining.TASK, prof.pretrain_steps, run, pretrain_bindings(prof),
                label=label)
    return str(model_dir)


def seen_datasets(prof: AblationProfile, cluster: str) -> list[str]:
    """A few classification datasets the tuned models were trained on."""
    cat = load(prof.suite)
    train = set(cat.train_datasets(cluster))
    picked = [d for d in prof.seen_datasets
              if d in train and d in cat.eval_datasets(cat.datasets[d].cluster)]
    return picked[: prof.num_seen]


def evaluate_row(row_file: Path, checkpoint: str, cluster: str, fmt: str, shots: int,
                 out: Path, run: RunConfig, datasets: list[str] | None = None) -> dict:
    """Evaluates `checkpoint` on `cluster`'s reported datasets (or `datasets` of them) and
    keeps what the report reads as `row_file`, which a re-run reads back instead.

    Per-example records and plots go to `out`; `row_file` lies at RUN/eval/rows/, and
    the example files it lists are relative to RUN, so a run folder can be moved."""
    if row_file.exists():
        return json.loads(row_file.read_text())
    from flan_repro.evaluate.runner import evaluate_cluster
    prof = run.profile
    res = evaluate_cluster(checkpoint, cluster, fmt=fmt, shots=shots, out_dir=out,
                           max_examples=prof.eval_max_examples, datasets=datasets,
                           registry=run.registry, max_dev_examples=prof.eval_max_dev_examples)
    keep = {k: res[k] for k in ("cluster", "format", "shots", "datasets", "zero_shot_only",
                                "summary", "scores",
                                "primary", "calibration")}
    keep["results"] = {n: {k: r.get(k) for k in ("primary", "stat_metric", "score", "templates",
                                                 "summary", "calibration")}
                       for n, r in res["results"].items()}
    run_dir = row_file.parents[2]        # RUN/eval/rows/<row>.json
    keep["example_files"] = {n: os.path.relpath(f, run_dir)
                             for n, f in res["example_files"].items()}
    row_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = row_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(keep, default=float))
    tmp.replace(row_file)
    return keep


def model_dir(out: Path, fmt: str, seed: int, shots: int = 0) -> Path:
    """A tuned variant's folder; seed 0 keeps the single-seed layout (models/<format>).
    A k-shot-tuned model (few-shot FLAN) has its own, models/<format>_<k>shot, so a k-shot
    run in the same output folder never resumes or reuses a zero-shot-tuned model."""
    return out / "models" / f"{fmt}{_shot_suffix(shots)}{_seed_suffix(seed)}"


def _shot_suffix(shots: int) -> str:
    return f"_{shots}shot" if shots else ""


def _seed_suffix(seed: int) -> str:
    return "" if seed == 0 else f"_seed{seed}"


def base_stages(run: RunConfig) -> tuple[str, list[Stage]]:
    """The base checkpoint and the stage that pretrains it: none when the profile names
    a checkpoint, else the cached toy pretraining run (shared by every plan)."""
    from flan_repro.registry import pretraining
    prof = run.profile
    if prof.base_checkpoint:
        return prof.base_checkpoint, []
    base_dir = toy_base_dir(run)
    return str(base_dir), [Stage("base_model", "pretrain base model",
                                 lambda results, label: base_model(run, label),
                                 done=base_dir / "DONE", steps=prof.pretrain_steps,
                                 checkpoint=str(base_dir), mixture=pretraining.TASK,
                                 bindings=tuple(pretrain_bindings(prof)))]


def plan_ablation(cluster: str, run: RunConfig, shots: int, out: Path,
                  formats: tuple[str, ...] = FORMATS, seeds: int = 1) -> list[Stage]:
    """Every stage of one ablation, in order; nothing runs.

    seeds: each variant is tuned `seeds` times (`train.seed`: data order and dropout;
    the base model is shared) and every tuned row is evaluated per seed; the report
    averages the seeds and its intervals include their spread. The seen rows use seed 0.
    shots k > 0: few-shot FLAN (Fig. 9), the variants are tuned on the k-shot mixture and
    their rows evaluated k-shot; the base rows and seen rows are as at k = 0.
    """
    from flan_repro.registry.mixtures import MixtureName
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    prof = run.profile
    cat = load(prof.suite)
    base, stages = base_stages(run)
    models = {(fmt, sd): model_dir(out, fmt, sd, shots)
              for sd in range(seeds) for fmt in formats}
    for (fmt, sd), mdir in models.items():
        seed_note = f" (seed {sd})" if seeds > 1 else ""
        mixture = str(MixtureName.held_out(cluster, fmt, shots=shots))
        bindings = (f"train.init_from = '{base}'", f"train.seed = {sd}")
        stages.append(Stage(
            f"tune_{fmt}{_shot_suffix(shots)}{_seed_suffix(sd)}",
            f"tune {fmt}{f', {shots}-shot' if shots else ''}{seed_note}",
            lambda results, label, mdir=mdir, mixture=mixture, b=bindings: str(train_model(
                mdir, mixture, prof.finetune_steps, run, list(b), label)),
            done=mdir / "DONE", steps=prof.finetune_steps, checkpoint=str(mdir),
            mixture=mixture, bindings=bindings))

    rows = out / "eval" / "rows"
    base_fmt = cat.check_format(prof.base_eval_format)
    for shot_count, name in ((0, "base"), (prof.baseline_few_shot, "base_few_shot")):
        row_file = rows / f"{name}_{base_fmt}.json"
        stages.append(Stage(
            f"eval_{name}", f"eval base model, {base_fmt} prompts, {shot_count}-shot",
            lambda results, label, f=row_file, s=shot_count, n=name: evaluate_row(
                f, base, cluster, base_fmt, s, out / "eval" / n, run),
            done=row_file, row=Row(name, None, base_fmt, shot_count), checkpoint=base,
            datasets=tuple(cat.eval_datasets(cluster, shot_count))))
    for sd in range(seeds):
        for model_fmt, train_fmt, eval_fmt in TUNED_ROWS:
            if model_fmt not in formats:
                continue
            name = f"{train_fmt}__eval_{eval_fmt}"
            row_file = rows / f"{name}_{shots}shot{_seed_suffix(sd)}.json"
            seed_note = f", seed {sd}" if seeds > 1 else ""
            stages.append(Stage(
                f"eval_{name}{_seed_suffix(sd)}",
                f"eval {train_fmt} model, {eval_fmt} prompts, {shots}-shot{seed_note}",
                lambda results, label, f=row_file, m=models[model_fmt, sd], e=eval_fmt,
                n=f"{name}{_seed_suffix(sd)}": evaluate_row(
                    f, str(m), cluster, e, shots, out / "eval" / n, run),
                done=row_file, row=Row(train_fmt, train_fmt, eval_fmt, shots),
                checkpoint=str(models[model_fmt, sd]),
                datasets=tuple(cat.eval_datasets(cluster, shots))))
    # seen rows: the tuned models (seed 0) and, for the calibration study, the base model
    for fmt in (*formats, "base"):
        checkpoint = base if fmt == "base" else str(models[fmt, 0])
        eval_fmt = base_fmt if fmt == "base" else fmt
        for d in seen_datasets(prof, cluster):
            row_file = rows / f"seen_{fmt}{'_' + base_fmt if fmt == 'base' else ''}_{d}.json"
            stages.append(Stage(
                f"seen_{fmt}_{d}", f"eval {fmt} model on seen {d}",
                lambda results, label, f=row_file, c=checkpoint, e=eval_fmt, fmt=fmt, d=d:
                evaluate_row(f, c, cat.datasets[d].cluster, e, 0, out / "eval" / f"seen_{fmt}",
                             run, datasets=[d]),
                done=row_file, row=Row(f"seen_{fmt}", None if fmt == "base" else fmt,
                                       eval_fmt, 0, merged=True), checkpoint=checkpoint,
                datasets=(d,)))

    def write_report(results, label):
        from flan_repro.ablation import report, significance
        timings = _read_timings(out)
        report_rows = rows_of(stages, results)
        records = significance.RunRecords(out)
        summary = report.summary(cluster, run, report_rows, timings, base,
                                 [str(m) for m in models.values()],
                                 significance.statistics_of_run(out, report_rows, records),
                                 significance.calibration_of_run(out, report_rows, records))
        report.write_all(out, summary)
        return summary
    stages.append(Stage("report", "report", write_report))
    return stages


def rows_of(stages: list[Stage], results: dict) -> list[dict]:
    """The report's rows from the evaluation stages' results, in plan order."""
    from flan_repro.ablation import report
    parts: dict[Row, list[dict]] = {}
    for st in stages:
        if st.row is not None:
            parts.setdefault(st.row, []).append(results[st.name])
    # a merged row gathers datasets; any other row with several parts has one per seed
    return [report.row(r.variant, r.train_format, r.eval_format, r.shots, report.merge(p))
            if r.merged else report.over_seeds([report.row(r.variant, r.train_format,
                                                            r.eval_format, r.shots, x)
                                                 for x in p])
            for r, p in parts.items()]


def format_plan(stages: list[Stage]) -> list[str]:
    """One line per stage, numbered as the run will announce it."""
    lines = [f"[{i}/{len(stages)}] {s.describe()}" for i, s in enumerate(stages, 1)]
    width = max(map(len, lines))
    return [f"{line:<{width}}  cached" if s.cached else line for line, s in zip(lines, stages)]


def _read_timings(out: Path) -> dict:
    f = out / "timings.json"
    return json.loads(f.read_text()) if f.exists() else {}


def run_stages(stages: list[Stage], out: Path) -> dict:
    """Runs the plan in order, announcing each stage; returns every stage's value by name.

    A cached stage still runs (it reads its outputs back, which the report needs) but
    is announced as skipped. A stage's first real run records its wall time in
    OUT/timings.json, which the report lists (the report itself is not timed)."""
    timings = _read_timings(out)
    results: dict[str, Any] = {}
    n = len(stages)
    for i, st in enumerate(stages, 1):
        label = f"[{i}/{n}] {st.label}"
        cached = st.cached
        log.info("[%d/%d] %s", i, n, f"{st.label}: cached, skipped" if cached else st.describe())
        t = time.time()
        results[st.name] = st.run(results, label)
        if st.done is not None and st.name not in timings:
            timings[st.name] = round(time.time() - t, 1)
            (out / "timings.json").write_text(json.dumps(timings, indent=1))
        if not cached and st.done is not None:
            log.info("%s done in %.1fs", label, time.time() - t)
    return results


def run_ablation(cluster: str, run: RunConfig, shots: int = 0, out: str | Path | None = None,
                 formats: tuple[str, ...] = FORMATS, seeds: int = 1) -> dict:
    """All stages for one held-out cluster; returns the summary. `formats` limits the
    tuned variants (Fig. 5 needs only the instruction-tuned model); `seeds` tunes each
    variant that many times. Output in `out` (default runs/ablation_<cluster>_<profile>)."""
    prof = run.profile
    load(prof.suite).cluster(cluster)    # a bad name fails before any work
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    out = Path(out or f"runs/ablation_{cluster}_{prof.name}")
    out.mkdir(parents=True, exist_ok=True)
    prepare(run)
    stages = plan_ablation(cluster, run, shots, out, formats, seeds)
    cached = sum(s.cached for s in stages)
    log.info("ablation: %s held out, profile %s, %d stages (%d cached), output %s\n%s",
             cluster, prof.name, len(stages), cached, out,
             "\n".join("  " + line for line in format_plan(stages)))
    return run_stages(stages, out)["report"]
