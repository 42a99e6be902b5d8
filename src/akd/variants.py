"""Student variants: what each one trains on, defined once (torch-free: the rules, the config
checks and the report read it).

A config names variant *kinds* (``student.variants``); a kind that takes a k expands into one run
name per k (and, for ``saliency``, per attribution method): ``saliency`` -> ``saliency-k3``,
``integrated_gradients-k3``; ``random`` -> ``random-k3``.  A new variant is one entry here plus
the stage that makes its rationale file, if it needs one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Kind:
    """One kind of student.

    ``rationale``: where its rationales come from: ``None`` (labels only), ``"attribution"`` (the
    teacher's top-k words by an attribution method), ``"control"`` (a control rationale file of k
    words, named after the kind), ``"llm"`` (the dataset's LLM rationales column), ``"cot"`` (the
    teacher's own chains of thought, the ``teacher_cot`` stage).
    """

    name: str
    rationale: str | None
    per_k: bool
    needs_teacher: bool
    description: str
    labels: str = "gold"  # what the label task learns: the gold labels, or the teacher's answers ("teacher")
    logits: bool = False  # the label task also learns the teacher's token distributions (logit distillation)

    @property
    def multitask(self) -> bool:
        """Trains two tasks (label and rationale) rather than the label alone."""
        return self.rationale is not None


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("standard", None, False, False, "fine-tuned on the labels alone"),
    Kind("saliency", "attribution", True, True, "labels + the teacher's top-k words by each attribution method"),
    Kind("random", "control", True, True, "labels + k random words of the same input (control)"),
    Kind("masked", "control", True, True, "labels + the teacher's top-k words that are not part of the gold answer "
                                          "(control)"),
    Kind("llm", "llm", False, False, "labels + the dataset's LLM rationales (DSS: PaLM's chain of thought)"),
    Kind("cot", "cot", False, True, "labels + the teacher's own chain of thought (DSS with this teacher)"),
    Kind("seqkd", None, False, True, "the teacher's answers instead of the gold labels (sequence-level "
                                     "distillation, Kim and Rush 2016)", labels="teacher"),
    Kind("seqkd-saliency", "attribution", True, True, "the teacher's answers + its top-k words by each "
                                                      "attribution method", labels="teacher"),
    Kind("kd", None, False, True, "the labels and the teacher's token distributions on them (logit "
                                  "distillation, Hinton et al. 2015; student.kd)", logits=True),
    Kind("kd-saliency", "attribution", True, True, "logit distillation + the teacher's top-k words by each "
                                                   "attribution method", logits=True),
]}

#: The kinds whose rationale file is a control made from one attribution method's scores.
CONTROLS = [k.name for k in KINDS.values() if k.rationale == "control"]


@dataclass(frozen=True)
class Run:
    """A run name parsed: its kind, the rationale source (method or control name) and k."""

    name: str
    kind: Kind
    source: str | None = None
    k: int | None = None
    fraction: float = 1.0  # the share of the training split it trains on (``-data0.25``)


#: The run-name stem of the kinds whose label task learns the teacher's answers (``seqkd-saliency-k3``).
TEACHER_LABELS = "seqkd-"
#: The run-name stem of the kinds whose label task learns the teacher's distributions (``kd-saliency-k3``).
TEACHER_LOGITS = "kd-"


def run_names(kinds: Sequence[str], methods: Sequence[str], ks: Sequence[int], has_llm: bool = True) -> list[str]:
    """The run names a config's ``student.variants`` expands to: a per-k kind once per k of ``ks``,
    or at one k when named with it (``random-k5``); ``llm`` only where the data has LLM rationales."""
    out = []
    for name in kinds:
        one_k = re.fullmatch(r"(.+)-k(\d+)", name)  # a per-k kind at one k only: "random-k5"
        if one_k and one_k.group(1) in KINDS:
            kind, these_ks = KINDS[one_k.group(1)], [int(one_k.group(2))]
        else:
            kind, these_ks = KINDS[name], ks
        if kind.rationale == "attribution":
            stem = TEACHER_LABELS if kind.labels == "teacher" else TEACHER_LOGITS if kind.logits else ""
            out += [f"{stem}{m}-k{k}" for m in methods for k in these_ks]
        elif kind.per_k:
            out += [f"{kind.name}-k{k}" for k in these_ks]
        elif kind.rationale != "llm" or has_llm:
            out.append(name)
    return out


#: The suffix of a run on a share of the training split: ``saliency-k3-data0.25``.
DATA = re.compile(r"-data(0\.\d+)$")


def with_fractions(names: Sequence[str], fractions: Sequence[float]) -> list[str]:
    """Every run once per training-set share (``student.train_fractions``); a share of 1 keeps
    the plain name, so the full-data runs are the ones a config without shares has."""
    out = []
    for f in sorted({float(x) for x in fractions} or {1.0}, reverse=True):
        out += [n if f == 1.0 else f"{n}-data{fraction_text(f)}" for n in names]
    return out


def fraction_text(f: float) -> str:
    """0.25 -> "0.25" (a fraction as it appears in run names and paths)."""
    if not 0 < f <= 1:
        raise ValueError(f"a training-set share must be in (0, 1], got {f}")
    return f"{f:.6f}".rstrip("0").rstrip(".") if f < 1 else "1"


def parse(name: str, methods: Sequence[str] = ()) -> Run:
    """A run name parsed (see :func:`_parse`); a ``-data0.25`` suffix gives its training-set share."""
    data = DATA.search(name)
    if data:
        run = parse(name[: data.start()], methods)
        return Run(name, run.kind, run.source, run.k, float(data.group(1)))
    return _parse(name, methods)


def _parse(name: str, methods: Sequence[str] = ()) -> Run:
    """``saliency-k3`` -> Run(kind saliency, source saliency, k 3); ``seqkd-saliency-k3`` -> the
    same rationales with the teacher's answers as labels, ``kd-saliency-k3`` with its distributions
    on the gold labels; ``random-k5`` -> the random control;
    ``standard`` / ``llm`` / ``seqkd`` -> their kinds.  ``methods``: the attribution methods a name
    may name (any name that is not a kind's is taken for one when empty)."""
    if name in KINDS and not KINDS[name].per_k:
        return Run(name, KINDS[name])
    m = re.fullmatch(r"(.+)-k(\d+)", name)
    if not m:
        raise ValueError(f"{name!r} is not a student variant ({sorted(KINDS)}, or <method>-k<k>)")
    source, k = m.group(1), int(m.group(2))
    if source in KINDS and KINDS[source].per_k and KINDS[source].rationale == "control":
        return Run(name, KINDS[source], source, k)
    kind = "saliency"
    if source.startswith(TEACHER_LABELS):
        source, kind = source[len(TEACHER_LABELS):], "seqkd-saliency"
    elif source.startswith(TEACHER_LOGITS):
        source, kind = source[len(TEACHER_LOGITS):], "kd-saliency"
    if methods and source not in methods:
        raise ValueError(f"{name!r}: {source!r} is neither a control ({CONTROLS}) nor an attribution method {list(methods)}")
    return Run(name, KINDS[kind], source, k)


def wildcard(methods: Sequence[str]) -> str:
    """A regular expression matching every run name of these attribution methods."""
    fixed = [k.name for k in KINDS.values() if not k.per_k]
    stems = f"({re.escape(TEACHER_LABELS)}|{re.escape(TEACHER_LOGITS)})?"
    rationale_runs = stems + "(" + "|".join(map(re.escape, methods)) + ")"
    runs = "|".join(fixed) + "|(" + "|".join([rationale_runs, *map(re.escape, CONTROLS)]) + r")-k\d+"
    return f"({runs})" + r"(-data0\.\d+)?"


def sort_key(name: str) -> tuple[int, int, int, str]:
    """Report order: labels only, then rationale runs by k (methods before controls), then LLM."""
    try:
        run = parse(name)
    except ValueError:
        return (9, 0, 0, name)
    if run.fraction < 1:  # the shares after the full-data runs, each share's runs in the same order
        base = sort_key(name[: DATA.search(name).start()])
        return (10 + base[0], base[1], base[2], f"{1 - run.fraction:.6f}{base[3]}")
    order = list(KINDS).index(run.kind.name)
    if run.kind.rationale == "llm":
        return (2, 0, order, name)
    if run.k is None:
        return (0, 0, order, name)
    return (1, run.k, order, name)
