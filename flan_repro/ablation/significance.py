"""How sure the report's numbers are: intervals for every row and paired comparisons.

Given the report's rows and the per-example records behind them, this adds to each
row's datasets `ci95` and `n`, to each row `cluster_average_ci95`, and returns the
comparisons of the FLAN row against each other row scored the same way: the other
Fig. 8 rows (no template, dataset name with either prompt) and the untuned base
model at the same number of shots. `evaluate.bootstrap` does the statistics; this
module only decides which rows are compared and where the numbers go.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

from flan_repro.evaluate import bootstrap

log = logging.getLogger("flan_repro.ablation")

# (train format, eval format) of the row every comparison starts from
FLAN_ROW = ("instruction", "instruction")

RecordsOf = Callable[[dict, str], Sequence[Sequence[dict]]]   # (row, dataset) -> per seed


def row_key(r: dict) -> str:
    return f"{r['variant']}|{r['train_format']}|{r['eval_format']}|{r['shots']}"


def row_ref(r: dict) -> dict:
    return {"variant": r["variant"], "train_format": r["train_format"],
            "eval_format": r["eval_format"], "shots": r["shots"]}


def comparison_pairs(rows: Sequence[dict]) -> list[tuple[dict, dict]]:
    """(FLAN row, other row) for every other held-out row with the FLAN row's shots."""
    pairs = []
    for a in rows:
        if (a["train_format"], a["eval_format"]) != FLAN_ROW or a["variant"].startswith("seen_"):
            continue
        for b in rows:
            if b is a or b["shots"] != a["shots"] or b["variant"].startswith("seen_"):
                continue
            pairs.append((a, b))
    return pairs


def add_statistics(rows: list[dict], records_of: RecordsOf,
                   replicates: int = bootstrap.DEFAULT_REPLICATES,
                   seed: int = bootstrap.DEFAULT_SEED) -> dict:
    """Fills the rows' intervals in place; returns {"settings", "comparisons"}."""
    tables: dict[str, dict[str, bootstrap.ScoreTable]] = {}
    for r in rows:
        tables[row_key(r)] = {
            name: bootstrap.table_from_records(
                name, bootstrap.metric_combine(d["stat_metric"], d["metric"]),
                records_of(r, name))
            for name, d in r["datasets"].items()}
    an = bootstrap.Analysis(tables, replicates=replicates, seed=seed)
    for r in rows:
        key = row_key(r)
        for name, d in r["datasets"].items():
            est = an.dataset(key, name)
            d["ci95"], d["n"] = list(est.ci95), est.n
        if r["datasets"]:
            est = an.cluster(key, list(r["datasets"]))
            r["cluster_average_ci95"] = list(est.ci95)
            r["cluster_average_n"] = est.n
    comparisons = []
    for a, b in comparison_pairs(rows):
        common = [n for n in a["datasets"] if n in b["datasets"]]
        if not common:
            continue
        c = an.compare(row_key(a), row_key(b), common)
        comparisons.append({"a": row_ref(a), "b": row_ref(b), "a_title": a["title"],
                            "b_title": b["title"], "datasets": common, **c.to_dict()})
    return {"settings": {"replicates": replicates, "seed": seed, "level": 0.95,
                         "resampled": "examples (and seeds, when a row has several); "
                                      "templates fixed",
                         "interval": "percentile bootstrap",
                         "p_value": "two-sided paired bootstrap, same examples for both rows"},
            "comparisons": comparisons}


class RunRecords:
    """The per-example records of one ablation folder, each file read once (the intervals
    and the calibration study both need them)."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self._cache: dict[str, list[dict]] = {}

    def exists(self, f: str | None) -> bool:
        return bool(f) and (self.out / f).exists()

    def __call__(self, f: str) -> list[dict]:
        if f not in self._cache:
            from flan_repro.evaluate.runner import read_jsonl
            self._cache[f] = read_jsonl(self.out / f)
        return self._cache[f]


def statistics_of_run(out: Path, rows: list[dict], records: RunRecords | None = None
                      ) -> dict | None:
    """`add_statistics` over an ablation folder's records (`examples_files` of each row's
    datasets, relative to `out`); None, with a warning, for rows evaluated before the
    evaluator wrote records (delete OUT/eval/rows to evaluate them again)."""
    records = records or RunRecords(out)
    missing = [r["variant"] for r in rows for d in r["datasets"].values()
               if not d.get("examples_files") or
               not all(records.exists(f) for f in d["examples_files"])]
    if missing:
        log.warning("no per-example records for rows %s, so the report has no intervals; "
                    "delete %s to evaluate them again", sorted(set(missing)),
                    Path(out) / "eval" / "rows")
        return None
    return add_statistics(rows, lambda r, name: [
        records(f) for f in r["datasets"][name]["examples_files"]])


def calibration_of_run(out: Path, rows: list[dict], records: RunRecords | None = None
                       ) -> dict | None:
    """The calibration study of an ablation: the untuned base model against each tuned
    model, on the held-out datasets (zero-shot rows with instruction prompts, and the
    dataset-name model with its own prompts) and on the seen datasets (`seen_*` rows),
    seed 0's records, as two studies {"held_out", "seen"} (so an average never mixes
    tasks the model was tuned on with tasks it never saw). None when the run has no
    records (see `statistics_of_run`)."""
    from flan_repro.evaluate import calibration_study
    records = records or RunRecords(out)
    groups: dict[str, dict[str, dict[str, list]]] = {"held_out": {}, "seen": {}}
    for r in rows:
        if r["shots"] != 0:
            continue
        if r["variant"].startswith("seen_"):
            group, name = "seen", r["variant"][len("seen_"):]
        elif r["train_format"] is None or r["eval_format"] in ("instruction", r["train_format"]):
            # the untuned base model under whatever prompts the profile gives it (baseline)
            group = "held_out"
            name = r["variant"] if r["train_format"] is None or r["eval_format"] == "instruction" \
                else f"{r['variant']}/{r['eval_format']}"
        else:
            continue
        for d, v in r["datasets"].items():
            files = v.get("examples_files") or []
            if not files or not records.exists(files[0]):
                return None
            groups[group].setdefault(name, {})[d] = records(files[0])
    out_groups = {}
    for group, models in groups.items():
        if "base" not in models or len(models) < 2:
            continue
        ordered = {"base": models.pop("base"), **models}
        try:
            out_groups[group] = calibration_study.study(ordered, reference="base")
        except ValueError as e:          # e.g. a cluster of generation datasets only
            log.warning("no calibration study of the %s datasets: %s", group, e)
    return out_groups or None
