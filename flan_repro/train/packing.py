"""Packing a window of examples into fixed-length rows, in seqio's packed layout.

Why not seqio's packer: `trim_and_pack_dataset` is next-fit, it closes a row as soon as
the next example does not fit, which leaves about 30% padding at the toy lengths
(inputs 256 / targets 64) with FLAN's short prompts. Here a window of a few thousand
examples is packed row by row, each row filled with the examples that best fit the room
it has left. The rows carry exactly the features `EncDecFeatureConverter(pack=True)` /
`PrefixLMFeatureConverter(pack=True)` emit (same names, int32, same conventions), so the
model and the loss see no difference other than less padding.

Encoder-decoder rows have two capacities, an example must fit in both the inputs row and
the targets row; a prefix LM packs inputs + targets as one sequence. Packing is a pure
function of the window's lengths, so the same examples give the same rows.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Iterator

import numpy as np

# Part of BatchStore's cache key: bump it whenever the rows a window yields change.
VERSION = 1


@dataclasses.dataclass(frozen=True)
class Ragged:
    """Variable-length token sequences, concatenated: `tokens[starts[i]:starts[i] + lengths[i]]`."""
    tokens: np.ndarray     # [total] int32
    lengths: np.ndarray    # [n] int

    @property
    def starts(self) -> np.ndarray:
        return np.cumsum(self.lengths) - self.lengths

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        s = int(self.starts[i])
        return self.tokens[s:s + int(self.lengths[i])]

    @classmethod
    def from_padded(cls, padded: np.ndarray, lengths: np.ndarray) -> "Ragged":
        """From a right-padded [n, width] array and each row's true length."""
        lengths = np.asarray(lengths, np.int64)
        keep = np.arange(padded.shape[1])[None, :] < lengths[:, None]
        return cls(np.asarray(padded, np.int32)[keep], lengths)

    @classmethod
    def from_lists(cls, seqs) -> "Ragged":
        lengths = np.array([len(s) for s in seqs], np.int64)
        tokens = np.concatenate([np.asarray(s, np.int32) for s in seqs]) if len(seqs) else \
            np.zeros(0, np.int32)
        return cls(tokens.astype(np.int32), lengths)


def fill_rows(sizes: np.ndarray, capacity) -> np.ndarray:
    """Row of each example; `sizes` [n, d] tokens in each of d sequences, `capacity` [d].

    Rows are filled one at a time: of the examples left that fit in the row's remaining
    room, take the one that leaves the room closest to empty, and close the row when none
    fits; rows are numbered in the order they fill. "Closest" is a squared distance over
    the dimensions, each as a share of its capacity and weighted by its share of the
    tokens still to place. Matching the room's shape is what makes two capacities work:
    after a target-heavy example the row takes input-heavy ones. Best-fit decreasing on
    summed size, the usual 1-d choice, stacks target-heavy examples together and reaches
    only 85% at 256/64 on the toy mixture, against 91% here; most of the rest is examples
    whose targets fill a 64-token row alone. With one dimension this is "largest example
    that fits". The result depends only on `sizes`.
    """
    sizes = np.asarray(sizes, np.int64).reshape(len(sizes), -1)
    capacity = np.asarray(capacity, np.int64).reshape(-1)
    if np.any(sizes > capacity):
        raise ValueError(f"an example is longer than the row ({sizes.max(0)} > {capacity}); "
                         f"trim examples to the feature lengths before packing")
    n, dims = sizes.shape
    # Columns [0, live) hold the examples not yet placed; a placed one swaps with the last.
    size = np.ascontiguousarray(sizes.T)
    share = size / capacity[:, None]
    example = np.arange(n)
    row_of = np.empty(n, np.int64)
    live, row = n, 0
    while live:
        demand = share[:, :live].sum(1)
        weight = dims * demand / max(demand.sum(), 1e-12)
        own = weight @ share[:, :live] ** 2          # the |x|^2 of |room - x|^2
        room = capacity.copy()
        while live:
            fits = size[0, :live] <= room[0]
            for d in range(1, dims):
                fits &= size[d, :live] <= room[d]
            # -|room - x|^2 up to a term without x: 2 room.x - |x|^2, on weighted shares
            score = (2 * weight * room / capacity) @ share[:, :live] - own[:live]
            j = int(np.argmax(np.where(fits, score, -np.inf)))
            if not fits[j]:
                break
            row_of[example[j]] = row
            room -= size[:, j]
            live -= 1
            for a in (size, share):
                a[:, j] = a[:, live]
            example[j], own[j] = example[live], own[live]
        row += 1
    return row_of


