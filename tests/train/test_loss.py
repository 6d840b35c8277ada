"""The loss definition is pinned: mean NLL over the batch's non-padding target tokens."""
import jax
import numpy as np

from flan_repro.train import loss


def test_mean_over_all_weighted_tokens_not_mean_of_example_means():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 7)).astype(np.float32)
    targets = rng.integers(0, 7, size=(2, 4))
    weights = np.array([[1, 1, 1, 1], [1, 0, 0, 0]], np.float32)   # 4 tokens and 1 token
    logp = jax.nn.log_softmax(logits, -1)
    nll = -np.take_along_axis(np.asarray(logp), targets[..., None], -1)[..., 0]
    expected = (nll * weights).sum() / weights.sum()
    mean_of_means = np.mean([(nll[i] * weights[i]).sum() / weights[i].sum() for i in range(2)])
    got = float(loss.mean_token_loss(logits, targets, weights))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert abs(got - mean_of_means) > 1e-3      # the two definitions differ here


def test_all_padding_batch_gives_zero_not_nan():
    z = np.zeros((1, 3, 5), np.float32)
    assert float(loss.mean_token_loss(z, np.zeros((1, 3), int), np.zeros((1, 3)))) == 0.0
