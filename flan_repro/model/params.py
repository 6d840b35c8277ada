"""Parameter shapes and counts without allocating (jax.eval_shape of the model init)."""
from __future__ import annotations

from typing import Any, Union

import jax
import numpy as np
from flax import linen as nn

from flan_repro.model import decoder_only, t5
from flan_repro.model.loading import build_model

AnyConfig = Union[t5.T5Config, decoder_only.DecoderOnlyConfig]


def param_shapes(config: AnyConfig) -> Any:
    """Tree of jax.ShapeDtypeStruct mirroring the params of the model built from `config`."""
    model, dummy_batch = build_model(config)
    variables = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), **dummy_batch()))
    return nn.meta.unbox(variables["params"])


def count_params(tree: Any) -> int:
    """Number of scalars in a tree of arrays or ShapeDtypeStructs."""
    return int(sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(tree)))


def count_model_params(config: AnyConfig) -> int:
    return count_params(param_shapes(config))
