"""Training progress: a bar redrawn in place on a terminal, periodic plain lines in a log.

A redraw per logged step suits a terminal; in a log file (`make ablation > run.log`,
CI) the same updates would be ~60 lines per 600-step stage. Off a terminal a line is
logged when the run crosses a tenth of its steps, at its last step, and at least every
`every_s` seconds (paper-scale runs take hours per tenth). `label` names the stage the
run belongs to (`[3/9] tune no_template`), so each line says what it is counting.
"""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("flan_repro.train")
BAR_WIDTH = 24


def duration(seconds: float) -> str:
    """42s, 3m05s, 2h07m: an ETA short enough for the bar."""
    if seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Progress:
    def __init__(self, total: int, start: int = 0, stream=None, label: str = "",
                 every_s: float = 300.0, clock=time.monotonic):
        self.total, self.start, self.label = total, start, label
        self.every_s, self.clock = every_s, clock
        self.t0 = self.last_t = clock()
        self.last_step = start
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.drawn = False

    def text(self, step: int, loss: float, tokens_per_s: float) -> str:
        rate = (step - self.start) / max(self.clock() - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        return (f"step {step}/{self.total} loss {loss:.4f} {tokens_per_s:,.0f} tok/s "
                f"ETA {duration(eta)}")

    def update(self, step: int, loss: float, tokens_per_s: float):
        text = self.text(step, loss, tokens_per_s)
        if self.tty:
            filled = int(BAR_WIDTH * step / max(self.total, 1))
            prefix = f"{self.label} " if self.label else ""
            # \x1b[K clears what a longer previous line left behind
            self.stream.write(f"\r{prefix}[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                              f"{text}\x1b[K")
            self.stream.flush()
            self.drawn = True
            return
        now = self.clock()
        tenth = lambda s: s * 10 // max(self.total, 1)
        if step >= self.total or tenth(step) > tenth(self.last_step) or \
                now - self.last_t >= self.every_s:
            log.info("%s%s", f"{self.label}: " if self.label else "", text)
            self.last_step, self.last_t = step, now

    def close(self):
        if self.drawn:            # the finished bar stays on screen
            self.stream.write("\n")
            self.stream.flush()
