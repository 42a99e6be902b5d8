"""Progress where the user looks: a job's log gets a line per interval (not per step), and a job
that runs long enough reports on the terminal that started it, named after the job."""

import io
import sys
import time

from akd import progress as P


def _run(steps: int, pause: float = 0.0) -> None:
    bar = P.progress(steps, "train", "step")
    for i in range(steps):
        if pause:
            time.sleep(pause)
        bar.set_postfix(loss=f"{1 / (i + 1):.3f}")
        bar.update(1)
    bar.close()


def test_a_fast_job_writes_a_few_log_lines_and_nothing_on_the_terminal(monkeypatch):
    log, term = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    P.show_on_terminal(term, "train_student (dataset=cqa)")
    try:
        _run(500)
    finally:
        P.show_on_terminal(None, None)
    lines = log.getvalue().splitlines()
    assert 1 <= len(lines) <= 3 and "500/500" in lines[-1]  # not one line per step
    assert term.getvalue() == ""  # under TERMINAL_DELAY seconds: the terminal stays quiet


def test_a_long_job_reports_on_the_terminal_with_its_name_and_rate(monkeypatch):
    log, term = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    monkeypatch.setattr(P, "TERMINAL_DELAY", 0.05)
    monkeypatch.setattr(P, "TERMINAL_EVERY", 0.1)
    P.show_on_terminal(term, "train_student (dataset=cqa)")
    try:
        _run(40, pause=0.01)
    finally:
        P.show_on_terminal(None, None)
    lines = term.getvalue().splitlines()
    assert 2 <= len(lines) <= 10, lines
    assert all(line.startswith("train_student (dataset=cqa): train") for line in lines)
    assert "40/40" in lines[-1] and "step/s" in lines[-1] and "loss=" in lines[-1]
