"""Fig. 10 (Sec. 4.5): is an instruction-tuned model a better start for prompt tuning?

For each SuperGLUE dataset of the catalogue a soft prompt is tuned on a frozen model
four ways: from the untuned base model and from the instruction-tuned (FLAN) model
whose mixture held out the dataset's cluster (so FLAN never saw the task's type), each
with 32 training examples and with the whole train split. Every (model, prompt) pair is
scored by the evaluator on the same test examples and templates, so the rows pair.

Stages (`runner.Stage`, run by `runner.run_stages`, each cached by its output):
  base model (shared with every ablation) -> one instruction-tuned model per held-out
  cluster the datasets need (OUT/models/heldout_<cluster>/DONE) -> one prompt-tuning run
  per (dataset, model, examples) (OUT/prompts/<dataset>/<model>_<32|all>/results.json)
  -> the report: OUT/figure10.md, figure10.json, figure10.png.

Settings: `Figure10Settings` and the prompt-tuning recipe (`PromptTuningConfig`) come
from gin/prompt_tuning/figure10_<profile>.gin; the ablation profile (`RunConfig`) gives
the base model, the trainer recipe and the registry. Intervals and the FLAN - base
comparisons are `evaluate.bootstrap`'s (paired: same examples, templates fixed).
The paper draws Fig. 10 without printing its numbers; tasks/paper_numbers.yaml holds
none, so the table has no paper column.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import gin

from flan_repro.ablation import runner
from flan_repro.ablation.profile import ROOT, RunConfig
from flan_repro.ablation.runner import Stage

if TYPE_CHECKING:      # the recipe imports jax; the CLI imports this module at start
    from flan_repro.prompt_tuning.train import PromptTuningConfig

log = logging.getLogger("flan_repro.ablation")

SETTINGS_DIR = ROOT / "gin" / "prompt_tuning"
MODELS = {"base": "untuned base", "flan": "instruction-tuned (cluster held out)"}


@gin.configurable
@dataclasses.dataclass(frozen=True)
class Figure10Settings:
    """The run set's size; the prompt-tuning recipe is `PromptTuningConfig`'s."""
    # the paper's SuperGLUE tasks (WSC as our wsc273); those missing from the catalogue
    # or without a train split are skipped with a note in the report
    datasets: tuple = ("bool_q", "cb", "copa", "multirc", "record", "rte", "wic", "wsc273")
    train_examples: tuple = (32, None)          # None: the whole train split
    tune_steps: int | None = None               # instruction tuning; None: the profile's
    eval_max_examples: int | None = None        # per split and template; None: all
    eval_max_dev_examples: int | None = None    # dev split (best-dev choice); None: as above


@dataclasses.dataclass(frozen=True)
class PromptRun:
    """One prompt-tuning run of the figure: a dataset, a starting model, a data size."""
    dataset: str
    cluster: str                 # the dataset's cluster, held out by the FLAN model
    model: str                   # a key of MODELS
    train_examples: int | None
    checkpoint: str
    out: Path

    @property
    def row(self) -> str:
        return row_name(self.model, self.train_examples)


def row_name(model: str, train_examples: int | None) -> str:
    return f"{model}_{'all' if train_examples is None else train_examples}"


def settings_path(profile: str) -> Path:
    from flan_repro.catalogue import UnknownNameError
    path = SETTINGS_DIR / f"figure10_{profile}.gin"
    if not path.exists():
        names = sorted(p.stem[len("figure10_"):] for p in SETTINGS_DIR.glob("figure10_*.gin"))
        raise UnknownNameError("Fig. 10 profile", profile, names,
                               hint="(gin/prompt_tuning/figure10_<profile>.gin)")
    return path


def load_settings(profile: str) -> tuple[Figure10Settings, PromptTuningConfig]:
    """The run set and the prompt-tuning recipe of `profile` (the ablation profile's name)."""
    from flan_repro import gin_config
    from flan_repro.prompt_tuning.train import PromptTuningConfig
    with gin_config.gin_scope([str(settings_path(profile))], []):
        return Figure10Settings(), PromptTuningConfig()


def select_datasets(settings: Figure10Settings, catalogue) -> tuple[list[str], dict[str, str]]:
    """(datasets to run, {skipped dataset: why})."""
    used, skipped = [], {}
    for d in settings.datasets:
        if d not in catalogue.datasets:
            skipped[d] = "not in the catalogue"
        elif "train" not in catalogue.datasets[d].splits:
            skipped[d] = "no train split to tune a prompt on"
        else:
            used.append(d)
    return used, skipped


def plan_figure10(run: RunConfig, settings: Figure10Settings, recipe: PromptTuningConfig,
                  out: Path) -> tuple[list[PromptRun], list[Stage]]:
    """The figure's prompt-tuning runs and the stages that produce them; nothing runs."""
    from flan_repro.prompt_tuning.run import prompt_tune
    from flan_repro.registry.mixtures import MixtureName
    cat = run.registry.catalogue
    datasets, _ = select_datasets(settings, cat)
    steps = settings.tune_steps or run.profile.finetune_steps
    base, stages = runner.base_stages(run)
    flan: dict[str, Path] = {}
    for d in datasets:
        cluster = cat.dataset(d).cluster
        if cluster in flan:
            continue
        flan[cluster] = mdir = out / "models" / f"heldout_{cluster}"
        mixture = str(MixtureName.held_out(cluster, "instruction"))
        stages.append(Stage(
            f"tune_heldout_{cluster}", f"tune instruction, {cluster} held out",
            lambda results, label, mdir=mdir, mixture=mixture: str(runner.train_model(
                mdir, mixture, steps, run, [f"train.init_from = '{base}'"], label)),
            done=mdir / "DONE", steps=steps, checkpoint=str(mdir), mixture=mixture))
    runs = []
    for d in datasets:
        cluster = cat.dataset(d).cluster
        for n in settings.train_examples:
            for model, checkpoint in (("base", base), ("flan", str(flan[cluster]))):
                pr = PromptRun(d, cluster, model, n, checkpoint,
                               out / "prompts" / d / row_name(model, n))
                runs.append(pr)

                def tune(results, label, pr=pr):
                    done = pr.out / "results.json"
                    if done.exists():
                        return json.loads(done.read_text())
                    return prompt_tune(
                        pr.checkpoint, pr.dataset, pr.out,
                        dataclasses.replace(recipe, train_examples=pr.train_examples),
                        registry=run.registry, max_examples=settings.eval_max_examples,
                        max_dev_examples=settings.eval_max_dev_examples, plots=False)
                stages.append(Stage(
                    f"prompt_{d}_{pr.row}", f"prompt-tune {MODELS[model]} model on {d}, "
                    f"{'all' if n is None else n} examples", tune,
                    done=pr.out / "results.json", checkpoint=checkpoint))
    return runs, stages


# --------------------------------------------------------------------------- report
def statistics(runs: list[PromptRun], results: dict[str, dict]) -> dict:
    """Per row and dataset: the score with its 95% interval; per data size: FLAN - base,
    paired, per dataset and over their average. `results`: results.json by row|dataset."""
    from flan_repro.evaluate import bootstrap
    from flan_repro.evaluate.runner import read_jsonl
    tables: dict[str, dict] = {}
    metrics: dict[str, str] = {}
    for pr in runs:
        for name, e in results[f"{pr.row}|{pr.dataset}"]["entries"].items():
            metrics[name] = e["primary"]
            tables.setdefault(pr.row, {})[name] = bootstrap.table_from_records(
                name, bootstrap.metric_combine(e["stat_metric"], e["primary"]),
                [read_jsonl(pr.out / e["examples"])])
    an = bootstrap.Analysis(tables)
    names = list(metrics)
    rows = {row: {"datasets": {n: an.dataset(row, n).to_dict() for n in names},
                  "average": an.cluster(row, names).to_dict()} for row in tables}
    sizes = list(dict.fromkeys(pr.train_examples for pr in runs))
    comparisons = [{"train_examples": n, "a": row_name("flan", n), "b": row_name("base", n),
                    "datasets": {d: an.compare(row_name("flan", n), row_name("base", n),
                                               [d]).to_dict() for d in names},
                    "average": an.compare(row_name("flan", n), row_name("base", n),
                                          names).to_dict()} for n in sizes]
    return {"metrics": metrics, "rows": rows, "comparisons": comparisons,
            "settings": {"replicates": an.B, "seed": an.seed, "level": 0.95,
                         "resampled": "test examples; templates fixed"}}


def _cell(e: dict) -> str:
    return f"{e['value']:.1f} [{e['ci95'][0]:.1f}, {e['ci95'][1]:.1f}]"


def table(stats: dict, clusters: dict[str, str], sizes: list) -> list[str]:
    rows = [row_name(m, n) for n in sizes for m in MODELS]
    heads = [f"{'base' if m == 'base' else 'FLAN'}, {'all' if n is None else n}"
             for n in sizes for m in MODELS]
    lines = ["| dataset (held-out cluster) | metric | " + " | ".join(heads) + " |",
             "|" + "---|" * (len(rows) + 2)]
    for d, metric in stats["metrics"].items():
        lines.append(f"| {d} ({clusters[d]}) | {metric} | " +
                     " | ".join(_cell(stats["rows"][r]["datasets"][d]) for r in rows) + " |")
    lines.append("| **average** | | " + " | ".join(_cell(stats["rows"][r]["average"])
                                                  for r in rows) + " |")
    lines += ["", "FLAN - base (paired bootstrap over the same test examples):", ""]
    for c in stats["comparisons"]:
        a = c["average"]
        lines.append(f"- {'all' if c['train_examples'] is None else c['train_examples']} "
                     f"train examples: {a['diff']:+.1f} [{a['ci95'][0]:+.1f}, "
                     f"{a['ci95'][1]:+.1f}], p = {a['p_value']:.3f}")
    return lines


def plot(path: Path, stats: dict, sizes: list, profile: str) -> None:
    """Grouped bars per dataset and the average: the four rows, 95% intervals."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    names = [*stats["metrics"], "average"]
    rows = [(n, m) for n in sizes for m in MODELS]
    x, width = np.arange(len(names)), 0.8 / len(rows)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names)), 4))
    for i, (n, m) in enumerate(rows):
        r = stats["rows"][row_name(m, n)]
        est = [r["datasets"][d] for d in names[:-1]] + [r["average"]]
        vals = np.array([e["value"] for e in est])
        err = np.array([[v - e["ci95"][0], e["ci95"][1] - v] for v, e in zip(vals, est)]).T
        ax.bar(x + i * width, vals, width, yerr=err, capsize=2, hatch="//" if n else None,
               color="tab:blue" if m == "flan" else "tab:gray",
               label=f"{'FLAN' if m == 'flan' else 'base'}, "
                     f"{'all' if n is None else n} examples")
    ax.set_xticks(x + width * (len(rows) - 1) / 2)
    ax.set_xticklabels(names, rotation=20, ha="right")
    ax.set_ylabel("prompt-tuned score (mean over templates; bars: 95% interval)")
    ax.set_title(f"Prompt tuning from the base vs the instruction-tuned model ({profile})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(out: Path, run: RunConfig, settings: Figure10Settings,
           recipe: PromptTuningConfig, runs: list[PromptRun], results: dict) -> str:
    """Writes OUT/figure10.{md,json,png}; returns the markdown."""
    _, skipped = select_datasets(settings, run.registry.catalogue)
    sizes = list(settings.train_examples)
    stats = statistics(runs, {f"{pr.row}|{pr.dataset}": results[f"prompt_{pr.dataset}_{pr.row}"]
                              for pr in runs})
    clusters = {name: pr.cluster for pr in runs
                for name in results[f"prompt_{pr.dataset}_{pr.row}"]["entries"]}
    lines = [f"Prompt tuning (Fig. 10), profile {run.profile.name}: a {recipe.prompt_length}-"
             f"token prompt, {recipe.steps} steps, on the frozen base model and on the model "
             f"instruction-tuned with the dataset's cluster held out. Score: mean over "
             f"templates, [95% interval]. The paper gives Fig. 10 as a figure only; "
             f"tasks/paper_numbers.yaml holds no numbers for it, so there is no paper column.",
             "", *table(stats, clusters, sizes)]
    if skipped:
        lines += ["", "Skipped: " + "; ".join(f"{d} ({why})" for d, why in skipped.items())]
    text = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    (out / "figure10.md").write_text(text + "\n")
    (out / "figure10.json").write_text(json.dumps({
        "profile": run.profile.name, "settings": dataclasses.asdict(settings),
        "recipe": dataclasses.asdict(recipe), "skipped": skipped,
        "runs": [{"dataset": pr.dataset, "cluster": pr.cluster, "model": pr.model,
                  "train_examples": pr.train_examples, "checkpoint": pr.checkpoint,
                  "out": str(pr.out)} for pr in runs],
        "statistics": stats, "table": lines}, indent=1, default=float))
    plot(out / "figure10.png", stats, sizes, run.profile.name)
    return text


def figure10(run: RunConfig, out: Path, settings: Figure10Settings | None = None,
             recipe: PromptTuningConfig | None = None) -> str:
    """Runs (or reads back) every stage of Fig. 10 and writes its report; returns the
    table. `settings` / `recipe` default to gin/prompt_tuning/figure10_<profile>.gin's."""
    if settings is None or recipe is None:
        loaded = load_settings(run.profile.name)
        settings, recipe = settings or loaded[0], recipe or loaded[1]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runner.prepare(run)
    runs, stages = plan_figure10(run, settings, recipe, out)
    stages.append(Stage("report", "report", lambda results, label: report(
        out, run, settings, recipe, runs, results)))
    log.info("figure 10: profile %s, %d stages (%d cached), output %s\n%s", run.profile.name,
             len(stages), sum(s.cached for s in stages), out,
             "\n".join("  " + line for line in runner.format_plan(stages)))
    return runner.run_stages(stages, out)["report"]
