"""Evaluators: scoring, generation, metrics, aggregation and calibration.

Pure building blocks on Python/numpy data:
  metric_table         catalogue metric names -> t5.evaluation.metrics; primary metrics
  rank_classification  FLAN's choice of option by summed (or per-token) log-prob
  calibration          ECE / MCE / Brier over the options' softmax; reliability PNGs
  aggregate            mean over templates, best-dev template, cluster averages
Model-facing:
  checkpoint           our model dirs, hf:DIR, t5x:DIR -> (config, params), checked first
  scoring              log p(option | input), encoder (decoder-only: input prefix) run
                       once per example
  generation           greedy decoding with a KV cache
  layer_math           the models' layers as functions of their params (for the caches)
  runner               a held-out cluster, every template -> per-dataset JSON and summary
  command / score_command / export_command / bench
                       the `eval`, `score` and `export` commands, benchmarks

Nothing is imported here, so that e.g. `calibration` does not pay for t5's import
(which loads TensorFlow); import the submodule you need.
"""
