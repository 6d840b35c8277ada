"""The prompt-tuning loop: L soft-prompt embeddings learned in front of a frozen model.

Prompt tuning (Lester et al. 2021) keeps every model weight fixed and learns only an
[L, d_model] matrix placed before the embedded encoder input (T5) or, for the
decoder-only prefix LM, before the sequence inside its bidirectional prefix (the
models' `prompt` argument). The model's params enter the jitted step as an argument
that is never differentiated nor returned: `jax.value_and_grad` takes the prompt
alone, and the optimizer state holds the prompt's statistics only.

Data (the FLAN paper's Sec. 4.5 tunes one prompt per dataset on its train split, with
32 examples or the whole split): N train examples drawn with a seeded local RNG (or
all), each rendered with one of the dataset's standard instruction templates (the
evaluation templates: turned-around ones have no option as their target), drawn with
the same RNG, so one prompt is trained on all templates mixed and evaluated per
template like every other row of the report. Targets are the template's answer text
(for classification, the gold option), the loss the trainer's mean token
cross-entropy. Inputs longer than `max_input_length` lose their start, as the scorer
trims them.

Init: rows of the model's input embedding at ids drawn from the `init_vocab_size`
most common pieces (SentencePiece orders pieces by score, so after pad/EOS/UNK the
lowest ids are the most common: Lester et al.'s "sampled vocab"), or uniform in
[-0.5, 0.5]. The batch of step s is a pure function of (seed, s) (a seeded
permutation per epoch), and dropout is off, so a run resumed from its orbax
checkpoint (DIR/checkpoints: step, prompt, optimizer state) gives the prompt of an
uninterrupted one bitwise.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import gin
import jax
import jax.numpy as jnp
import numpy as np
import optax

from flan_repro.evaluate.scoring import EOS_ID
from flan_repro.model import loading
from flan_repro.model.decoder_only import prefix_lm_features

log = logging.getLogger(__name__)

FIRST_PIECE = 3          # after pad (0), EOS (1) and UNK (2)
INITS = ("vocab", "uniform")
OPTIMIZERS = ("adafactor", "adam")


@gin.configurable
@dataclasses.dataclass(frozen=True)
class PromptTuningConfig:
    """The recipe (`gin/prompt_tuning/*.gin`); the CLI's flags override single fields."""
    prompt_length: int = 10
    init: str = "vocab"                 # one of INITS
    init_vocab_size: int = 5000         # "vocab": ids drawn from this many most common
    optimizer: str = "adafactor"        # one of OPTIMIZERS
    learning_rate: float = 0.3
    weight_decay: float = 0.0
    steps: int = 100
    batch_size: int = 32
    train_examples: int | None = None   # None: the whole train split
    seed: int = 0
    checkpoint_every: int = 50
    max_input_length: int = 512
    max_target_length: int = 64

    def __post_init__(self):
        if self.init not in INITS:
            raise ValueError(f"PromptTuningConfig.init must be one of {INITS}, got {self.init!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"PromptTuningConfig.optimizer must be one of {OPTIMIZERS}, "
                             f"got {self.optimizer!r}")
        for name in ("prompt_length", "steps", "batch_size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.train_examples is not None and self.train_examples < 1:
            raise ValueError(f"train_examples must be >= 1 or all, got {self.train_examples}")


# --------------------------------------------------------------------------- data
def training_examples(registry, dataset: str, n: int | None, seed: int) -> list[dict]:
    """`n` rendered train examples of `dataset` (all when None), see the module doc."""
    from flan_repro.registry import examples as ex_lib
    spec = registry.catalogue.dataset(dataset)
    if "train" not in spec.splits:
        raise ValueError(f"dataset {dataset!r} has no train split to tune a prompt on "
                         f"(splits: {', '.join(spec.splits)})")
    templates = ex_lib.eval_template_indices(registry, dataset) or [None]
    rendered = {t: ex_lib.render_split(registry, dataset, "train", template=t)
                for t in templates}
    count = len(rendered[templates[0]])
    if n is not None and n > count:
        raise ValueError(f"dataset {dataset!r}: {n} train examples asked, its train split "
                         f"has {count}")
    rng = np.random.default_rng([seed, 1])
    rows = range(count) if n is None else sorted(rng.choice(count, n, replace=False).tolist())
    picks = rng.integers(len(templates), size=len(rows))
    return [rendered[templates[k]][i] for i, k in zip(rows, picks)]


def tokenize(examples: list[dict], vocab, max_input_length: int, max_target_length: int):
    """(input ids + EOS, trimmed at the start; target ids + EOS, kept from the start)."""
    enc = lambda s: [int(t) for t in vocab.encode(s)] + [EOS_ID]
    return [(enc(r["inputs"])[-max_input_length:], enc(r["targets"])[:max_target_length])
            for r in examples]


def feature_arrays(model_type: str, pairs) -> dict[str, np.ndarray]:
    """All examples as one padded batch of the model's features (one shape: one compile).
    Encoder-decoder: EncDecFeatureConverter names; prefix LM: `prefix_lm_features`."""
    from flan_repro.evaluate.scoring import bucket, teacher_forcing
    lin = bucket(max(len(x) for x, _ in pairs))
    lt = bucket(max(len(t) for _, t in pairs))
    if model_type == "prefix_lm":
        rows = [prefix_lm_features(x, t, lin + lt) for x, t in pairs]
        keys = ("decoder_input_tokens", "decoder_target_tokens", "decoder_loss_weights",
                "decoder_causal_attention")
        return {k: np.stack([r[k] for r in rows]) for k in keys}
    inputs = np.zeros((len(pairs), lin), np.int32)
    for r, (x, _) in enumerate(pairs):
        inputs[r, :len(x)] = x
    dec_in, targets, weights = teacher_forcing(enumerate(t for _, t in pairs), len(pairs), lt)
    return dict(encoder_input_tokens=inputs, decoder_input_tokens=dec_in,
                decoder_target_tokens=targets, decoder_loss_weights=weights)


def batch_indices(num_examples: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Rows of step `step`: positions step*B ... of the stream of per-epoch permutations."""
    flat = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs, pos = flat // num_examples, flat % num_examples
    perms = {e: np.random.default_rng([seed, 2, int(e)]).permutation(num_examples)
             for e in np.unique(epochs)}
    return np.array([perms[e][p] for e, p in zip(epochs, pos)], np.int64)


# --------------------------------------------------------------------------- the prompt
def input_embedding(config, params) -> np.ndarray:
    """The [vocab, d_model] matrix the prompted stack reads its tokens with."""
    if getattr(config, "separate_input_embeddings", False):
        return np.asarray(params["encoder"]["token_embedder"]["embedding"])
    return np.asarray(params["token_embedder"]["embedding"])


def init_prompt(recipe: PromptTuningConfig, embedding: np.ndarray,
                num_pieces: int) -> np.ndarray:
    """[L, d] float32: vocabulary rows (ids of the most common pieces) or uniform noise.
    `num_pieces`: real pieces of the vocabulary (ids above it are the matrix's padding)."""
    rng = np.random.default_rng([recipe.seed, 0])
    length, d = recipe.prompt_length, embedding.shape[1]
    if recipe.init == "uniform":
        return rng.uniform(-0.5, 0.5, (length, d)).astype(np.float32)
    hi = min(FIRST_PIECE + recipe.init_vocab_size, num_pieces, embedding.shape[0])
    ids = rng.choice(np.arange(FIRST_PIECE, hi), length, replace=length > hi - FIRST_PIECE)
    return embedding[ids].astype(np.float32)


def make_optimizer(recipe: PromptTuningConfig) -> optax.GradientTransformation:
    """Constant learning rate, as Lester et al.; Adafactor is the trainer's (optax's)."""
    from flan_repro.train.optim import adafactor
    if recipe.optimizer == "adafactor":
        return adafactor(recipe.learning_rate, weight_decay_rate=recipe.weight_decay or None)
    return optax.adamw(recipe.learning_rate, weight_decay=recipe.weight_decay)


def prompt_loss(config, params, prompt, batch) -> jax.Array:
    """Mean target-token cross-entropy of the frozen model with `prompt` in front."""
    from flan_repro.train.loss import mean_token_loss
    module, _ = loading.build_model(config)
    logits = module.apply({"params": params}, **batch, prompt=prompt)
    return mean_token_loss(logits, batch["decoder_target_tokens"],
                           batch["decoder_loss_weights"])


def make_train_step(config, tx):
    """(prompt, opt_state, params, batch) -> (prompt, opt_state, loss); only the prompt is
    differentiated and updated."""
    def step(prompt, opt_state, params, batch):
        loss, grad = jax.value_and_grad(prompt_loss, argnums=2)(config, params, prompt, batch)
        updates, opt_state = tx.update(grad, opt_state, prompt)
        return optax.apply_updates(prompt, updates), opt_state, loss
    return jax.jit(step)


# --------------------------------------------------------------------------- the loop
@dataclasses.dataclass
class TuneResult:
    prompt: np.ndarray          # [L, d_model] float32
    step: int
    final_loss: float           # at the last step (read back when it was already done)
    num_train_examples: int


def train_prompt(model: loading.LoadedModel, dataset: str, out_dir: str | Path,
                 recipe: PromptTuningConfig, registry, vocab) -> TuneResult:
    """Trains (or resumes) the prompt of `model` on `dataset`; writes DIR/prompt.npy.

    `run` in each checkpoint's meta (the model, dataset and recipe but its step counts)
    must match a resumed run's, so a DIR is never continued with other settings."""
    from flan_repro.train.checkpoints import Checkpointer
    out_dir = Path(out_dir)
    # what a resumed run must share (the learning rate is constant: more steps may follow)
    run = {"checkpoint": model.source, "dataset": dataset,
           "recipe": {k: v for k, v in dataclasses.asdict(recipe).items()
                      if k not in ("steps", "checkpoint_every")}}
    examples = training_examples(registry, dataset, recipe.train_examples, recipe.seed)
    features = feature_arrays(model.model_type, tokenize(
        examples, vocab, recipe.max_input_length, recipe.max_target_length))
    embedding = input_embedding(model.config, model.params)
    prompt = jnp.asarray(init_prompt(recipe, embedding, min(vocab.vocab_size,
                                                            embedding.shape[0])))
    tx = make_optimizer(recipe)
    state = {"step": jnp.int32(0), "prompt": prompt, "opt_state": tx.init(prompt)}
    ckpt = Checkpointer(out_dir / "checkpoints", keep=2)
    loss = None
    try:
        restored = ckpt.restore_latest(jax.eval_shape(lambda: state))
        if restored is not None:
            _, state, meta = restored
            if meta.get("run") != run:
                raise ValueError(f"{out_dir} holds a prompt-tuning run with other settings "
                                 f"({meta.get('run')}); use another --out")
            loss = meta.get("loss")
        start = int(state["step"])
        prompt, opt_state = state["prompt"], state["opt_state"]
        params = jax.tree.map(jnp.asarray, model.params)
        step_fn = make_train_step(model.config, tx)
        if start:
            log.info("resuming prompt tuning at step %d in %s", start, out_dir)
        for step in range(start, recipe.steps):
            rows = batch_indices(len(examples), recipe.batch_size, recipe.seed, step)
            batch = {k: v[rows] for k, v in features.items()}
            prompt, opt_state, loss = step_fn(prompt, opt_state, params, batch)
            done = step + 1
            if done % recipe.checkpoint_every == 0 or done == recipe.steps:
                loss = float(loss)
                if not np.isfinite(loss):
                    raise ValueError(f"prompt tuning diverged at step {done} (loss {loss}): "
                                     f"lower the learning rate")
                ckpt.save(done, {"step": jnp.int32(done), "prompt": prompt,
                                 "opt_state": opt_state}, {"run": run, "loss": loss})
                log.info("prompt tuning %s: step %d/%d, loss %.4f", dataset, done,
                         recipe.steps, loss)
    finally:
        ckpt.close()
    prompt = np.asarray(prompt, np.float32)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "prompt.npy", prompt)
    return TuneResult(prompt, recipe.steps, float(loss), len(examples))


def load_prompt(out_dir: str | Path) -> np.ndarray:
    """The soft prompt a prompt-tuning run wrote (DIR/prompt.npy)."""
    path = Path(out_dir) / "prompt.npy"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no prompt (expected the output of "
                                f"`flan-repro prompt-tune --out {out_dir}`)")
    return np.load(path)


def with_prompt(model: loading.LoadedModel, prompt: Any) -> loading.LoadedModel:
    """The (model, prompt) pair the evaluator scores; the params are shared, not copied."""
    d = model.config.d_model
    if np.ndim(prompt) != 2 or np.shape(prompt)[1] != d:
        raise ValueError(f"a soft prompt is [length, d_model={d}], got {np.shape(prompt)}")
    return dataclasses.replace(model, prompt=jnp.asarray(prompt, jnp.float32))
