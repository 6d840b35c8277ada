"""Ablation results -> summary.json, report.md, report.csv and the Fig. 8-style plot.

One place turns an evaluation into a row of the report (`row`), and one place writes
every file from the summary (`write_all`), so `flan-repro report DIR` can rebuild
the files of any finished run and compare runs side by side.
"""
from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import yaml

from flan_repro.ablation import provenance
from flan_repro.ablation.profile import RunConfig
from flan_repro.catalogue import DEFAULT_SUITE, load, tasks_dir
from flan_repro.catalogue.tables import calibration_titles, row_titles

# row titles and the calibration study's model names (`significance.calibration_of_run`),
# declared in tasks/report.yaml
ROW_TITLES = row_titles()
CALIBRATION_TITLES = calibration_titles()


CALIBRATION_GROUPS = {"held_out": "held-out", "seen": "seen (training)"}


def calibration_figure(cluster: str, group: str) -> str:
    return f"figures/calibration_{cluster}.png" if group == "held_out" else \
        f"figures/calibration_{cluster}_{group}.png"


def row(variant: str, train_format: str | None, eval_format: str, shots: int, r: dict) -> dict:
    datasets = {}
    files = r.get("example_files") or {}
    for name, res in r["results"].items():
        s = res["summary"]
        primary = s["primary"]
        cal = (res.get("calibration") or {}).get("pooled") or {}
        per_t = {str(t): m[primary] for t, m in s["per_template"].items()}
        values = sorted(per_t.values())
        datasets[name] = {
            "metric": primary,
            "stat_metric": res.get("stat_metric"),
            "examples_files": [files.get(name)],        # one per seed
            "mean_over_templates": s["mean"][primary],
            "std_over_templates": s["std"].get(primary, 0.0),
            "template_spread": {"mean": s["mean"][primary],
                                "median": statistics.median(values),
                                "min": values[0], "max": values[-1],
                                "best_dev": (s.get("best_dev") or {}).get(primary)},
            "best_dev_template": s.get("best_dev_template"),
            "best_dev": (s.get("best_dev") or {}).get(primary),
            "per_template": per_t,
            "ece": cal.get("ece"), "mce": cal.get("mce"), "brier": cal.get("brier"),
        }
    title = ROW_TITLES.get(variant) or ROW_TITLES.get((train_format, eval_format)) or \
        f"Seen training tasks ({train_format} model, {eval_format} prompts)"
    out = {"variant": variant, "title": title, "train_format": train_format,
           "eval_format": eval_format, "shots": shots,
           "cluster_average": _cluster_average(datasets),
           "cluster_average_best_dev": r["summary"]["best_dev"]["average"]
           if r.get("summary") else None,
           "datasets": datasets}
    if r.get("zero_shot_only"):          # k-shot rows: datasets without exemplars to draw
        out["zero_shot_only"] = list(r["zero_shot_only"])
    return out


def over_seeds(rows: list[dict]) -> dict:
    """One row from the same row evaluated with several tuning seeds: every number is
    the mean over seeds (per template first, then the aggregates from those means), and
    the per-example records of every seed are kept for the intervals."""
    if len(rows) == 1:
        return {**rows[0], "seeds": 1}
    out = {**rows[0], "seeds": len(rows)}
    fmean = statistics.fmean

    def mean_of(key, ds):
        vals = [d[key] for d in ds]
        return None if any(v is None for v in vals) else fmean(vals)
    datasets = {}
    for name in rows[0]["datasets"]:
        ds = [r["datasets"][name] for r in rows]
        per_t = {t: fmean(d["per_template"][t] for d in ds) for t in ds[0]["per_template"]}
        values = sorted(per_t.values())
        datasets[name] = {
            **ds[0], "per_template": per_t,
            "mean_over_templates": fmean(per_t.values()),
            "std_over_templates": statistics.stdev(values) if len(values) > 1 else 0.0,
            "best_dev": mean_of("best_dev", ds),
            "template_spread": {"mean": fmean(values), "median": statistics.median(values),
                                "min": values[0], "max": values[-1],
                                "best_dev": mean_of("best_dev", ds)},
            "per_seed": [d["mean_over_templates"] for d in ds],
            "ece": mean_of("ece", ds), "mce": mean_of("mce", ds), "brier": mean_of("brier", ds),
            "examples_files": [f for d in ds for f in d["examples_files"]]}
    out["datasets"] = datasets
    out["cluster_average"] = _cluster_average(datasets)
    best = [r["cluster_average_best_dev"] for r in rows]
    out["cluster_average_best_dev"] = None if None in best else fmean(best)
    out["cluster_average_per_seed"] = [r["cluster_average"] for r in rows]
    return out


