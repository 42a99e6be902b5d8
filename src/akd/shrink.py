"""Students shrunk from a pretrained model ("shrink and fine-tune", Shleifer and Rush 2020; the
initialisation of DistilBERT): a copy of the model that keeps some of its layers, spread evenly by
default, with the embeddings, norms and output layer copied as they are.

T5 keeps encoder and decoder layers separately; Llama-family models (Llama, Qwen, SmolLM) and
GPT-2 keep decoder layers.  The new model's layer i is the source's layer ``kept[i]``; T5's
relative position bias, which only the first layer of each stack holds, is taken from the source's
first layer whichever layers are kept.
"""

from __future__ import annotations

import copy
import re
from typing import Sequence

import numpy as np

from .specs import ModelSpecError

#: Per architecture (config.model_type): the layer stacks, as (state-dict prefix, config key of
#: its layer count, the name of its count in a shrink spec).
STACKS: dict[str, list[tuple[str, str, str]]] = {
    "t5": [("encoder.block", "num_layers", "encoder_layers"), ("decoder.block", "num_decoder_layers", "decoder_layers")],
    "gpt2": [("transformer.h", "n_layer", "layers")],
    "llama": [("model.layers", "num_hidden_layers", "layers")],
    "qwen2": [("model.layers", "num_hidden_layers", "layers")],
    "qwen3": [("model.layers", "num_hidden_layers", "layers")],
    "mistral": [("model.layers", "num_hidden_layers", "layers")],
}


def spread(n_layers: int, keep: int) -> list[int]:
    """``keep`` of ``n_layers`` layers spread evenly, the first and the last always among them."""
    if not 1 <= keep <= n_layers:
        raise ModelSpecError(f"shrink: cannot keep {keep} of {n_layers} layers")
    if keep == 1:
        return [0]
    return sorted({int(round(x)) for x in np.linspace(0, n_layers - 1, keep)})


#: The keys of a shrink spec that choose layers (each architecture uses some of them: STACKS).
LAYER_KEYS = ("layers", "encoder_layers", "decoder_layers")


def _stacks(model_type: str) -> list[tuple[str, str, str]]:
    stacks = STACKS.get(model_type)
    if stacks is None:
        raise ModelSpecError(f"shrinking a {model_type!r} model is not supported; supported: {sorted(STACKS)}")
    return stacks


def check_layer_keys(model_type: str, spec: dict, source: str = "the source") -> None:
    """A spec key that the architecture has no stack for is an error (it would keep every layer)."""
    names = [name for _, _, name in _stacks(model_type)]
    wrong = [k for k in LAYER_KEYS if spec.get(k) is not None and k not in names]
    if wrong:
        kind = "an encoder-decoder" if len(names) > 1 else "a decoder-only"
        raise ModelSpecError(f"shrink.{wrong[0]}: {source} is {kind} {model_type} model: its layers are chosen by "
                             f"{' and '.join(names)}")


def layer_counts(model_type: str, config: dict) -> dict[str, int]:
    """Per layer key of a shrink spec, the source's number of layers, from its config (config.json's
    values: read before any job, without the weights)."""
    out = {}
    for _, key, name in _stacks(model_type):
        n = config.get(key) if config.get(key) is not None else config.get("num_layers")
        if n is None:
            raise ModelSpecError(f"shrink: the source's config has no {key}")
        out[name] = int(n)
    return out


def check_spec(model_type: str, counts: dict[str, int], spec: dict, source: str = "the source") -> None:
    """A shrink spec checked against the source's architecture and layer counts (:func:`layer_counts`),
    with the messages a job would stop on, each naming the key."""
    check_layer_keys(model_type, spec, source)
    for name, n in counts.items():
        want = spec.get(name)
        stack = name.removesuffix("layers").replace("_", " ")  # "encoder ", "decoder " or ""
        if isinstance(want, int) and not 1 <= want <= n:
            raise ModelSpecError(f"shrink.{name}: cannot keep {want} of the {n} {stack}layers of {source}")
        if isinstance(want, list):
            layers = [int(i) for i in want]
            if not layers or sorted(set(layers)) != layers or layers[0] < 0 or layers[-1] >= n:
                raise ModelSpecError(f"shrink.{name}: {want} must be increasing layer indices within 0..{n - 1} "
                                     f"({source} has {n} {stack}layers)")


def chosen_layers(config, spec: dict) -> dict[str, list[int]]:
    """Per stack prefix, the source layers to keep: ``spec[name]`` is a count (spread evenly) or a
    list of layer indices; a stack the spec does not name keeps all its layers."""
    stacks = _stacks(config.model_type)
    check_layer_keys(config.model_type, spec)
    out = {}
    for prefix, key, name in stacks:
        n = int(getattr(config, key) if getattr(config, key, None) is not None else config.num_layers)
        want = spec.get(name)
        if want is None:
            out[prefix] = list(range(n))
        elif isinstance(want, int):
            out[prefix] = spread(n, want)
        else:
            layers = [int(i) for i in want]
            if not layers or sorted(set(layers)) != layers or layers[0] < 0 or layers[-1] >= n:
                raise ModelSpecError(f"shrink.{name}: {want} must be increasing layer indices within 0..{n - 1}")
            out[prefix] = layers
    return out


def shrink(model, spec: dict):
    """A new model of the same architecture with only the chosen layers (see :func:`chosen_layers`),
    every weight copied from ``model``."""
    config = model.config
    kept = chosen_layers(config, spec)
    new_config = copy.deepcopy(config)
    for prefix, key, _ in STACKS[config.model_type]:
        setattr(new_config, key, len(kept[prefix]))
    if isinstance(getattr(new_config, "layer_types", None), list):  # per-layer attention kinds
        (prefix,) = kept
        new_config.layer_types = [config.layer_types[i] for i in kept[prefix]]
    if getattr(new_config, "max_window_layers", None) is not None:
        new_config.max_window_layers = min(new_config.max_window_layers, new_config.num_hidden_layers)
    new = type(model)(new_config)
    source = model.state_dict()
    state = {}
    for name in new.state_dict():
        state[name] = source[_source_name(name, kept, source)]
    new.load_state_dict(state, strict=True)
    new.config.shrunk_from = {"layers": {p: k for p, k in kept.items()}}
    return new


def _source_name(name: str, kept: dict[str, list[int]], source: dict) -> str:
    for prefix, layers in kept.items():
        m = re.match(rf"^{re.escape(prefix)}\.(\d+)\.(.*)$", name)
        if m:
            mapped = f"{prefix}.{layers[int(m.group(1))]}.{m.group(2)}"
            if mapped in source:
                return mapped
            if f"{prefix}.0.{m.group(2)}" in source:  # held by the first layer only (T5's position bias)
                return f"{prefix}.0.{m.group(2)}"
            raise KeyError(f"{name}: no source weight {mapped}")
    if name not in source:
        raise KeyError(f"{name}: not in the source model")
    return name


def describe(kept: dict[str, Sequence[int]]) -> str:
    return "; ".join(f"{p}: {list(k)}" for p, k in kept.items())
