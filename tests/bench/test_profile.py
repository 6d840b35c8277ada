"""The profiler's pure parts: sharing overlapping op time, reading compiled HLO, grouping."""
import jax
import jax.numpy as jnp
import pytest

from flan_repro.bench import profile


def test_overlapping_ops_share_the_wall_time():
    share = profile.attribute([(0, 10, "a"), (5, 10, "b"), (20, 4, "c")])
    assert share == pytest.approx({"a": 7.5, "b": 7.5, "c": 4.0})
    assert sum(share.values()) == pytest.approx(19.0)      # busy time: [0, 15) and [20, 24)


def test_same_op_twice_and_back_to_back():
    share = profile.attribute([(0, 2, "a"), (2, 2, "a"), (1, 2, "b")])
    assert share == pytest.approx({"a": 3.0, "b": 1.0})


def test_compiled_hlo_marks_matmuls():
    x, w = jnp.ones((64, 32)), jnp.ones((32, 16))
    text = jax.jit(lambda x, w: jnp.tanh(x @ w) * 2.0).lower(x, w).compile().as_text()
    ops = profile.hlo_instructions(text)
    assert any(o["matmul"] for o in ops.values())
    assert any(not o["matmul"] and o["opcode"] != "parameter" for o in ops.values())


@pytest.mark.parametrize("op_name, expected", [
    ("jit(train_step)/jvp(T5)/T5.decode/decoder/logits_dense/dot_general",
     ("forward", "logits/embedding")),
    ("jit(train_step)/transpose(jvp(T5))/encoder/layers_0/attention/query/dot_general",
     ("backward", "attention")),
    ("jit(train_step)/transpose(jvp(T5))/encoder/layers_1/mlp/wi_0/dot_general",
     ("backward", "mlp")),
    ("jit(train_step)/rsqrt", ("update", "other")),
])
def test_classify(op_name, expected):
    assert profile.classify(op_name) == expected