def _cluster_average(datasets: dict) -> float | None:
    """The evaluator's cluster average (`aggregate.cluster_average`) of the row's means."""
    from flan_repro.evaluate.aggregate import cluster_average
    means = {n: d["mean_over_templates"] for n, d in datasets.items()}
    return cluster_average(means) if means else None


def merge(parts: list[dict]) -> dict:
    """Several single-dataset evaluations as one (the `seen` rows)."""
    out = {"results": {}, "summary": None, "example_files": {}}
    for p in parts:
        out["results"].update(p["results"])
        out["example_files"].update(p.get("example_files") or {})
    best = [p["summary"]["best_dev"]["average"] for p in parts if p.get("summary")]
    if best:
        out["summary"] = {"best_dev": {"average": statistics.fmean(best)}}
    return out


def paper_numbers() -> dict:
    with open(tasks_dir() / "paper_numbers.yaml") as f:
        return yaml.safe_load(f)


def summary(cluster: str, run: RunConfig, rows: list[dict], timings: dict, base: str,
            tuned: list[str] | tuple = (), significance: dict | None = None,
            calibration: dict | None = None) -> dict:
    """run: the run's `RunConfig`; base / tuned: the base checkpoint and the tuned model
    dirs (for the provenance block); significance: `ablation.significance.add_statistics`'s
    result (the rows then carry their intervals)."""
    prof = run.profile
    sig = significance or {}
    return {"cluster": cluster, "suite": prof.suite, "profile": prof.name,
            "model": {"train_gin": list(prof.train_gin), "base": base,
                      "finetune_steps": prof.finetune_steps},
            "data_dir": run.registry.data_dir,
            "provenance": provenance.of_run(run.registry, base, tuned),
            "wall_seconds": round(sum(timings.values()), 1), "stage_seconds": timings,
            "rows": rows, "statistics": sig.get("settings"),
            "comparisons": sig.get("comparisons", []), "calibration_study": calibration,
            "paper": paper_numbers() if prof.suite == DEFAULT_SUITE else None}


def _fmt(x, digits=1):
    return "—" if x is None else f"{x:.{digits}f}"


def _ci(value, ci) -> str:
    if value is None:
        return "—"
    return _fmt(value) if not ci else f"{_fmt(value)} [{_fmt(ci[0])}, {_fmt(ci[1])}]"


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def comparison_lines(s: dict) -> list[str]:
    """The paired comparisons, each stated plainly as significant at 95% or not."""
    comps = s.get("comparisons") or []
    if not comps:
        return []
    st = s.get("statistics") or {}
    lines = ["", "## Is the difference real? (paired, same examples and templates)", "",
             f"Difference of cluster averages, FLAN minus the other row, with a 95% interval "
             f"({st.get('interval', 'bootstrap')}, {st.get('replicates', '?')} replicates, "
             f"resampling {st.get('resampled', 'examples')}) and a two-sided p-value. "
             f"`detectable` is the smallest difference this run would find 80% of the time.",
             "", "| FLAN vs | shots | difference | 95% interval | p | detectable | verdict |",
             "|---|---|---|---|---|---|---|"]
    for c in comps:
        verdict = ("**significant**: FLAN higher" if c["diff"] > 0 else
                   "**significant**: FLAN lower") if c["significant"] else             "not significant at 95%"
        lines.append(f"| {c['b_title']} | {c['a']['shots']} | {_signed(c['diff'])} | "
                     f"[{_signed(c['ci95'][0])}, {_signed(c['ci95'][1])}] | "
                     f"{c['p_value']:.3f} | {c['min_detectable']:.1f} | {verdict} |")
    return lines


