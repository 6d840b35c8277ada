"""Evaluate one reported dataset of a held-out cluster, FLAN style: every template.

  prompts    instruction format: each standard eval template (`eval_template_indices`),
             every example rendered with that template; no_template / dataset_name /
             shuffled_instruction: the single prompt (for the last, each example's
             own instruction of another task: `prompts/formats.py`). k-shot exemplars come from the registry
             (`render_split(..., shots=k)`: train split, never the example itself).
  splits     "test" always; "validation" (FLAN's 200-example dev split) too when the
             dataset has one and there is more than one template to choose between.
             When the data source lacks what the dev split is cut from (RTE's and
             CB's come from train, absent from a folder of public validation files),
             the test split is still scored in full and the best-dev number is
             reported as unavailable (`best_dev_unavailable`, one warning line).
  scoring    classification (options): rank classification (`Scorer`, summed log-prob
             incl. EOS; `length_normalized=True` for the per-token ablation), the
             dataset's metrics (`metric_table.compute_metrics`, conventions in its
             docstring) and calibration (ECE / MCE / Brier over the options' softmax).
             generation: greedy decoding (`Generator`), the text stripped, then the
             metrics.
  aggregate  `aggregate.summarize_dataset`: per template, mean over templates,
             std, and the test score of the best-dev template.

Translation: each direction is its own result entry. Instruction templates whose
target is `{sent2}` translate English -> X and those with target `{sent1}` X -> English
(sent1 is always English), so "wmt16_translate_deen" is reported as
"wmt16_translate_deen:en-de" and "wmt16_translate_deen:de-en", like the paper's
table. The no_template / dataset_name formats have one prompt (the entry's own
sent1 -> sent2), so they report the English -> X direction only.

Per-example records (`records`, written by the runner as `.examples.jsonl`, so anyone
can re-analyse a run, and the report's intervals and paired tests are computed from
them): template, example_index (the example's position in the split: the same example
has the same index in every row), prediction, target, then for classification correct
(0/1), confidence (the softmax probability of the chosen option over the options'
ranking scores), brier (the example's Brier term) and option_logprobs; for generation
score (the primary metric of that example alone, when the metric is a mean over
examples) and confidence (the greedy output's sequence probability); and stats, the
example's statistics of the primary metric (`example_scores`; `stat_metric` names the
metric they belong to).
"""
from __future__ import annotations

import dataclasses
import logging
import math
from typing import Sequence

from flan_repro.data.sources import DataNotFoundError
from flan_repro.evaluate import aggregate, calibration as calib, example_scores, metric_table
from flan_repro.evaluate.rank_classification import rank_classification

log = logging.getLogger(__name__)

DEFAULT_NUM_PREDICTIONS = 10
ANSWER_LIST_METRICS = frozenset({"squad", "trivia_qa", "record", "rouge"})


# --------------------------------------------------------------------------- prompts
@dataclasses.dataclass(frozen=True)
class ResultEntry:
    """One reported number: a registry entry, or one translation direction of it."""
    name: str                       # "rte", "wmt16_translate_deen:en-de"
    entry: str                      # registry entry
    templates: tuple                # template indices, or (None,) for a single prompt
    direction: str | None = None    # "en-de" / "de-en" for translation

    def template_key(self, template, fmt: str):
        return fmt if template is None else int(template)


def result_entries(cfg, entry: str, fmt: str) -> list[ResultEntry]:
    from flan_repro.registry import examples as ex_lib
    spec = cfg.catalogue.dataset(entry)
    is_translation = spec.converter == "translation" and len(spec.languages) == 2
    if fmt != "instruction":
        if is_translation:
            a, b = spec.languages
            return [ResultEntry(f"{entry}:{a}-{b}", entry, (None,), f"{a}-{b}")]
        return [ResultEntry(entry, entry, (None,))]
    if is_translation:
        a, b = spec.languages
        templates = ex_lib.dataset_templates(cfg, entry)
        fwd = tuple(i for i, t in enumerate(templates) if t.target.strip() == "{sent2}")
        bwd = tuple(i for i, t in enumerate(templates) if t.target.strip() == "{sent1}")
        out = []
        if fwd:
            out.append(ResultEntry(f"{entry}:{a}-{b}", entry, fwd, f"{a}-{b}"))
        if bwd:
            out.append(ResultEntry(f"{entry}:{b}-{a}", entry, bwd, f"{b}-{a}"))
        if out:
            return out
    return [ResultEntry(entry, entry, tuple(ex_lib.eval_template_indices(cfg, entry)))]


