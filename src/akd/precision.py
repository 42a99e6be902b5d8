"""The arithmetic a model job's forward and backward passes run in (``precision`` settings).

``auto``: bfloat16 autocast on a GPU, float32 on a CPU (on this project's 2-core CPU, bf16 autocast
was 1.3-2.4x faster than float32 one day and under 0.2x another: benchmarks/README.md, so the CPU
default is the one that does not depend on the host); ``bf16``: bfloat16 autocast on
either; ``float32``: none.  Weights stay float32 in every case (they are the optimiser's master
copy); autocast runs matrix products in bf16 and keeps reductions such as softmax in float32.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

PRECISIONS = ("auto", "float32", "bf16")


def autocast(device: torch.device | str, precision: str = "auto"):
    """The autocast context for ``device`` under ``precision`` (see the module's docstring)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    kind = torch.device(device).type
    if precision == "bf16" or (precision == "auto" and kind == "cuda"):
        return torch.autocast(kind, dtype=torch.bfloat16)
    return nullcontext()
