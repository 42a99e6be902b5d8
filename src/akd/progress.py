"""Progress of long stages: a live bar on an interactive terminal; in a workflow job, one line every
``interval`` seconds in the job's log and, once the job has run for ``TERMINAL_DELAY`` seconds, one
line every ``TERMINAL_EVERY`` seconds on the terminal that started it, named after the job (count,
rate, time left)."""

from __future__ import annotations

import re
import sys

from tqdm.auto import tqdm

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # cursor moves between bars: meaningless in a file

TERMINAL_EVERY = 30.0
TERMINAL_DELAY = 10.0

#: (stream, label) while a workflow job runs (set by :func:`akd.smk.job`), else None.
_terminal: tuple[object, str] | None = None


def show_on_terminal(stream, label: str | None) -> None:
    """Also report progress on ``stream`` (the terminal of the job), prefixed with ``label``; None stops."""
    global _terminal
    _terminal = (stream, label) if stream is not None and label else None


class _Lines:
    """A file-like object turning tqdm's carriage-return redraws into separate lines."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, s: str) -> None:
        s = ANSI.sub("", s.replace("\r", "")).strip()
        if s:
            self.stream.write(s + "\n")

    def flush(self) -> None:
        self.stream.flush()


class Bars:
    """Several tqdm bars moved together (the log's and the terminal's)."""

    def __init__(self, bars: list):
        self.bars = bars

    def update(self, n: int = 1) -> None:
        for b in self.bars:
            b.update(n)

    def set_postfix(self, **values) -> None:
        """Values shown at the bar's next line (never a line of their own)."""
        for b in self.bars:
            b.set_postfix(refresh=False, **values)

    def close(self) -> None:
        for b in self.bars:
            b.close()


class _LineBar(tqdm):
    """tqdm without its monitor thread: the monitor redraws a quiet bar between updates, and the next
    update then draws again at once (two lines where one was due)."""

    monitor_interval = 0


def _lines(stream, total: int, desc: str, unit: str, every: float, delay: float = 0.0) -> tqdm:
    return _LineBar(total=total, desc=desc, unit=unit, mininterval=every, maxinterval=max(every, 10.0), delay=delay,
                file=_Lines(stream), ncols=90 + len(desc), ascii=True, position=0)


def progress(total: int, desc: str, unit: str, disable: bool = False, interval: float = 15.0) -> Bars:
    if disable:
        return Bars([])
    stream = sys.stderr
    if hasattr(stream, "isatty") and stream.isatty():
        return Bars([tqdm(total=total, desc=desc, unit=unit, mininterval=0.5)])
    bars = [_lines(stream, total, desc, unit, interval)]
    if _terminal is not None:
        term, label = _terminal
        bars.append(_lines(term, total, f"{label}: {desc}", unit, TERMINAL_EVERY, TERMINAL_DELAY))
    return Bars(bars)
