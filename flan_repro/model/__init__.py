"""Models: T5 v1.1 encoder-decoder and a decoder-only prefix LM (Flax linen).

  t5.py            T5Config, T5 (encode / decode / decode_cached / __call__), init_params,
                   param_logical_axes
  decoder_only.py  DecoderOnlyConfig, DecoderOnly (decode_cached, logits), prefix_lm_features
  layers.py        shared blocks (RMSNorm, attention with a KV cache, gated-GELU MLP,
                   relative position bias), for training and cached inference alike
  kernels.py       XLA:CPU formulations of the projections' matmul and the bias add
  params.py        parameter shapes / counts via jax.eval_shape
  loading.py       config -> model; checkpoint specs (model dir, hf:, t5x:) -> config + params
  hf_import.py     HuggingFace T5 checkpoint import and export (safetensors + config.json)
  t5x_import.py    t5x (msgpack + tensorstore) and orbax checkpoint import
Sizes live in gin/model/*.gin.
"""
from flan_repro.model.decoder_only import DecoderOnly, DecoderOnlyConfig  # noqa: F401
from flan_repro.model.t5 import T5, T5Config  # noqa: F401
