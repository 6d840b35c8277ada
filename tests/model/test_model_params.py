"""Parameter counts (via jax.eval_shape, nothing allocated) and the gin size files."""
import os

import gin
import jax
import pytest

from flan_repro.model import decoder_only, params, t5

GIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'gin', 'model')

# Published T5 v1.1 sizes (google/t5-v1_1-*): parameter count and shape.
PUBLISHED = {
    'small': (77e6, dict(d_model=512, d_ff=1024, num_layers=8, num_heads=6)),
    'base': (248e6, dict(d_model=768, d_ff=2048, num_layers=12, num_heads=12)),
    'large': (783e6, dict(d_model=1024, d_ff=2816, num_layers=24, num_heads=16)),
    'xl': (2.85e9, dict(d_model=2048, d_ff=5120, num_layers=24, num_heads=32)),
    'xxl': (11.1e9, dict(d_model=4096, d_ff=10240, num_layers=24, num_heads=64)),
}


def _gin_config(name, cls, bindings=()):
  gin.clear_config()
  try:
    gin.parse_config_files_and_bindings([os.path.join(GIN_DIR, name)], list(bindings))
    return cls()
  finally:
    gin.clear_config()


@pytest.mark.parametrize('size', list(PUBLISHED))
def test_gin_sizes_and_param_counts(size):
  expected_count, shape = PUBLISHED[size]
  cfg = _gin_config(f't5_1_1_{size}.gin', t5.T5Config)
  assert (cfg.d_model, cfg.d_ff, cfg.num_encoder_layers, cfg.num_decoder_layers,
          cfg.num_heads, cfg.d_kv, cfg.vocab_size, cfg.tie_word_embeddings) == (
              shape['d_model'], shape['d_ff'], shape['num_layers'], shape['num_layers'],
              shape['num_heads'], 64, 32128, False)
  shapes = params.param_shapes(cfg)
  assert all(isinstance(x, jax.ShapeDtypeStruct) for x in jax.tree_util.tree_leaves(shapes))
  n = params.count_params(shapes)
  print(f'\n[t5.1.1 {size}] {n:,} params')
  assert abs(n - expected_count) / expected_count < 0.01


def test_tiny_gin_and_vocab_macro():
  cfg = _gin_config('t5_1_1_tiny.gin', t5.T5Config, ['VOCAB_SIZE = 1000'])
  assert (cfg.d_model, cfg.d_ff, cfg.num_encoder_layers, cfg.num_decoder_layers,
          cfg.num_heads, cfg.d_kv, cfg.vocab_size) == (128, 256, 2, 2, 4, 32, 1000)
  dcfg = _gin_config('decoder_only_tiny.gin', decoder_only.DecoderOnlyConfig,
                     ['VOCAB_SIZE = 1000', "ACTIVATION_DTYPE = 'bfloat16'"])
  assert (dcfg.d_model, dcfg.num_layers, dcfg.vocab_size, dcfg.dtype) == (128, 4, 1000, 'bfloat16')
  # Tied heads drop the [d_model, vocab] lm head.
  tied = t5.T5Config(**{**cfg.__dict__, 'tie_word_embeddings': True})
  assert params.count_model_params(cfg) - params.count_model_params(tied) == 128 * 1000
