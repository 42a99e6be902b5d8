"""The Arrow schema of every table the workflow writes, defined once."""

import pyarrow as pa

FIELD = pa.struct([("name", pa.string()), ("text", pa.string())])

#: One row per example, the output of ``prepare`` (every source ends here).
EXAMPLES = pa.schema(
    [
        ("id", pa.string()),
        ("task", pa.string()),  # nli | mc | math
        ("fields", pa.list_(FIELD)),  # the example's own text, field by field
        ("input", pa.string()),  # the student's input, rendered as DSS renders it
        ("label", pa.string()),  # gold label text
        ("choices", pa.list_(pa.string())),  # multiple choice only, else empty
        ("llm_rationale", pa.string()),  # PaLM (DSS) or other LLM rationale; null when absent
        # the LLM's own answer (DSS: PaLM's; file and hub data: the gold label where a row gives a
        # rationale); null when absent or unparseable
        ("llm_label", pa.string()),
    ]
)

#: The teacher's answers, one row per example.
PREDICTIONS = pa.schema(
    [
        ("id", pa.string()),
        ("prompt", pa.string()),  # the prompt exactly as the teacher read it (template, chat markup, shots)
        ("span_field", pa.list_(pa.string())),  # where the example's own fields sit in the prompt
        ("span_start", pa.list_(pa.int32())),
        ("span_end", pa.list_(pa.int32())),
        ("output", pa.string()),  # what the teacher said (generated text, or the ranked candidate)
        ("prediction", pa.string()),  # its answer in the label space; '' when it did not parse
        ("parsed", pa.bool_()),
        ("target", pa.string()),  # the exact continuation attributed; '' when unparsed
        ("label", pa.string()),
        ("label_target", pa.string()),  # the gold label as the teacher would say it
        ("correct", pa.bool_()),
        ("candidates", pa.list_(pa.string())),  # ranked answers: the label space, in order; else empty
        ("candidate_logprobs", pa.list_(pa.float64())),  # summed log-probability of each
        ("candidate_tokens", pa.list_(pa.int32())),
        ("candidate_scores", pa.list_(pa.float64())),  # what they were ranked by (teacher.normalise)
        ("candidate_targets", pa.list_(pa.string())),  # the exact continuation scored for each
        ("truncated", pa.bool_()),  # the prompt was longer than teacher.max_input_tokens (its start was cut)
    ]
)

#: Word-level attribution scores, one row per example, words in input order.
ATTRIBUTIONS = pa.schema(
    [
        ("id", pa.string()),
        ("target", pa.string()),  # the answer whose log-probability was attributed
        ("target_logprob", pa.float64()),  # sum of its tokens' log-probabilities (teacher-forced)
        ("words", pa.list_(pa.string())),
        ("word_field", pa.list_(pa.string())),  # which input field each word comes from
        ("word_start", pa.list_(pa.int32())),  # character span inside that field's text
        ("word_end", pa.list_(pa.int32())),
        ("scores", pa.list_(pa.float64())),
    ]
)

#: The teacher's chain of thought on each training example (akd.cot), one row per example.
COT = pa.schema(
    [
        ("id", pa.string()),
        ("prompt", pa.string()),  # the few-shot prompt exactly as the teacher read it
        ("output", pa.string()),  # what it wrote
        ("rationale", pa.string()),  # the rationale read from it ('' when unparsed)
        ("answer", pa.string()),  # its answer in the label space ('' when unparsed)
        ("parsed", pa.bool_()),
        ("correct", pa.bool_()),
    ]
)

#: People's rationales for training examples, where the data has them (CoS-E, e-SNLI).
HUMAN_RATIONALES = pa.schema([("id", pa.string()), ("rationale", pa.string())])

#: ERASER faithfulness of each example's word sets (akd.faithfulness), one row per example and source.
FAITHFULNESS = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),  # the attribution method's top-k words, or "random" (k random words)
        ("k", pa.int32()),
        ("p_full", pa.float64()),  # m(x)_j: p of the teacher's answer given the prompt (see `probability`)
        ("p_without", pa.float64()),  # ... with the words deleted
        ("p_only", pa.float64()),  # ... with only them left of the example's text
        ("comprehensiveness", pa.float64()),
        ("sufficiency", pa.float64()),
        ("probability", pa.string()),  # class: softmax over the ranked candidates (ERASER's m); sequence: p of the text
    ]
)

#: Top-k rationales, one row per example.
RATIONALES = pa.schema(
    [
        ("id", pa.string()),
        ("rationale", pa.string()),  # top-k words in input order, joined by spaces
        ("words", pa.list_(pa.string())),
        ("positions", pa.list_(pa.int32())),  # index of each chosen word in the attribution row
    ]
)

#: A student's (or any model's) predictions on an evaluation split.
EVAL_PREDICTIONS = pa.schema(
    [
        ("id", pa.string()),
        ("label", pa.string()),
        ("prediction", pa.string()),
        ("correct", pa.bool_()),
    ]
)


TRAIN_LOG_FILE = "train_log.parquet"  # beside the trained model (akd.training.save_trained)

#: A training job's curve, one row per optimiser step (TRAIN_LOG_FILE beside its model).
TRAIN_LOG = pa.schema(
    [
        ("step", pa.int64()),
        ("lr", pa.float64()),  # the learning rate this step used
        ("loss", pa.float64()),  # the batch's loss as trained ((1 - w) * label + w * rationale)
        ("label_loss", pa.float64()),  # mean cross-entropy per label token
        ("rationale_loss", pa.float64()),  # per rationale token; NaN when the run or the batch has none
        ("kd_divergence", pa.float64()),  # logit distillation: the divergence from the teacher per label token
        ("tokens", pa.int64()),  # non-padding input and target tokens of the step
        ("tokens_per_second", pa.float64()),  # over the step's forward, backward and update
        ("seconds", pa.float64()),  # since the start of training (evaluations included)
        ("valid_accuracy", pa.float64()),  # where the step ended with an evaluation, else NaN
    ]
)


#: The teacher's sparse distributions over each training example's label tokens (logit distillation,
#: akd.kd): per label token (the student's, EOS included), its most probable ids, their
#: log-probabilities at the distillation temperature and the log of the mass left over.
TEACHER_LOGITS = pa.schema(
    [
        ("id", pa.string()),
        ("label_ids", pa.list_(pa.int32())),
        ("top_ids", pa.list_(pa.list_(pa.int32()))),
        ("top_logprobs", pa.list_(pa.list_(pa.float32()))),
        ("rest_logprob", pa.list_(pa.float32())),
    ]
)
