"""Progress bars: live on a terminal; one line every ``interval`` seconds in a log file."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


class _Lines:
    """A file-like object turning tqdm's carriage-return redraws into separate lines."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, s: str) -> None:
        s = s.replace("\r", "").strip()
        if s:
            self.stream.write(s + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress(total: int, desc: str, unit: str, disable: bool = False, interval: float = 15.0) -> tqdm:
    stream = sys.stderr
    if hasattr(stream, "isatty") and stream.isatty():
        return tqdm(total=total, desc=desc, unit=unit, disable=disable, mininterval=0.5)
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, mininterval=interval, file=_Lines(stream),
                ncols=100, ascii=True)
