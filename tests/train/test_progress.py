"""Progress: a bar redrawn in place on a terminal, a line per tenth of the run in a log;
both say which stage they count. A fake clock makes rates and ETAs exact."""
import io
import logging
import re

import pytest

from flan_repro.train.progress import Progress, duration


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (42.4, "42s"), (185, "3m05s"),
                                           (7620, "2h07m"), (float("inf"), "?")])
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_eta_from_the_steps_done_since_start():
    clock = Clock()
    p = Progress(600, start=100, stream=io.StringIO(), clock=clock)
    clock.t += 50.0                                 # 100 steps in 50 s: 2 steps/s
    assert p.text(200, 2.5, 1234.4) == "step 200/600 loss 2.5000 1,234 tok/s ETA 3m20s"


def test_terminal_bar_is_redrawn_in_place_with_the_stage_label():
    clock, term = Clock(), Terminal()
    p = Progress(100, stream=term, label="[3/14] tune no_template", clock=clock)
    for step in (10, 50):
        clock.t += 10.0
        p.update(step, 1.0, 100.0)
    p.close()
    out = term.getvalue()
    frames = out.split("\r")[1:]
    assert len(frames) == 2 and out.endswith("\n")
    assert frames[1].startswith("[3/14] tune no_template [############............] "
                                "step 50/100 loss 1.0000 100 tok/s ETA 20s")


def test_closing_an_untouched_bar_prints_nothing():
    term = Terminal()
    Progress(10, start=10, stream=term).close()
    assert term.getvalue() == ""


def test_log_gets_a_line_per_tenth_and_the_last_step(caplog):
    clock = Clock()
    p = Progress(600, stream=io.StringIO(), label="[2/14] tune instruction", clock=clock)
    with caplog.at_level(logging.INFO, logger="flan_repro.train"):
        for step in range(10, 601, 10):             # the trainer's log_every = 10
            clock.t += 1.0
            p.update(step, 3.0, 50.0)
        p.close()
    lines = [r.getMessage() for r in caplog.records]
    steps = [int(re.search(r"step (\d+)/600", m).group(1)) for m in lines]
    assert steps == [60, 120, 180, 240, 300, 360, 420, 480, 540, 600]
    assert all(m.startswith("[2/14] tune instruction: step ") for m in lines)
    assert lines[-1].endswith("ETA 0s")


def test_log_line_at_least_every_interval_on_long_runs(caplog):
    clock = Clock()
    p = Progress(100_000, stream=io.StringIO(), every_s=300, clock=clock)
    with caplog.at_level(logging.INFO, logger="flan_repro.train"):
        for step in range(100, 1001, 100):          # all within the first tenth
            clock.t += 200.0
            p.update(step, 3.0, 50.0)
    steps = [int(re.search(r"step (\d+)/", r.getMessage()).group(1)) for r in caplog.records]
    assert steps == [200, 400, 600, 800, 1000]      # 400 s apart: each after >= 300 s