@dataclasses.dataclass(frozen=True)
class _Layout:
    """Where each token of a ragged feature goes in the packed [rows, length] arrays."""
    dest: np.ndarray       # [total] flat index into rows * length
    example: np.ndarray    # [total] which example the token belongs to
    position: np.ndarray   # [total] position within its example
    segment: np.ndarray    # [total] 1-based segment id within its row


def _segments(row_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each example's 1-based segment id within its row, the examples sorted by row);
    within a row, examples keep their window order."""
    n = len(row_of)
    order = np.argsort(row_of, kind="stable")
    rows = row_of[order]
    first = np.r_[True, rows[1:] != rows[:-1]] if n else np.zeros(0, bool)
    idx = np.arange(n)
    segment = np.empty(n, np.int64)
    segment[order] = idx - np.maximum.accumulate(np.where(first, idx, 0)) + 1
    return segment, order


def _layout(lengths: np.ndarray, row_of: np.ndarray, length: int) -> _Layout:
    """Examples sit in their row in window order, each right after the previous one."""
    segment, order = _segments(row_of)
    lens_in_order = lengths[order]
    ends = np.cumsum(lens_in_order)
    starts = ends - lens_in_order
    first = segment[order] == 1
    offset = np.empty(len(lengths), np.int64)
    offset[order] = starts - np.maximum.accumulate(np.where(first, starts, 0))
    example = np.repeat(np.arange(len(lengths)), lengths)
    position = np.arange(int(lengths.sum())) - (np.cumsum(lengths) - lengths)[example]
    dest = row_of[example] * length + offset[example] + position
    return _Layout(dest, example, position, segment[example])


def _scatter(num_rows: int, length: int, dest: np.ndarray, values) -> np.ndarray:
    out = np.zeros(num_rows * length, np.int32)
    out[dest] = values
    return out.reshape(num_rows, length)


def _shifted_within_segment(tokens: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Autoregressive inputs: the previous token of the same example, 0 at its start
    (seqio's make_autoregressive_inputs with sequence ids and bos_id=0)."""
    previous = np.concatenate([np.zeros(1, np.int32), tokens[:-1]])
    return np.where(position > 0, previous, 0)


def encoder_decoder_rows(inputs: Ragged, targets: Ragged, row_of: np.ndarray,
                         lengths: tuple[int, int]) -> dict[str, np.ndarray]:
    """Packed rows in `EncDecFeatureConverter(pack=True)` layout."""
    num_rows = int(row_of.max()) + 1 if len(row_of) else 0
    enc_len, dec_len = lengths
    enc = _layout(inputs.lengths, row_of, enc_len)
    dec = _layout(targets.lengths, row_of, dec_len)
    dec_in = _shifted_within_segment(targets.tokens, dec.position)
    return {
        "encoder_input_tokens": _scatter(num_rows, enc_len, enc.dest, inputs.tokens),
        "encoder_segment_ids": _scatter(num_rows, enc_len, enc.dest, enc.segment),
        "encoder_positions": _scatter(num_rows, enc_len, enc.dest, enc.position),
        "decoder_target_tokens": _scatter(num_rows, dec_len, dec.dest, targets.tokens),
        "decoder_input_tokens": _scatter(num_rows, dec_len, dec.dest, dec_in),
        "decoder_loss_weights": _scatter(num_rows, dec_len, dec.dest, 1),
        "decoder_segment_ids": _scatter(num_rows, dec_len, dec.dest, dec.segment),
        "decoder_positions": _scatter(num_rows, dec_len, dec.dest, dec.position),
    }


def concatenate(inputs: Ragged, targets: Ragged) -> Ragged:
    """Each example's inputs followed by its targets (the prefix LM's sequence)."""
    lengths = inputs.lengths + targets.lengths
    starts = np.cumsum(lengths) - lengths
    tokens = np.zeros(int(lengths.sum()), np.int32)
    for part, shift in ((inputs, 0), (targets, inputs.lengths)):
        example = np.repeat(np.arange(len(part)), part.lengths)
        position = np.arange(len(part.tokens)) - part.starts[example]
        tokens[(starts + shift)[example] + position] = part.tokens
    return Ragged(tokens, lengths)


def prefix_lm_rows(inputs: Ragged, targets: Ragged, row_of: np.ndarray,
                   length: int) -> dict[str, np.ndarray]:
    """Packed rows in `PrefixLMFeatureConverter(pack=True)` layout (loss on targets only).

    As in seqio, `decoder_causal_attention` also covers the first target position, where
    the last input token is read and the first target predicted.
    """
    num_rows = int(row_of.max()) + 1 if len(row_of) else 0
    seq = concatenate(inputs, targets)
    lay = _layout(seq.lengths, row_of, length)
    inputs_width = inputs.lengths[lay.example]
    return {
        "decoder_target_tokens": _scatter(num_rows, length, lay.dest, seq.tokens),
        "decoder_input_tokens": _scatter(num_rows, length, lay.dest,
                                         _shifted_within_segment(seq.tokens, lay.position)),
        "decoder_loss_weights": _scatter(num_rows, length, lay.dest,
                                         lay.position >= inputs_width),
        "decoder_causal_attention": _scatter(num_rows, length, lay.dest,
                                             lay.position <= inputs_width),
        "decoder_segment_ids": _scatter(num_rows, length, lay.dest, lay.segment),
        "decoder_positions": _scatter(num_rows, length, lay.dest, lay.position),
    }


def pack_window(inputs: Ragged, targets: Ragged, model_type: str,
                lengths: tuple[int, int]) -> dict[str, np.ndarray]:
    """All examples of one window as packed rows, in the order the rows fill."""
    inputs_length, targets_length = lengths
    if model_type == "encoder_decoder":
        sizes = np.stack([inputs.lengths, targets.lengths], 1)
        return encoder_decoder_rows(inputs, targets, fill_rows(sizes, lengths), lengths)
    if model_type == "prefix_lm":
        length = inputs_length + targets_length
        sizes = inputs.lengths + targets.lengths
        return prefix_lm_rows(inputs, targets, fill_rows(sizes, [length]), length)
    raise ValueError(f"model_type must be 'encoder_decoder' or 'prefix_lm', got {model_type!r}")


def packed_batches(windows: Iterable[tuple[Ragged, Ragged]], model_type: str,
                   lengths: tuple[int, int], batch_size: int,
                   seed: int) -> Iterator[dict[str, np.ndarray]]:
    """Batches of `batch_size` packed rows from successive windows of examples.

    Row fill is uneven (an example whose targets fill a row alone leaves its inputs row
    mostly empty), so a window's rows are dealt out like cards: sorted fullest first,
    with m batches in the window batch q takes rows q, q + m, q + 2m, ..., one from each
    stretch, and the batches come in a random order seeded by `seed` and the window's
    index. Batches then hold about the same number of tokens. Rows left over after the
    last whole batch go first into the next window's deal; a final partial batch is
    dropped, as seqio's `drop_remainder=True` does.
    """
    carried = None
    for w, (inputs, targets) in enumerate(windows):
        rows = pack_window(inputs, targets, model_type, lengths)
        if carried is not None:
            rows = {k: np.concatenate([carried[k], v]) for k, v in rows.items()}
        tokens = sum((v != 0).sum(1) for k, v in rows.items()
                     if k in ("encoder_input_tokens", "decoder_target_tokens"))
        num_batches = len(tokens) // batch_size
        dealt = num_batches * batch_size
        fullest_first = np.argsort(-tokens[:dealt], kind="stable")
        by_batch = fullest_first.reshape(batch_size, num_batches).T
        for q in np.random.default_rng([seed, w]).permutation(num_batches):
            yield {k: v[by_batch[q]] for k, v in rows.items()}
        carried = {k: v[dealt:] for k, v in rows.items()}
