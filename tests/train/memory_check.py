"""Run by test_memory.py under XLA_FLAGS=--xla_force_host_platform_device_count=8: compiles
the trainer's step for small models on several meshes and prints, as JSON, XLA's own
temporary memory per device next to `dry_run.activation_bytes`."""
import json

import jax
import jax.numpy as jnp
from flax import linen as nn

from flan_repro.model.decoder_only import DecoderOnlyConfig
from flan_repro.model.loading import build_model, model_type
from flan_repro.model.t5 import T5Config
from flan_repro.train import optim, partitioning, trainer
from flan_repro.train.dry_run import activation_bytes

BATCH, INPUTS, TARGETS = 8, 512, 128


def batch_shapes(kind: str) -> dict:
    shape = lambda n: jax.ShapeDtypeStruct((BATCH, n), jnp.int32)
    if kind == "prefix_lm":
        names = ("input_tokens", "target_tokens", "loss_weights", "segment_ids", "positions",
                 "causal_attention")
        return {f"decoder_{k}": shape(INPUTS + TARGETS) for k in names}
    out = {f"encoder_{k}": shape(INPUTS) for k in ("input_tokens", "segment_ids", "positions")}
    out.update({f"decoder_{k}": shape(TARGETS) for k in (
        "input_tokens", "target_tokens", "loss_weights", "segment_ids", "positions")})
    return out


def measure(config, data: int, model: int) -> dict:
    """XLA's temporaries of the trainer's step (its shardings, donated state) vs the
    estimate, per device."""
    net, dummy = build_model(config)
    mesh = partitioning.make_mesh(model_parallel=model, num_devices=data * model)
    boxed = jax.eval_shape(lambda: net.init(jax.random.PRNGKey(0), **dummy()))
    params = nn.meta.unbox(boxed)["params"]
    param_shard = partitioning.param_shardings(nn.get_partition_spec(boxed)["params"], mesh)
    optimizer = optim.adafactor(1e-3)
    state = jax.eval_shape(lambda p: {"step": jnp.zeros((), jnp.int32), "params": p,
                                      "opt_state": optimizer.init(p)}, params)
    state_shard = jax.tree.map(lambda _: partitioning.replicated(mesh), state)
    state_shard["params"] = param_shard
    state_shard["opt_state"] = partitioning.optimizer_state_shardings(
        state["opt_state"], params, param_shard)
    step = jax.jit(trainer.make_train_step(net, optimizer, dropout=True),
                   in_shardings=(state_shard, partitioning.batch_sharding(mesh),
                                 partitioning.replicated(mesh)),
                   out_shardings=(state_shard, partitioning.replicated(mesh)),
                   donate_argnums=(0,))
    kind = model_type(config)
    compiled = step.lower(state, batch_shapes(kind),
                          jax.ShapeDtypeStruct((2,), jnp.uint32)).compile()
    return {"xla": compiled.memory_analysis().temp_size_in_bytes,
            "estimate": activation_bytes(config, kind, BATCH, INPUTS, TARGETS, data, model)}


T5 = T5Config(vocab_size=256, d_model=64, d_ff=256, num_heads=8, d_kv=16,
              num_encoder_layers=2, num_decoder_layers=2, dropout_rate=0.1)
LM = DecoderOnlyConfig(vocab_size=256, d_model=64, d_ff=128, num_heads=4, d_kv=16,
                       num_layers=2, dropout_rate=0.1)
out = {"devices": jax.device_count()}
for name, config, data, model in [("t5 1x1", T5, 1, 1), ("decoder-only 1x1", LM, 1, 1),
                                  ("t5 8x1", T5, 8, 1), ("t5 4x2", T5, 4, 2),
                                  ("t5 2x4", T5, 2, 4)]:
    out[name] = measure(config, data, model)
print("RESULT " + json.dumps(out))
