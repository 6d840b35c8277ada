"""Does instruction tuning change calibration? ECE / MCE / Brier of several models on the
same examples, with intervals and paired differences against a reference model.

Why this form: instruction-tuned LLMs are reported to be worse calibrated than their
bases, and a toy run's pooled ECE moves by several points from template to template
and sample to sample; a difference of two ECEs means something only with its paired
interval. Every model is scored on the same (template, example) pairs, so each
example contributes its templates' pooled calibration statistics
(`calibration.example_stats` summed over templates) and the bootstrap redraws
examples, the same ones for every model (`bootstrap.Analysis`).

Inputs are the evaluator's per-example records (classification datasets only):
models: {model name: {dataset: [records]}}. The reference model (the untuned base) is
the first unless named; every other model is compared with it on the reference's
datasets it was scored on (its `average` lists them). Outputs: `study()` -> a JSON-able dict; `markdown()` a report
section; `plot()` the figure (reliability curves of every model overlaid, one panel
per dataset, then ECE and MCE bars with 95% intervals).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from flan_repro.evaluate import bootstrap, calibration as calib

KEYS = calib.CALIBRATION_KEYS


def _pooled_table(dataset: str, key: str, records: Sequence[Mapping],
                  num_bins: int) -> bootstrap.ScoreTable:
    """[1, 1, examples, 3B+1]: each example's statistics summed over its templates."""
    by_example: dict = {}
    for r in records:
        by_example.setdefault(r["example_index"], []).append(r)
    ids = tuple(sorted(by_example))
    rows = []
    for i in ids:
        rs = by_example[i]
        st = calib.example_stats([r["confidence"] for r in rs], [r["correct"] for r in rs],
                                 [r["brier"] for r in rs], num_bins)
        rows.append(st.sum(axis=0))
    return bootstrap.ScoreTable(dataset, np.asarray(rows)[None, None], ids,
                                functools.partial(calib.combine, key))


def _has_calibration(records: Sequence[Mapping]) -> bool:
    return bool(records) and all("confidence" in r and "brier" in r and "correct" in r
                                 for r in records)


def study(models: Mapping[str, Mapping[str, Sequence[Mapping]]], reference: str | None = None,
          num_bins: int = calib.DEFAULT_NUM_BINS,
          replicates: int = bootstrap.DEFAULT_REPLICATES,
          seed: int = bootstrap.DEFAULT_SEED) -> dict:
    names = list(models)
    if not names:
        raise ValueError("no models to compare")
    reference = reference or names[0]
    if reference not in models:
        raise ValueError(f"reference model {reference!r} is not among {names}")
    datasets = [d for d in models[reference] if _has_calibration(models[reference][d])]
    # each model on the reference's datasets it was scored on (a seen dataset may be
    # scored with one model's own prompts only); averages and differences over those
    own = {m: [d for d in datasets if _has_calibration(models[m].get(d, ()))] for m in names}
    if not datasets or any(not own[m] for m in names):
        raise ValueError("no classification dataset was scored by every model "
                         "(calibration needs rank-classification records)")
    analyses = {}
    for key in KEYS:
        tables = {m: {d: _pooled_table(d, key, models[m][d], num_bins) for d in own[m]}
                  for m in names}
        analyses[key] = bootstrap.Analysis(tables, replicates=replicates, seed=seed)
    out_models = {}
    for m in names:
        per = {}
        for d in own[m]:
            recs = models[m][d]
            res = calib.calibration_of_predictions([r["confidence"] for r in recs],
                                                   [r["correct"] for r in recs],
                                                   [r["brier"] for r in recs], num_bins)
            entry = {"n_examples": len({r["example_index"] for r in recs}),
                     "n_scored": res.n, "accuracy": res.accuracy,
                     "mean_confidence": res.mean_confidence,
                     "bins": [b.__dict__ for b in res.bins]}
            for key in KEYS:
                est = analyses[key].dataset(m, d)
                entry[key] = est.value
                entry[f"{key}_ci95"] = list(est.ci95)
            if m != reference:
                c = analyses["ece"].compare(m, reference, [d])
                entry["ece_diff_vs_reference"] = c.to_dict()
            per[d] = entry
        avg = {"datasets": own[m]}
        for key in KEYS:
            est = analyses[key].cluster(m, own[m])
            avg[key], avg[f"{key}_ci95"] = est.value, list(est.ci95)
        if m != reference:
            avg["ece_diff_vs_reference"] = analyses["ece"].compare(m, reference,
                                                                   own[m]).to_dict()
        out_models[m] = {"datasets": per, "average": avg}
    return {"reference": reference, "models": out_models, "datasets": datasets,
            "num_bins": num_bins, "mce_min_bin_count": calib.MCE_MIN_BIN_COUNT,
            "replicates": replicates, "seed": seed,
            "pooling": "all templates of an example pooled; examples redrawn, the same "
                       "ones for every model"}


