"""Helpers shared by the model tests."""
import numpy as np

# The small random model the comparison tests use.
SMALL = dict(vocab_size=128, d_model=64, d_ff=128, num_heads=4, d_kv=16)


def make_enc_dec_batch(rng, batch=3, enc_len=40, dec_len=37, vocab=128,
                       enc_lens=None, dec_lens=None):
    """Random right-padded enc-dec batch (pad 0) in EncDecFeatureConverter layout (unpacked)."""
    enc_lens = enc_lens or [enc_len] * batch
    dec_lens = dec_lens or [dec_len] * batch
    randint = getattr(rng, "integers", None) or rng.randint  # Generator or RandomState
    enc = np.zeros((batch, enc_len), np.int32)
    tgt = np.zeros((batch, dec_len), np.int32)
    for i in range(batch):
        enc[i, :enc_lens[i]] = randint(2, vocab, enc_lens[i])
        tgt[i, :dec_lens[i]] = randint(2, vocab, dec_lens[i])
    dec_in = np.concatenate([np.zeros((batch, 1), np.int32), tgt[:, :-1]], axis=1)
    weights = (tgt > 0).astype(np.float32)
    return dict(encoder_input_tokens=enc, decoder_input_tokens=dec_in,
                decoder_target_tokens=tgt, decoder_loss_weights=weights)


_JITTED = {}


def our_log_probs(model, params, batch):
    """Per-token log p(target) [batch, len] from our Flax model (float32 numpy, jitted)."""
    import jax
    import jax.numpy as jnp
    from flan_repro.model import layers
    if model not in _JITTED:  # linen modules hash by their (frozen) config
        def fn(p, b):
            logits = model.apply({"params": p}, **b)
            return layers.token_log_probs(logits, b["decoder_target_tokens"])
        _JITTED[model] = jax.jit(fn)
    return np.asarray(_JITTED[model](params, {k: jnp.asarray(v) for k, v in batch.items()}))


def random_params(config, seed=0):
    """Cheap random params (numpy) with the model's shapes; avoids compiling the jax init.

    Kernels ~ N(0, 1/fan_in), embeddings ~ N(0, 1), norm scales ~ 1 + N(0, 0.1).
    """
    import jax
    from flan_repro.model import params as params_lib
    rng = np.random.RandomState(seed)

    def gen(path, leaf):
        names = [getattr(p, "key", "") for p in path]
        shape = leaf.shape
        if names[-1] == "scale":
            return (1.0 + 0.1 * rng.randn(*shape)).astype(np.float32)
        if names[-1] in ("embedding", "rel_embedding"):
            return rng.randn(*shape).astype(np.float32)
        fan_in = int(np.prod(shape[:-1])) if names[-2] == "out" else shape[0]
        return (rng.randn(*shape) / np.sqrt(fan_in)).astype(np.float32)

    return jax.tree_util.tree_map_with_path(gen, params_lib.param_shapes(config))


def write_model_dir(path, config, params, step=3):
    """Writes one of our model dirs as `train` leaves it: config.gin + an orbax step."""
    import dataclasses

    import jax
    import jax.numpy as jnp
    from flan_repro.train.checkpoints import Checkpointer
    cls_name = type(config).__name__
    module = "t5" if cls_name == "T5Config" else "decoder_only"
    bindings = "\n".join(f"{cls_name}.{f.name} = {getattr(config, f.name)!r}"
                         for f in dataclasses.fields(config))
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.gin").write_text(
        f"import flan_repro.model.{module}\nimport flan_repro.train.trainer\n{bindings}\n"
        f"train.model_config = @{cls_name}()\ntrain.train_steps = {step}\n")
    state = {"step": jnp.int32(step), "params": jax.tree_util.tree_map(jnp.asarray, params),
             "opt_state": {}}
    c = Checkpointer(path / "checkpoints")
    c.save(step, state, {"step": step})
    c.close()
    return path
