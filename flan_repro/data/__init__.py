"""Where examples come from: TFDS, TFDS-schema JSONL, or the offline toy generators."""