def paper_lines(s: dict, main: list[dict]) -> list[str]:
    """The paper's numbers beside ours; none for a suite the paper did not run (the
    positive control's summary has no `paper`).

    Fig. 8's values average four held-out clusters, so beside one cluster's run they are
    a reference for the order of the rows, not the same quantity; the number comparable
    to this run's FLAN row is the paper's own for this cluster (Fig. 1), where it gives one."""
    if not s.get("paper"):
        return []
    paper = s["paper"]["role_of_instructions"]
    cat = load(s.get("suite", DEFAULT_SUITE))
    fig8 = ", ".join(cat.cluster(c).display_name for c in cat.role_of_instructions)
    lines = ["", "## Beside the paper", "",
             f"Paper: {paper['source']} ({paper['metric']}, FLAN 137B), an average over "
             f"{len(cat.role_of_instructions)} held-out clusters ({fig8}: our reading of the "
             f"sources, see tasks/clusters.yaml), not this cluster's numbers: "
             f"compare the order of the rows, not the values (`make reproduce FIGURE=8` "
             f"computes the same average).", "",
             f"| row | paper, {len(cat.role_of_instructions)}-cluster average | "
             f"ours, {s['cluster']} only |", "|---|---|---|"]
    for p in paper["rows"]:
        ours = next((r["cluster_average"] for r in main if r["train_format"] == p["train_format"]
                     and r["eval_format"] == p["eval_format"] and r["shots"] == 0), None)
        lines.append(f"| {p['name']} | {p['value']:.1f} | {_fmt(ours)} |")
    cz = s["paper"]["cluster_zero_shot"]
    own = cz["clusters"].get(s["cluster"])
    if own:
        flan = next((r["cluster_average"] for r in main if r["shots"] == 0 and
                     (r["train_format"], r["eval_format"]) == ("instruction", "instruction")),
                    None)
        lines += ["", f"The paper's own numbers for {s['cluster']} held out ({cz['source']}; "
                  f"{cz['metric']}): " + ", ".join(f"{k} {v}" for k, v in own.items()) +
                  f". Ours, FLAN row: {_fmt(flan)}."]
    else:
        lines += ["", f"The paper's per-cluster numbers we keep (tasks/paper_numbers.yaml, "
                  f"{cz['source']}) do not include {s['cluster']}."]
    return lines


def _base_prompt_lines(main: list[dict]) -> list[str]:
    """Says how the untuned base rows were prompted (the paper: continuation prompts)."""
    fmt = next((r["eval_format"] for r in main if r["train_format"] is None), None)
    if fmt is None:
        return []
    how = ("text a plain LM would continue, no instruction and no options list, each option "
           "scored as the continuation (how the paper prompts its untuned model; the prompt "
           "set is under Provenance)." if fmt == "baseline" else
           "the profile's `base_eval_format`, not the paper's continuation prompts.")
    return [f"The untuned base rows use `{fmt}` prompts: {how}", ""]