def _f(x, scale=100.0) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{scale * x:.1f}"


def _ci(v, ci, scale=100.0) -> str:
    if ci is None or any(c is None or np.isnan(c) for c in ci):
        return _f(v, scale)
    return f"{_f(v, scale)} [{_f(ci[0], scale)}, {_f(ci[1], scale)}]"


def markdown(s: dict, title: str = "Calibration", titles: Mapping[str, str] | None = None
             ) -> list[str]:
    titles = titles or {}
    ref = s["reference"]
    lines = [f"## {title}", "",
             f"ECE, MCE (points, 0-100) and Brier (x100) of the options' softmax, all templates "
             f"pooled, {s['num_bins']} bins; MCE only over bins holding at least "
             f"{s['mce_min_bin_count']} examples (— when none does). 95% intervals redraw the "
             f"examples ({s['replicates']} replicates); `ΔECE` is the model's ECE minus that of "
             f"*{titles.get(ref, ref)}* on the same examples, paired.", "",
             "| model | dataset | accuracy | ECE | MCE | Brier | ΔECE vs reference | p |",
             "|---|---|---|---|---|---|---|---|"]
    for m, mv in s["models"].items():
        for d in [*s["datasets"], "average"]:
            if d != "average" and d not in mv["datasets"]:
                continue
            e = mv["average"] if d == "average" else mv["datasets"][d]
            diff = e.get("ece_diff_vs_reference")
            dtxt = "—" if not diff else (
                f"{100 * diff['diff']:+.1f} [{100 * diff['ci95'][0]:+.1f}, "
                f"{100 * diff['ci95'][1]:+.1f}]" + (" *" if diff["significant"] else ""))
            lines.append(f"| {titles.get(m, m)} | {d} | {_f(e.get('accuracy'))} | "
                         f"{_ci(e['ece'], e['ece_ci95'])} | {_ci(e['mce'], e['mce_ci95'])} | "
                         f"{_ci(e['brier'], e['brier_ci95'])} | {dtxt} | "
                         f"{'—' if not diff else format(diff['p_value'], '.3f')} |")
    lines += ["", "`*`: the 95% interval of the difference excludes 0."]
    return lines


def plot(path: str | Path, s: dict, title: str, titles: Mapping[str, str] | None = None
         ) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415
    titles = titles or {}
    datasets, models = s["datasets"], list(s["models"])
    panels = len(datasets) + 2
    cols = min(panels, 4)
    rows = -(-panels // cols)
    fig = Figure(figsize=(3.6 * cols, 3.4 * rows), dpi=100)
    FigureCanvasAgg(fig)
    for i, d in enumerate(datasets):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=1)
        for m in models:
            if d not in s["models"][m]["datasets"]:
                continue
            bins = [b for b in s["models"][m]["datasets"][d]["bins"] if b["count"]]
            ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins],
                    marker="o", markersize=3, label=titles.get(m, m))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_title(d, fontsize=9)
        ax.set_xlabel("confidence", fontsize=8)
        ax.set_ylabel("accuracy", fontsize=8)
        if i == 0:
            ax.legend(fontsize=6, loc="upper left")
    width = 0.8 / max(len(models), 1)
    x = np.arange(len(datasets) + 1)
    for j, key in enumerate(("ece", "mce")):
        ax = fig.add_subplot(rows, cols, len(datasets) + 1 + j)
        for k, m in enumerate(models):
            nan = {key: None, f"{key}_ci95": [None, None]}
            entries = [s["models"][m]["datasets"].get(d, nan) for d in datasets] + \
                [s["models"][m]["average"]]
            vals = np.array([100 * (e[key] if e[key] is not None else np.nan) for e in entries],
                            dtype=float)
            ci = np.array([[100 * c if c is not None else np.nan for c in e[f"{key}_ci95"]]
                           for e in entries], dtype=float)
            err = np.nan_to_num(np.abs(np.stack([vals - ci[:, 0], ci[:, 1] - vals])))
            ax.bar(x + k * width, np.nan_to_num(vals), width, yerr=err, capsize=2,
                   label=titles.get(m, m))
        ax.set_xticks(x + width * (len(models) - 1) / 2)
        ax.set_xticklabels([*datasets, "avg"], rotation=30, ha="right", fontsize=7)
        ax.set_title(f"{key.upper()} (95% interval)", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
