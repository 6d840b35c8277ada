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

from flan_repro.catalogue import load, tasks_dir

ROW_TITLES = {
    "base": "Untuned base model, zero-shot",
    "base_few_shot": "Untuned base model, few-shot",
    ("no_template", "instruction"): "No template",
    ("dataset_name", "instruction"): "Dataset name, eval with instructions",
    ("dataset_name", "dataset_name"): "Dataset name",
    ("instruction", "instruction"): "FLAN (instructions)",
}


def row(variant: str, train_format: str | None, eval_format: str, shots: int, r: dict) -> dict:
    datasets = {}
    for name, res in r["results"].items():
        s = res["summary"]
        primary = s["primary"]
        cal = (res.get("calibration") or {}).get("pooled") or {}
        per_t = {str(t): m[primary] for t, m in s["per_template"].items()}
        datasets[name] = {
            "metric": primary,
            "mean_over_templates": s["mean"][primary],
            "std_over_templates": s["std"].get(primary, 0.0),
            "best_dev_template": s.get("best_dev_template"),
            "best_dev": (s.get("best_dev") or {}).get(primary),
            "per_template": per_t,
            "ece": cal.get("ece"), "mce": cal.get("mce"), "brier": cal.get("brier"),
        }
    means = [d["mean_over_templates"] for d in datasets.values()]
    title = ROW_TITLES.get(variant) or ROW_TITLES.get((train_format, eval_format)) or \
        f"Seen training tasks ({train_format} model, {eval_format} prompts)"
    return {"variant": variant, "title": title, "train_format": train_format,
            "eval_format": eval_format, "shots": shots,
            "cluster_average": statistics.fmean(means) if means else None,
            "cluster_average_best_dev": r["summary"]["best_dev"]["average"]
            if r.get("summary") else None,
            "datasets": datasets}


def merge(parts: list[dict]) -> dict:
    """Several single-dataset evaluations as one (the `seen` rows)."""
    out = {"results": {}, "summary": None}
    for p in parts:
        out["results"].update(p["results"])
    best = [p["summary"]["best_dev"]["average"] for p in parts if p.get("summary")]
    if best:
        out["summary"] = {"best_dev": {"average": statistics.fmean(best)}}
    return out


def paper_numbers() -> dict:
    with open(tasks_dir() / "paper_numbers.yaml") as f:
        return yaml.safe_load(f)


def summary(cluster: str, prof, rows: list[dict], timings: dict, base: str) -> dict:
    from flan_repro.registry.config import current
    return {"cluster": cluster, "profile": prof.name,
            "model": {"train_gin": list(prof.train_gin), "base": base,
                      "finetune_steps": prof.finetune_steps},
            "data_dir": current().data_dir,
            "wall_seconds": round(sum(timings.values()), 1), "stage_seconds": timings,
            "rows": rows, "paper": paper_numbers()}


def _fmt(x, digits=1):
    return "—" if x is None else f"{x:.{digits}f}"


def markdown(s: dict) -> str:
    cat = load()
    main = [r for r in s["rows"] if not r["variant"].startswith("seen_")]
    seen = [r for r in s["rows"] if r["variant"].startswith("seen_")]
    names = list(main[0]["datasets"]) if main else []
    lines = [f"# FLAN ablation: {cat.cluster(s['cluster']).display_name} held out",
             "",
             f"Profile `{s['profile']}`, data `{s['data_dir']}`, base model `{s['model']['base']}`,"
             f" {s['model']['finetune_steps']} tuning steps. Wall time {s['wall_seconds']:.0f} s.",
             "",
             "Scores: the dataset's primary metric, mean over templates (± spread over "
             "templates); `avg` is the cluster average, `best-dev` the average when each "
             "dataset uses the template that was best on its dev split.", "",
             "| row | train format | eval prompts | shots | " + " | ".join(names) +
             " | avg | best-dev |",
             "|" + "---|" * (len(names) + 6)]
    for r in main:
        cells = [f"{_fmt(r['datasets'][n]['mean_over_templates'])} ± "
                 f"{_fmt(r['datasets'][n]['std_over_templates'])}" if n in r["datasets"] else "—"
                 for n in names]
        lines.append(f"| {r['title']} | {r['train_format'] or '—'} | {r['eval_format']} | "
                     f"{r['shots']} | " + " | ".join(cells) +
                     f" | {_fmt(r['cluster_average'])} | {_fmt(r['cluster_average_best_dev'])} |")
    if seen:
        lines += ["", "## Seen training tasks (did training work?)", "",
                  "| model | " + " | ".join(seen[0]["datasets"]) + " | avg |",
                  "|" + "---|" * (len(seen[0]["datasets"]) + 2)]
        for r in seen:
            lines.append(f"| {r['train_format']} | " + " | ".join(
                _fmt(d["mean_over_templates"]) for d in r["datasets"].values()) +
                f" | {_fmt(r['cluster_average'])} |")
    lines += ["", "## Calibration of the held-out rows (pooled over templates)", "",
              "| row | dataset | ECE | MCE | Brier |", "|---|---|---|---|---|"]
    for r in main:
        for n, d in r["datasets"].items():
            if d["ece"] is not None:
                lines.append(f"| {r['title']} | {n} | {_fmt(d['ece'], 3)} | {_fmt(d['mce'], 3)}"
                             f" | {_fmt(d['brier'], 3)} |")
    paper = s["paper"]["role_of_instructions"]
    lines += ["", "## Beside the paper", "",
              f"Paper: {paper['source']} ({paper['metric']}, FLAN 137B). Ours: this run's "
              f"cluster average for the same row.", "",
              "| row | paper | ours |", "|---|---|---|"]
    for p in paper["rows"]:
        ours = next((r["cluster_average"] for r in main if r["train_format"] == p["train_format"]
                     and r["eval_format"] == p["eval_format"] and r["shots"] == 0), None)
        lines.append(f"| {p['name']} | {p['value']:.1f} | {_fmt(ours)} |")
    cz = s["paper"]["cluster_zero_shot"]["clusters"].get(s["cluster"])
    if cz:
        lines += ["", f"Paper's zero-shot average for this cluster ({s['paper']['cluster_zero_shot']['source']}): "
                  + ", ".join(f"{k} {v}" for k, v in cz.items()) + "."]
    lines += ["", "## Stage wall times (s)", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in s["stage_seconds"].items()]
    lines += ["", f"![ablation](figures/ablation_{s['cluster']}.png)", ""]
    return "\n".join(lines)


def write_csv(path: Path, s: dict) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "train_format", "eval_format", "shots", "dataset", "metric",
                    "mean_over_templates", "std_over_templates", "best_dev_template",
                    "best_dev", "ece", "mce", "brier"])
        for r in s["rows"]:
            for n, d in r["datasets"].items():
                w.writerow([r["variant"], r["train_format"] or "", r["eval_format"], r["shots"],
                            n, d["metric"], d["mean_over_templates"], d["std_over_templates"],
                            d["best_dev_template"], d["best_dev"], d["ece"], d["mce"],
                            d["brier"]])


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
        err = [r["datasets"][n]["std_over_templates"] for n in names[:-1]] + [0]
        ax.bar(x + i * width, vals, width, yerr=err, capsize=2, label=r["title"])
    ax.set_xticks(x + width * (len(main) - 1) / 2)
    ax.set_xticklabels(names, rotation=20, ha="right")
    ax.set_ylabel("score (mean over templates; bars: spread)")
    ax.set_title(f"{load().cluster(s['cluster']).display_name} held out ({s['profile']})")
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
