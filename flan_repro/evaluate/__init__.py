"""Evaluation building blocks: metrics, rank classification, calibration, aggregation.

Submodules, all pure functions on Python/numpy data:
  metric_table         catalogue metric names -> t5.evaluation.metrics; primary metrics
  rank_classification  FLAN's choice of option by summed (or per-token) log-prob
  calibration          ECE / MCE / Brier over the options' softmax; reliability PNGs
  aggregate            mean over templates, best-dev template, cluster averages

Nothing is imported here, so that e.g. `calibration` does not pay for t5's import
(which loads TensorFlow); import the submodule you need.
"""
