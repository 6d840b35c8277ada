"""significance + report: intervals on every row, the FLAN comparisons, and a report that
says plainly which differences are significant, from synthetic per-example records."""
import numpy as np
import pytest

from flan_repro.ablation import report, significance


def _records(rng, easy, p, templates=3):
    out = []
    for t in range(templates):
        ok = (easy + 0.1 * rng.standard_normal(easy.size)) < p
        out += [{"template": t, "example_index": i, "stats": [100.0 * c]}
                for i, c in enumerate(ok)]
    return out


def _row(variant, train_format, eval_format, shots, recs):
    datasets = {}
    for name, r in recs.items():
        per_t = {}
        for x in r:
            per_t.setdefault(x["template"], []).append(x["stats"][0])
        per_t = {t: float(np.mean(v)) for t, v in per_t.items()}
        mean = float(np.mean(list(per_t.values())))
        datasets[name] = {"metric": "accuracy", "stat_metric": "accuracy",
                          "mean_over_templates": mean, "std_over_templates": 0.0,
                          "template_spread": {"mean": mean, "median": mean, "min": min(per_t.values()),
                                              "max": max(per_t.values()), "best_dev": None},
                          "best_dev_template": None, "best_dev": None,
                          "per_template": per_t, "ece": None, "mce": None, "brier": None}
    title = report.ROW_TITLES.get(variant) or report.ROW_TITLES.get((train_format, eval_format))
    return {"variant": variant, "title": title, "train_format": train_format,
            "eval_format": eval_format, "shots": shots,
            "cluster_average": float(np.mean([d["mean_over_templates"] for d in datasets.values()])),
            "cluster_average_best_dev": None, "datasets": datasets}


@pytest.fixture(scope="module")
def analysed():
    rng = np.random.default_rng(0)
    n = 1500
    easy = {d: rng.random(n) for d in ("rte", "cb")}
    quality = {("instruction", "instruction"): 0.75, ("no_template", "instruction"): 0.60,
               ("dataset_name", "instruction"): 0.75, ("base", "instruction"): 0.75}
    recs, rows = {}, []
    for (fmt, ev), p in quality.items():
        r = {d: _records(rng, e, p) for d, e in easy.items()}
        variant, train = (fmt, None) if fmt == "base" else (fmt, fmt)
        row = _row(variant, train, ev, 0, r)
        rows.append(row)
        recs[significance.row_key(row)] = r
    sig = significance.add_statistics(rows, lambda row, d: [recs[significance.row_key(row)][d]],
                                      replicates=500)
    return rows, sig


def test_every_row_gets_intervals_and_the_flan_row_is_compared_to_each_other(analysed):
    rows, sig = analysed
    for r in rows:
        lo, hi = r["cluster_average_ci95"]
        assert lo < r["cluster_average"] < hi and r["cluster_average_n"] == 3000
        for d in r["datasets"].values():
            assert d["ci95"][0] < d["mean_over_templates"] < d["ci95"][1] and d["n"] == 1500
    comps = {c["b"]["variant"]: c for c in sig["comparisons"]}
    assert set(comps) == {"no_template", "dataset_name", "base"}
    assert all(c["a"]["train_format"] == "instruction" for c in sig["comparisons"])
    assert comps["no_template"]["significant"] and comps["no_template"]["diff"] > 10
    assert comps["no_template"]["p_value"] < 0.01
    assert not comps["dataset_name"]["significant"]
    assert comps["base"]["p_value"] > 0.05


def test_report_states_significance_and_writes_intervals(analysed, tmp_path):
    rows, sig = analysed
    s = {"cluster": "nli", "profile": "t", "model": {"base": "b", "finetune_steps": 1},
         "data_dir": "toy", "wall_seconds": 1.0, "stage_seconds": {}, "rows": rows,
         "statistics": sig["settings"], "comparisons": sig["comparisons"],
         "paper": report.paper_numbers()}
    report.write_all(tmp_path, s)
    md = (tmp_path / "report.md").read_text()
    assert "| No template | 0 | +" in md and "**significant**: FLAN higher" in md
    assert "not significant at 95%" in md
    assert "known to ±" in md
    flan = rows[0]
    assert f"{flan['cluster_average']:.1f} [{flan['cluster_average_ci95'][0]:.1f}, " in md
    csv = (tmp_path / "report.csv").read_text().splitlines()
    assert csv[0].split(",")[7:10] == ["ci95_low", "ci95_high", "n"]
    assert (tmp_path / "figures/ablation_nli.png").stat().st_size > 1000
