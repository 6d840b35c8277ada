"""Parameter counts (via jax.eval_shape, nothing allocated) and the gin size files."""
import dataclasses

import jax
import pytest

from flan_repro import gin_config
from flan_repro.model import decoder_only, params, t5

# The macros a model file reads and a training recipe sets (gin/train/base.gin), at the
# values of the T5 v1.1 recipes.
RECIPE_MACROS = ["VOCAB_SIZE = 32128", "DROPOUT_RATE = 0.1", "ACTIVATION_DTYPE = 'float32'"]

# Published T5 v1.1 sizes (google/t5-v1_1-*): parameter count and shape.
PUBLISHED = {
    "small": (77e6, dict(d_model=512, d_ff=1024, num_layers=8, num_heads=6)),
    "base": (248e6, dict(d_model=768, d_ff=2048, num_layers=12, num_heads=12)),
    "large": (783e6, dict(d_model=1024, d_ff=2816, num_layers=24, num_heads=16)),
    "xl": (2.85e9, dict(d_model=2048, d_ff=5120, num_layers=24, num_heads=32)),
    "xxl": (11.1e9, dict(d_model=4096, d_ff=10240, num_layers=24, num_heads=64)),
}


def _gin_config(name, cls, bindings=()):
    with gin_config.gin_scope([f"gin/model/{name}"], RECIPE_MACROS + list(bindings)):
        return cls()


@pytest.mark.parametrize("size", list(PUBLISHED))
def test_gin_sizes_and_param_counts(size):
    expected_count, shape = PUBLISHED[size]
    cfg = _gin_config(f"t5_1_1_{size}.gin", t5.T5Config)
    assert (cfg.d_model, cfg.d_ff, cfg.num_encoder_layers, cfg.num_decoder_layers,
            cfg.num_heads, cfg.d_kv, cfg.vocab_size, cfg.tie_word_embeddings) == (
                shape["d_model"], shape["d_ff"], shape["num_layers"], shape["num_layers"],
                shape["num_heads"], 64, 32128, False)
    shapes = params.param_shapes(cfg)
    assert all(isinstance(x, jax.ShapeDtypeStruct) for x in jax.tree_util.tree_leaves(shapes))
    n = params.count_params(shapes)
    print(f"\n[t5.1.1 {size}] {n:,} params")
    assert abs(n - expected_count) / expected_count < 0.01


def test_tiny_gin_and_vocab_macro():
    cfg = _gin_config("t5_1_1_tiny.gin", t5.T5Config, ["VOCAB_SIZE = 1000"])
    assert (cfg.d_model, cfg.d_ff, cfg.num_encoder_layers, cfg.num_decoder_layers,
            cfg.num_heads, cfg.d_kv, cfg.vocab_size) == (128, 256, 2, 2, 4, 32, 1000)
    dcfg = _gin_config("decoder_only_tiny.gin", decoder_only.DecoderOnlyConfig,
                       ["VOCAB_SIZE = 1000", "ACTIVATION_DTYPE = 'bfloat16'"])
    assert (dcfg.d_model, dcfg.num_layers, dcfg.vocab_size, dcfg.dtype) == \
        (128, 4, 1000, "bfloat16")
    # Tied heads drop the [d_model, vocab] lm head.
    tied = t5.T5Config(**{**cfg.__dict__, "tie_word_embeddings": True})
    assert params.count_model_params(cfg) - params.count_model_params(tied) == 128 * 1000


def _paths(config):
    return sorted("/".join(p.key for p in path) for path, _ in
                  jax.tree_util.tree_flatten_with_path(params.param_shapes(config))[0])


# The whole tree of a 1+1-layer T5 v1.1: t5x names, which public checkpoints map onto.
ONE_LAYER_TREE = ["decoder/decoder_norm/scale"] + [
    f"decoder/layers_0/{m}/{p}/kernel" for m in ("encoder_decoder_attention", "self_attention")
    for p in ("key", "out", "query", "value")] + [
    "decoder/layers_0/mlp/wi_0/kernel", "decoder/layers_0/mlp/wi_1/kernel",
    "decoder/layers_0/mlp/wo/kernel", "decoder/layers_0/pre_cross_attention_layer_norm/scale",
    "decoder/layers_0/pre_mlp_layer_norm/scale",
    "decoder/layers_0/pre_self_attention_layer_norm/scale", "decoder/logits_dense/kernel",
    "decoder/relpos_bias/rel_embedding", "encoder/encoder_norm/scale"] + [
    f"encoder/layers_0/attention/{p}/kernel" for p in ("key", "out", "query", "value")] + [
    "encoder/layers_0/mlp/wi_0/kernel", "encoder/layers_0/mlp/wi_1/kernel",
    "encoder/layers_0/mlp/wo/kernel", "encoder/layers_0/pre_attention_layer_norm/scale",
    "encoder/layers_0/pre_mlp_layer_norm/scale", "encoder/relpos_bias/rel_embedding",
    "token_embedder/embedding"]


def test_separate_input_embeddings_only_add_the_two_embedders():
    """Off (the default) the tree is exactly the t5x one; on, it gains one embedder a stack."""
    cfg = t5.T5Config(vocab_size=16, d_model=8, d_ff=16, num_heads=2, d_kv=4,
                      num_encoder_layers=1, num_decoder_layers=1)
    assert not cfg.separate_input_embeddings
    assert _paths(cfg) == sorted(ONE_LAYER_TREE)
    separate = dataclasses.replace(cfg, separate_input_embeddings=True)
    assert _paths(separate) == sorted(ONE_LAYER_TREE + ["encoder/token_embedder/embedding",
                                                        "decoder/token_embedder/embedding"])
    # The top-level (HF `shared`) embedding stays even when nothing reads it (untied head).
    assert params.count_model_params(separate) - params.count_model_params(cfg) == 2 * 16 * 8
