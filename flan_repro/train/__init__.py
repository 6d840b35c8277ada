"""Training: input pipeline, optimizer, sharding, checkpoints and the loop."""
