"""`flan-repro ablation --dry_run`: the whole plan of one ablation, with nothing read or run.

A paper-scale ablation holds a pod slice for days. Everything that decides whether it
is the intended run is known from the profile, its gin and the catalogue alone: the
stages and their steps, what each tunes on and from which checkpoint, what each
evaluation scores, the mesh, and whether each training stage fits a device. So the
plan is printed from those, before the pod exists and before the checkpoint or the data
are in place: a base checkpoint that does not exist yet plans the same.

The stages are `runner.plan_ablation`'s, the list a run executes; a training stage's
memory is `train.dry_run.memory_report` inside the gin scope the stage would train in
(`runner.training_bindings`), so the table is for the batch and lengths it will use.
"""
from __future__ import annotations

from pathlib import Path

from flan_repro.ablation import runner
from flan_repro.ablation.profile import RunConfig


def _memory(run: RunConfig, st: runner.Stage, device_memory: str | None,
            device_kind: str | None) -> tuple[str, str | None]:
    """(memory table, the checkpoint it starts from) of a training stage, parsed in the
    stage's own gin scope; nothing is allocated and the checkpoint is not opened."""
    import gin
    from flan_repro import gin_config
    from flan_repro.train import dry_run
    with gin_config.gin_scope(list(run.profile.train_gin), runner.training_bindings(
            Path(st.checkpoint), st.mixture, st.steps, list(st.bindings))):
        try:
            init_from = gin.query_parameter("train.init_from")
        except ValueError:          # unbound: the trainer's default, from scratch
            init_from = None
        text = dry_run.memory_report(device_memory=device_memory, device_kind=device_kind)
    return text, init_from


def _examples(run: RunConfig) -> str:
    """How much of each split an evaluation scores (the profile's caps)."""
    prof = run.profile
    cap = prof.eval_max_examples
    dev = prof.eval_max_dev_examples if prof.eval_max_dev_examples is not None else cap
    test = "every example" if cap is None else f"at most {cap} examples"
    return (f"{test} per split and template" +
            (f" ({'every example' if dev is None else dev} on dev)" if dev != cap else ""))


def plan_text(cluster: str, run: RunConfig, shots: int, out: Path, seeds: int = 1,
              device_memory: str | None = None, device_kind: str | None = None) -> str:
    """The printed plan: a header, every stage with what it trains or scores, and the
    memory table of each distinct training configuration."""
    prof, reg = run.profile, run.registry
    reg.catalogue.cluster(cluster)      # a bad name fails before the plan
    stages = runner.plan_ablation(cluster, run, shots, out, seeds=seeds)
    lines = [f"ablation dry run: {cluster} held out, profile {prof.name}, {shots}-shot, "
             f"{seeds} seed{'s' * (seeds > 1)}; nothing is read, trained or evaluated",
             f"output: {out}",
             f"base checkpoint: {prof.base_checkpoint or 'pretrained here (toy span corruption)'}",
             f"data: {reg.data_dir}, vocabulary {reg.vocabulary}, suite {reg.suite}",
             f"trainer gin: {' + '.join(prof.train_gin)}",
             f"evaluations: {_examples(run)}", "",
             f"stages ({len(stages)}):"]
    tables: dict[str, list[str]] = {}      # memory table -> the stages it is for
    for number, (st, headline) in enumerate(zip(stages, runner.format_plan(stages)), 1):
        lines.append(headline)
        if st.steps:
            table, init_from = _memory(run, st, device_memory, device_kind)
            tables.setdefault(table, []).append(str(number))
            lines.append(f"    trains {st.mixture} from {init_from or 'scratch'} "
                         f"into {st.checkpoint}")
        elif st.row is not None:
            lines.append(f"    scores {st.checkpoint} with {st.row.eval_format} prompts, "
                         f"{st.row.shots}-shot, on {', '.join(st.datasets)}")
        else:
            lines.append(f"    writes report.md, report.csv, summary.json, figures/ in {out}")
    for table, numbers in tables.items():
        lines += ["", f"memory of training stage{'s' * (len(numbers) > 1)} "
                      f"{', '.join(numbers)}:"]
        lines += ["  " + line for line in table.splitlines()]
    return "\n".join(lines)