def markdown(s: dict) -> str:
    cat = load(s.get("suite", DEFAULT_SUITE))
    main = [r for r in s["rows"] if not r["variant"].startswith("seen_")]
    seen = [r for r in s["rows"] if r["variant"].startswith("seen_")]
    names = list(main[0]["datasets"]) if main else []
    lines = [f"# FLAN ablation: {cat.cluster(s['cluster']).display_name} held out",
             "",
             f"Profile `{s['profile']}`, data `{s['data_dir']}`, base model `{s['model']['base']}`,"
             f" {s['model']['finetune_steps']} tuning steps. Wall time {s['wall_seconds']:.0f} s.",
             "",
             "Scores: the dataset's primary metric, mean over templates, with its 95% "
             "interval in brackets (bootstrap over the test examples; `n` examples per "
             "template); `avg` is the cluster average, `best-dev` the average when each "
             "dataset uses the template that was best on its dev split.", "",
             *_base_prompt_lines(main),
             "| row | train format | eval prompts | shots | " + " | ".join(names) +
             " | avg | best-dev |",
             "|" + "---|" * (len(names) + 6)]
    for r in main:
        cells = [_ci(r["datasets"][n]["mean_over_templates"], r["datasets"][n].get("ci95"))
                 if n in r["datasets"] else "—" for n in names]
        lines.append(f"| {r['title']} | {r['train_format'] or '—'} | {r['eval_format']} | "
                     f"{r['shots']} | " + " | ".join(cells) +
                     f" | {_ci(r['cluster_average'], r.get('cluster_average_ci95'))} | "
                     f"{_fmt(r['cluster_average_best_dev'])} |")
    if main and main[0]["datasets"]:
        ns = {n: d.get("n") for n, d in main[0]["datasets"].items()}
        lines += ["", "Examples per template (n): " + ", ".join(f"{n} {v}" for n, v in ns.items())
                  + "."]
        flan = next((r for r in main if (r["train_format"], r["eval_format"]) ==
                     ("instruction", "instruction") and r.get("cluster_average_ci95")), None)
        if flan:
            lo, hi = flan["cluster_average_ci95"]
            lines.append(f"The FLAN row's cluster average is known to ±{(hi - lo) / 2:.1f} "
                         f"points (half-width of its 95% interval).")
    for r in main:
        if r.get("zero_shot_only"):
            lines.append(f"{r['title']} ({r['shots']}-shot) leaves out "
                         f"{', '.join(r['zero_shot_only'])}: no train split to draw exemplars "
                         f"from (FLAN never takes them from the scored split); its average is "
                         f"over the other datasets.")
    lines += comparison_lines(s)
    lines += ["", "## Spread over templates", "",
              "Per dataset: median over templates (min – max); best-dev is the test score of "
              "the template best on the dev split.", "",
              "| row | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for r in main:
        cells = []
        for n in names:
            sp = r["datasets"].get(n, {}).get("template_spread")
            cells.append("—" if not sp else f"{_fmt(sp['median'])} ({_fmt(sp['min'])} – "
                         f"{_fmt(sp['max'])}); best-dev {_fmt(sp['best_dev'])}")
        lines.append(f"| {r['title']} ({r['shots']}-shot) | " + " | ".join(cells) + " |")
    if seen:
        lines += ["", "## Seen training tasks (did training work?)", "",
                  "| model | " + " | ".join(seen[0]["datasets"]) + " | avg |",
                  "|" + "---|" * (len(seen[0]["datasets"]) + 2)]
        for r in seen:
            lines.append(f"| {r['train_format'] or 'untuned base'} | " + " | ".join(
                _ci(d["mean_over_templates"], d.get("ci95")) for d in r["datasets"].values()) +
                f" | {_ci(r['cluster_average'], r.get('cluster_average_ci95'))} |")
    studies = s.get("calibration_study")
    if studies:
        from flan_repro.evaluate import calibration_study
        for group, what in CALIBRATION_GROUPS.items():
            if group in studies:
                lines += [""] + calibration_study.markdown(
                    studies[group], f"Calibration on the {what} datasets: does instruction "
                                    f"tuning change it?", CALIBRATION_TITLES)
                lines += ["", f"![calibration]({calibration_figure(s['cluster'], group)})"]
    else:
        lines += ["", "## Calibration of the held-out rows (pooled over templates)", "",
                  "| row | dataset | ECE | MCE | Brier |", "|---|---|---|---|---|"]
        for r in main:
            for n, d in r["datasets"].items():
                if d["ece"] is not None:
                    lines.append(f"| {r['title']} | {n} | {_fmt(d['ece'], 3)} | "
                                 f"{_fmt(d['mce'], 3)} | {_fmt(d['brier'], 3)} |")
    lines += paper_lines(s, main)
    lines += provenance.markdown_lines(s.get("provenance"))
    lines += ["", "## Stage wall times (s)", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in s["stage_seconds"].items()]
    lines += ["", f"![ablation](figures/ablation_{s['cluster']}.png)", ""]
    return "\n".join(lines)


def write_csv(path: Path, s: dict) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "train_format", "eval_format", "shots", "dataset", "metric",
                    "mean_over_templates", "ci95_low", "ci95_high", "n",
                    "std_over_templates", "best_dev_template", "best_dev", "ece", "mce",
                    "brier"])
        for r in s["rows"]:
            for n, d in r["datasets"].items():
                ci = d.get("ci95") or [None, None]
                w.writerow([r["variant"], r["train_format"] or "", r["eval_format"], r["shots"],
                            n, d["metric"], d["mean_over_templates"], ci[0], ci[1], d.get("n"),
                            d["std_over_templates"], d["best_dev_template"], d["best_dev"],
                            d["ece"], d["mce"], d["brier"]])


