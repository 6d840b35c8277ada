"""Progress: a one-line bar on a terminal (step, loss, tokens/s, ETA), log lines otherwise."""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("flan_repro.train")


class Progress:
    def __init__(self, total: int, start: int = 0, stream=None):
        self.total, self.start, self.t0 = total, start, time.time()
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, step: int, loss: float, tokens_per_s: float):
        done = step - self.start
        rate = done / max(time.time() - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        text = (f"step {step}/{self.total} loss {loss:.4f} {tokens_per_s:,.0f} tok/s "
                f"ETA {eta:.0f}s")
        if self.tty:
            width = 24
            filled = int(width * step / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}   ")
            self.stream.flush()
        else:
            log.info(text)

    def close(self):
        if self.tty:
            self.stream.write("\n")
