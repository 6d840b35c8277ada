"""Evaluators: scoring, generation, metrics, aggregation and calibration.

Pure building blocks on Python/numpy data:
  metric_table         catalogue metric names -> t5.evaluation.metrics; primary metrics
  rank_classification  FLAN's choice of option by summed (or per-token) log-prob
  calibration          ECE / MCE / Brier over the options' softmax; reliability PNGs
  aggregate            mean over templates, best-dev template, cluster averages
Model-facing:
  scoring              log p(option | input), encoder (decoder-only: input prefix) run
                       once per example
  generation           greedy decoding with a KV cache
  dataset_eval         one reported dataset, every template -> metrics, calibration, records
  runner               a held-out cluster -> per-dataset JSON files and the cluster summary
  command / score_command / export_command / bench
                       the `eval`, `score` and `export` commands, benchmarks

Nothing is imported here, so that e.g. `calibration` does not pay for t5's import
(which loads TensorFlow); import the submodule you need.
"""