def plot(path: Path, s: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    main = [r for r in s["rows"] if not r["variant"].startswith("seen_") and r["shots"] == 0]
    names = list(main[0]["datasets"]) + ["average"]
    x = np.arange(len(names))
    width = 0.8 / max(len(main), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(names)), 4))
    for i, r in enumerate(main):
        vals = [r["datasets"][n]["mean_over_templates"] for n in names[:-1]] + \
            [r["cluster_average"]]
        cis = [r["datasets"][n].get("ci95") for n in names[:-1]] + \
            [r.get("cluster_average_ci95")]
        err = np.array([[v - c[0], c[1] - v] if c else [0, 0] for v, c in zip(vals, cis)]).T
        ax.bar(x + i * width, vals, width, yerr=err, capsize=2, label=r["title"])
    ax.set_xticks(x + width * (len(main) - 1) / 2)
    ax.set_xticklabels(names, rotation=20, ha="right")
    ax.set_ylabel("score (mean over templates; bars: 95% interval)")
    ax.set_title(f"{load(s.get('suite', DEFAULT_SUITE)).cluster(s['cluster']).display_name} "
                 f"held out ({s['profile']})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(out: Path, s: dict) -> None:
    out = Path(out)
    (out / "summary.json").write_text(json.dumps(s, indent=1, default=float))
    (out / "report.md").write_text(markdown(s))
    write_csv(out / "report.csv", s)
    plot(out / "figures" / f"ablation_{s['cluster']}.png", s)
    for group, study in (s.get("calibration_study") or {}).items():
        from flan_repro.evaluate import calibration_study
        calibration_study.plot(out / calibration_figure(s["cluster"], group), study,
                               f"{s['cluster']} held out: calibration of the base and tuned "
                               f"models on the {CALIBRATION_GROUPS[group]} datasets",
                               CALIBRATION_TITLES)


def compare(dirs: list[str]) -> str:
    """Rebuilds each run's files from its summary.json and tabulates cluster averages."""
    sums = []
    for d in dirs:
        p = Path(d) / "summary.json"
        if not p.exists():
            raise FileNotFoundError(f"{p} does not exist: is {d} an ablation output folder?")
        s = json.loads(p.read_text())
        write_all(Path(d), s)
        sums.append((d, s))
    keys = []
    for _, s in sums:
        for r in s["rows"]:
            k = (r["variant"], r["eval_format"], r["shots"])
            if k not in keys:
                keys.append(k)
    lines = ["| row | " + " | ".join(f"{d} ({s['cluster']}, {s['profile']})" for d, s in sums)
             + " |", "|" + "---|" * (len(sums) + 1)]
    for k in keys:
        cells = []
        for _, s in sums:
            r = next((r for r in s["rows"]
                      if (r["variant"], r["eval_format"], r["shots"]) == k), None)
            cells.append(_fmt(r["cluster_average"]) if r else "—")
        lines.append(f"| {k[0]} / {k[1]} / {k[2]}-shot | " + " | ".join(cells) + " |")
    return "\n".join(lines)
