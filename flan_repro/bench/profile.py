"""Where a compiled step's wall time goes, read from a jax.profiler trace.

Why not sum the per-op durations: XLA:CPU runs independent thunks concurrently, so op
durations overlap and add up to more than the step. Here every instant of the trace is
split evenly among the ops running at that instant (a sweep over start/end times), which
sums to the step's busy wall time. Ops are the compiled program's HLO instructions; each
is grouped by the jax `op_name` metadata XLA keeps on it:

  pass  forward ('jvp(' in the name), backward ('transpose(jvp('), update (the rest:
        the optimizer and anything outside the differentiated loss)
  part  attention, mlp, logits/embedding, norm, other (loss, masks, optimizer)
  kind  matmul (a dot or convolution, or a fusion calling one) or element-wise

`flan-repro bench --profile` reports it for the B1 step; on GPU/TPU the kernels carry the
same instruction names, so the same grouping applies.
"""
from __future__ import annotations

import collections
import gzip
import json
import re
import tempfile
from pathlib import Path
from typing import Callable, Iterable

_COMPUTATION = re.compile(r"^%?([\w.\-]+) \(.*\) -> .* \{$")
_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%?([\w.\-]+) = (\S+) ([\w\-]+)\(")
_CALLS = re.compile(r"calls=%?([\w.\-]+)")
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_MATMUL_OPCODES = ("dot", "convolution")

PARTS = (("attention", "attention"), ("mlp", "mlp"), ("logits_dense", "logits/embedding"),
         ("token_embedder", "logits/embedding"), ("norm", "norm"))


def hlo_instructions(hlo_text: str) -> dict:
    """{instruction name: {"shape", "opcode", "op_name", "matmul"}} of a compiled HLO text.

    An instruction counts as a matmul if it is a dot/convolution or calls a computation
    that contains one (XLA:CPU wraps library dots in custom fusions)."""
    has_dot, calls, out = {}, {}, {}
    current = None
    for line in hlo_text.splitlines():
        m = _COMPUTATION.match(line.strip())
        if m:
            current = m.group(1)
            has_dot.setdefault(current, False)
            continue
        m = _INSTRUCTION.match(line)
        if not m:
            continue
        name, shape, opcode = m.groups()
        if current is not None and opcode in _MATMUL_OPCODES:
            has_dot[current] = True
        c = _CALLS.search(line)
        o = _OP_NAME.search(line)
        calls[name] = c.group(1) if c else None
        out.setdefault(name, {"shape": shape, "opcode": opcode,
                              "op_name": o.group(1) if o else ""})
    for name, info in out.items():
        info["matmul"] = (info["opcode"] in _MATMUL_OPCODES
                          or bool(calls.get(name) and has_dot.get(calls[name])))
    return out


def attribute(intervals: Iterable[tuple[float, float, str]]) -> collections.Counter:
    """Busy wall time per name from (start, duration, name) intervals: each instant is
    shared evenly among the intervals open at that instant."""
    points = []
    for start, dur, name in intervals:
        points.append((start, 1, name))
        points.append((start + dur, -1, name))
    points.sort(key=lambda p: (p[0], p[1]))
    active: collections.Counter = collections.Counter()
    share: collections.Counter = collections.Counter()
    last = None
    for t, delta, name in points:
        n = sum(active.values())
        if last is not None and n:
            for k, c in active.items():
                share[k] += (t - last) * c / n
        last = t
        active[name] += delta
        if active[name] <= 0:
            del active[name]
    return share


def classify(op_name: str) -> tuple[str, str]:
    """(pass, part) of an instruction from its jax op_name metadata."""
    if "transpose(jvp(" in op_name:
        pass_ = "backward"
    elif "jvp(" in op_name:
        pass_ = "forward"
    else:
        pass_ = "update"
    part = next((label for key, label in PARTS if key in op_name), "other")
    return pass_, part


def trace_events(trace_dir: Path) -> list:
    """Complete ('X') events of the newest perfetto trace under `trace_dir`."""
    files = sorted(Path(trace_dir).rglob("perfetto_trace.json.gz"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise RuntimeError(f"jax.profiler wrote no perfetto trace under {trace_dir}")
    data = json.load(gzip.open(files[-1]))
    events = data["traceEvents"] if isinstance(data, dict) else data
    return [e for e in events if e.get("ph") == "X" and "dur" in e]


def profile_step(step: Callable[[], None], hlo_text: str, steps: int = 3,
                 top: int = 15) -> dict:
    """Run `step` (blocking) `steps` times under jax.profiler and split its wall time.

    Returns busy_ms_per_step (attributed to the program's instructions), its matmul part
    matmul_ms_per_step, groups [{pass, part, kind, ms}] sorted by time, and the `top`
    instructions by time."""
    import jax
    ops = hlo_instructions(hlo_text)
    with tempfile.TemporaryDirectory() as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        try:
            for _ in range(steps):
                step()
        finally:
            jax.profiler.stop_trace()
        events = trace_events(Path(tmp))
    share = attribute((e["ts"], e["dur"], e["name"]) for e in events if e["name"] in ops)
    per_step = {k: v / steps / 1000.0 for k, v in share.items()}     # trace times are in us
    groups: collections.Counter = collections.Counter()
    for name, ms in per_step.items():
        info = ops[name]
        pass_, part = classify(info["op_name"])
        groups[(pass_, part, "matmul" if info["matmul"] else "element-wise")] += ms
    top_ops = sorted(per_step.items(), key=lambda kv: -kv[1])[:top]
    return {
        "steps": steps,
        "busy_ms_per_step": sum(per_step.values()),
        "matmul_ms_per_step": sum(ms for (_, _, kind), ms in groups.items() if kind == "matmul"),
        "groups": [{"pass": p, "part": q, "kind": k, "ms": ms}
                   for (p, q, k), ms in groups.most_common()],
        "top_ops": [{"name": n, "ms": ms, "shape": ops[n]["shape"], "matmul": ops[n]["matmul"],
                     "op_name": ops[n]["op_name"]} for n, ms in top_ops],
    }


def format_profile(prof: dict) -> list:
    """Report lines: a pass x part table of matmul / element-wise milliseconds per step."""
    busy = prof["busy_ms_per_step"]
    lines = [f"   profile ({prof['steps']} traced steps; busy wall time {busy:.0f} ms/step, "
             "shared among concurrent ops):",
             f"     {'pass':<10}{'part':<18}{'matmul ms':>10}{'other ms':>10}{'share':>8}"]
    table: dict = collections.defaultdict(lambda: {"matmul": 0.0, "element-wise": 0.0})
    for g in prof["groups"]:
        table[(g["pass"], g["part"])][g["kind"]] += g["ms"]
    for (p, q), v in sorted(table.items(), key=lambda kv: -sum(kv[1].values())):
        total = sum(v.values())
        lines.append(f"     {p:<10}{q:<18}{v['matmul']:>10.1f}{v['element-wise']:>10.1f}"
                     f"{100 * total / max(busy, 1e-9):>7.1f}%")
    if prof.get("mfu_bound_matmuls_only"):
        lines.append(f"     matmuls take {prof['matmul_ms_per_step']:.0f} ms/step: even with all "
                     f"other work free, MFU would be {prof['mfu_bound_matmuls_only']:.1%}")
    return lines