def build_prompts(cfg, entry: str, split: str, fmt: str, shots: int, template: int | None,
                  max_examples: int | None = None) -> list[dict]:
    """The prompted examples evaluated for one (split, template): registry records."""
    from flan_repro.registry import examples as ex_lib
    recs = ex_lib.render_split(cfg, entry, split, fmt=fmt, shots=shots,
                               template=template if fmt == "instruction" else None)
    return recs if max_examples is None else recs[:max_examples]


def eval_splits(spec, num_templates: int) -> list[str]:
    """test, plus FLAN's dev split when there is a template to choose."""
    return ["test"] + (["validation"] if "validation" in spec.splits and num_templates > 1
                       else [])


# --------------------------------------------------------------------------- metrics
def classification_targets(spec, recs: Sequence[dict], preds: Sequence[int]):
    """(targets, predictions, groups) in metric_table's conventions."""
    metrics = set(spec.metrics)
    if "record" in metrics:
        return [r["answers"] for r in recs], [r["options"][p] for p, r in zip(preds, recs)], None
    if metrics & {"pearson", "spearman"}:
        return [r["score"] for r in recs], list(preds), None
    groups = [r["group"] for r in recs] if "multirc_em" in metrics else None
    return [r["label"] for r in recs], list(preds), groups


def gold_option(spec, rec: dict) -> int:
    if set(spec.metrics) & {"pearson", "spearman"} and "score" in rec:
        return metric_table.stsb_gold_option(rec["score"])
    return int(rec["label"])


def generation_targets(spec, recs: Sequence[dict]) -> list:
    if set(spec.metrics) & ANSWER_LIST_METRICS:
        return [list(r["answers"]) for r in recs]
    return [r["targets"] for r in recs]


