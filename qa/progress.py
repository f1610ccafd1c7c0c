"""Progress of a long task: a tqdm bar on a terminal, one log line per step anywhere else.

A bar redraws itself with carriage returns, which a log file or CI output keeps as one
unreadable line ("Ingesting: 0%| | 0/2"). So `Progress` draws the bar only when stderr
is a terminal; otherwise steps log "Ingesting: 3/20 articles" at INFO on this
module's logger: the first step, the last, and between them at most one line every
LOG_INTERVAL_SECONDS (an ingest of 20,000 articles would otherwise log 20,000 lines).
A tqdm object exists either way (disabled off a terminal) because the chat page's
`gr.Progress(track_tqdm=True)` follows tqdm objects to show an upload's progress.

Left out: where log lines go (`qa` on the command line sends them to stderr; a library
caller configures logging itself), and rates or time estimates in the log lines.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

log = logging.getLogger(__name__)
Item = TypeVar("Item")
LOG_INTERVAL_SECONDS = 2.0


def on_terminal() -> bool:
    """Whether stderr is a terminal, where a bar can redraw itself in place."""
    return sys.stderr is not None and sys.stderr.isatty()


class Progress:
    """Steps of one task, counted: a bar on a terminal, else log lines (see above); nothing when not enabled."""

    def __init__(self, desc: str, *, total: int | None = None, unit: str = "step", enabled: bool = True):
        from tqdm import tqdm

        self.desc, self.total, self.unit, self.done = desc, total, unit, 0
        self.logs = enabled and not on_terminal()
        self._logged, self._logged_at = 0, 0.0  # steps done at the last log line, and its monotonic time
        self.bar = tqdm(total=total, desc=desc, unit=unit, disable=not enabled or self.logs, leave=False)

    def update(self, steps: int = 1) -> None:
        self.bar.update(steps)
        self.done += steps
        now = time.monotonic()
        if self.logs and (not self._logged or self.done == self.total or now - self._logged_at >= LOG_INTERVAL_SECONDS):
            self._log(now)

    def _log(self, now: float) -> None:
        of_total = "" if self.total is None else f"/{self.total}"
        log.info("%s: %d%s %ss", self.desc, self.done, of_total, self.unit)
        self._logged, self._logged_at = self.done, now

    def close(self) -> None:
        """End the task; off a terminal, log the count reached if the last line did not show it."""
        if self.logs and self._logged != self.done:
            self._log(time.monotonic())
        self.logs = False
        self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def track(items: Iterable[Item], desc: str, *, unit: str, enabled: bool = True) -> Iterator[Item]:
    """Yield the items, counting each one as a step once the caller is done with it."""
    total = len(items) if hasattr(items, "__len__") else None
    with Progress(desc, total=total, unit=unit, enabled=enabled) as progress:
        for item in items:
            yield item
            progress.update()
