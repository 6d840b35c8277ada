"""`make bench`: throughput of our training step against HF transformers' PyTorch T5, MFU,
compile time, peak memory, the packing efficiency of the training mixtures and the
evaluator's speed. Dated measurements are in bench/NOTES.md.

  shapes      the timed training shapes, their random batch and the FLOP model
  train_step  the timed comparison (interleaved repetitions, medians)
  evaluation  evaluator micro-benchmarks (rank classification, generation)
  packing     share of non-padding tokens with and without packing
  command     `python -m flan_repro bench`: runs them, prints a table, writes results.json
"""