def compute_metrics(metric_names, targets, predictions, groups=None) -> dict:
    """metric_table.compute_metrics without sklearn's 'ill-defined F-score' warnings,
    which a small or one-sided toy sample triggers on every template (the value is 0)."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ill-defined.*")
        return metric_table.compute_metrics(metric_names, targets, predictions, groups)


def _calibration_summary(result: calib.CalibrationResult) -> dict:
    return {k: getattr(result, k) for k in ("n", "accuracy", "mean_confidence", "ece", "mce",
                                            "brier")}


# --------------------------------------------------------------------------- one dataset
@dataclasses.dataclass
class EvalSettings:
    fmt: str = "instruction"
    shots: int = 0
    max_examples: int | None = None
    max_dev_examples: int | None = None     # None: as max_examples
    length_normalized: bool = False
    num_predictions: int = DEFAULT_NUM_PREDICTIONS
    num_bins: int = calib.DEFAULT_NUM_BINS
    batch_size: int = 16
    max_input_length: int = 1024
    max_decode_length: int = 64


def evaluate_result_entry(res: ResultEntry, cfg, scorer, generator, st: EvalSettings,
                          cluster: str = "", checkpoint: str = "") -> dict:
    spec = cfg.catalogue.dataset(res.entry)
    splits = eval_splits(spec, len(res.templates))
    jobs = []                      # (split, template key, records)
    dev_unavailable = None
    for split in splits:
        for t in res.templates:
            try:
                cap = st.max_dev_examples if split == "validation" and \
                    st.max_dev_examples is not None else st.max_examples
                recs = build_prompts(cfg, res.entry, split, st.fmt, st.shots, t, cap)
            except DataNotFoundError:
                if split != "validation":
                    raise
                # FLAN's dev split is often carved from train (RTE: train[-200:]), which
                # a user holding only the public validation files does not have. Scoring
                # must not need it: the best-dev number is reported as unavailable
                # (cluster averages fall back to the mean, as for WSC273).
                dev_unavailable = (f"FLAN's dev split (TFDS {spec.splits['validation']!r}) "
                                   f"is not in the data source")
                log.warning("%s: %s, so no best-dev template is reported (the test split "
                            "is scored in full)", res.name, dev_unavailable)
                break
            if recs:
                jobs.append((split, res.template_key(t, st.fmt), recs))
    if not any(s == "test" for s, _, _ in jobs):
        raise ValueError(f"{res.name}: the test split has no examples")
    # the dev split must cover every template, else there is no best-dev choice
    if {k for s, k, _ in jobs if s == "validation"} != {k for s, k, _ in jobs if s == "test"}:
        jobs = [j for j in jobs if j[0] == "test"]
    flat = [r for _, _, recs in jobs for r in recs]
    primary = metric_table.primary_metric(spec.metrics, res.entry)
    stat_metric = example_scores.metric_for_key(spec.metrics, primary)
    records: list[dict] = []          # test split, one per (template, example)
    per_split: dict[str, dict] = {}
    predictions: dict = {}
    cal_per_template: dict = {}
    pooled_scores, pooled_gold = [], []
    if spec.classification:
        scores = scorer.score_options([r["inputs"] for r in flat], [r["options"] for r in flat])
        pos = 0
        for split, key, recs in jobs:
            sc = scores[pos:pos + len(recs)]
            pos += len(recs)
            rank = rank_classification([[o.logprob for o in s] for s in sc],
                                       [[o.num_tokens for o in s] for s in sc],
                                       length_normalized=st.length_normalized)
            preds = [int(p) for p in rank.predictions]
            targets, pred_values, groups = classification_targets(spec, recs, preds)
            per_split.setdefault(split, {})[key] = compute_metrics(
                spec.metrics, targets, pred_values, groups)
            gold = [gold_option(spec, r) for r in recs]
            if split == "test":
                probs = calib.softmax_options(rank.scores)
                stats = example_scores.example_stats(stat_metric, primary, targets, pred_values)
                records += [
                    {"template": key, "example_index": r["idx"], "prediction": p, "target": g,
                     "correct": int(p == g), "confidence": float(pr[p]),
                     "brier": calib.brier_term(pr, g),
                     "option_logprobs": [o.logprob for o in s], "stats": st_row.tolist()}
                    for r, g, p, s, pr, st_row in zip(recs, gold, preds, sc, probs, stats)]
                result = calib.calibration(rank.scores, gold, st.num_bins)
                cal_per_template[key] = _calibration_summary(result)
                pooled_scores += list(rank.scores)
                pooled_gold += gold
                predictions[key] = [
                    {"idx": r["idx"], "inputs": r["inputs"], "options": r["options"],
                     "gold": g, "prediction": p, "prediction_text": r["options"][p],
                     "option_logprobs": [o.logprob for o in s],
                     "option_num_tokens": [o.num_tokens for o in s]}
                    for r, g, p, s in list(zip(recs, gold, preds, sc))[:st.num_predictions]]
    else:
        gens = generator.generate([r["inputs"] for r in flat])
        pos = 0
        for split, key, recs in jobs:
            gs = gens[pos:pos + len(recs)]
            pos += len(recs)
            texts = [g.text.strip() for g in gs]
            targets = generation_targets(spec, recs)
            per_split.setdefault(split, {})[key] = compute_metrics(spec.metrics, targets, texts)
            if split == "test":
                stats = example_scores.example_stats(stat_metric, primary, targets, texts)
                mean_form = example_scores.is_mean(stat_metric, primary)
                records += [
                    {"template": key, "example_index": r["idx"], "prediction": t, "target": tg,
                     **({"score": float(st_row[0])} if mean_form else {}),
                     "confidence": float(math.exp(g.score)), "stats": st_row.tolist()}
                    for r, t, tg, g, st_row in zip(recs, texts, targets, gs, stats)]
                predictions[key] = [
                    {"idx": r["idx"], "inputs": r["inputs"], "targets": r["targets"],
                     "answers": r["answers"], "prediction": t, "logprob": g.score,
                     "num_tokens": len(g.token_ids) + int(g.finished), "finished": g.finished}
                    for r, t, g in list(zip(recs, texts, gs))[:st.num_predictions]]
    summary = aggregate.summarize_dataset(res.name, primary, per_split["test"],
                                          per_split.get("validation"))
    calibration = None
    if spec.classification:
        pooled = calib.calibration(pooled_scores, pooled_gold, st.num_bins)
        calibration = {"pooled": pooled.to_dict(), "per_template": cal_per_template,
                       "scores": "length_normalized" if st.length_normalized else "sum"}
    return {
        "dataset": res.name, "entry": res.entry, "direction": res.direction,
        "cluster": cluster, "format": st.fmt, "shots": st.shots, "checkpoint": checkpoint,
        "kind": "classification" if spec.classification else "generation",
        "metrics": list(spec.metrics), "primary": primary,
        "templates": [k for k in dict.fromkeys(k for _, k, _ in jobs)],
        "best_dev_unavailable": dev_unavailable,
        "num_examples": {s: sum(len(r) for sp, _, r in jobs if sp == s) for s in splits
                         if any(sp == s for sp, _, _ in jobs)},
        "per_template": per_split,
        "summary": summary.to_dict(),
        "score": {"mean": summary.score("mean"), "best_dev": summary.score("best_dev")},
        "calibration": calibration,
        "predictions": predictions,
        "stat_metric": stat_metric,
        "records": records,
    }
