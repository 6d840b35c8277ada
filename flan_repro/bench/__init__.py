"""`make bench`: throughput of our training step against HF transformers' PyTorch T5, MFU,
compile time, peak memory and the packing efficiency of the training mixtures.

  train_step  the timed comparison (interleaved repetitions, medians) and the FLOP model
  packing     share of non-padding tokens with and without packing
  command     `python -m flan_repro bench`: runs both, prints a table, writes results.json
"""
