"""Score targets given inputs: log p(target | input) per JSONL line.

  flan-repro score --checkpoint runs/nli --input pairs.jsonl --output scored.jsonl

Each input line is a JSON object with `inputs` and `targets` text (tokenized with
--vocabulary, EOS appended to both, as the tasks do) or `input_ids` and
`target_ids` (used verbatim: include the EOS id 1 yourself if it should be scored).
Each output line is the input object plus `score` (the sum of the target's token
log-probs, including EOS for text targets), `token_logprobs` and `num_tokens`.
Inputs longer than --max_input_length are trimmed at the start.
"""
from __future__ import annotations

import json
from pathlib import Path


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="model dir | hf:DIR | t5x:DIR")
    p.add_argument("--input", required=True, help="JSONL with inputs/targets or input_ids/target_ids")
    p.add_argument("--output", required=True, help="JSONL to write")
    p.add_argument("--vocabulary", default="toy",
                   help="toy | t5 | path to a SentencePiece model (for text lines)")
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--max_input_length", type=int, default=1024)


def read_requests(path: str) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--input {path}: no such file (expected JSONL)")
    rows = []
    with open(p) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{n}: expected a JSON object")
            has_ids = "input_ids" in row and "target_ids" in row
            if not has_ids and not ("inputs" in row and "targets" in row):
                raise ValueError(f"{path}:{n}: needs `inputs` and `targets` (text) or "
                                 f"`input_ids` and `target_ids`")
            rows.append(row)
    return rows


def split_request(row: dict):
    if "input_ids" in row and "target_ids" in row:
        return [int(t) for t in row["input_ids"]], [int(t) for t in row["target_ids"]]
    return str(row["inputs"]), str(row["targets"])


def score_rows(scorer, rows: list[dict]) -> list[dict]:
    pairs = [split_request(r) for r in rows]
    scores = scorer.score([x for x, _ in pairs], [y for _, y in pairs])
    return [{**r, **s.to_dict()} for r, s in zip(rows, scores)]


def run(args) -> int:
    from flan_repro.model.loading import check_checkpoint, load_checkpoint
    ref = check_checkpoint(args.checkpoint)
    rows = read_requests(args.input)
    vocab = None
    if any(not ("input_ids" in r and "target_ids" in r) for r in rows):
        from flan_repro.data.vocab import get_vocabulary
        vocab = get_vocabulary(args.vocabulary)
    from flan_repro.evaluate.scoring import Scorer
    scorer = Scorer(load_checkpoint(ref), vocab, batch_size=args.batch_size,
                    max_input_length=args.max_input_length)
    out = score_rows(scorer, rows)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w") as f:
        for row in out:
            f.write(json.dumps(row) + "\n")
    print(f"scored {len(out)} lines -> {args.output}")
    return 0
