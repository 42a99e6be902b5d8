"""lm-evaluation-harness 0.4.13's rule for a (context, continuation) pair (``_encode_pair``), written
out for the tests' independent computations (never the package's code)."""


def pair_ids(tok, context: str, continuation: str, encoder_decoder: bool, add_special: bool = True):
    """(context ids, continuation ids): the context's trailing whitespace moves to the
    continuation; causal models encode context + continuation together and split at the
    context's length; seq2seq models encode the continuation alone, without special tokens."""
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    ctx = tok(context, add_special_tokens=add_special)["input_ids"]
    if encoder_decoder:
        return ctx, tok(continuation, add_special_tokens=False)["input_ids"]
    return ctx, tok(context + continuation, add_special_tokens=add_special)["input_ids"][len(ctx):]
