# The teacher's GPU stages. A split with `shards: n > 1` runs as n jobs (one GPU each on a
# cluster), cut along the batches a single job would run, then merged by a light local rule into
# the very table one job would write; other splits run as one job.

localrules:
    merge_predictions,
    merge_attributions,
    merge_cot,
    merge_logits,
    teacher_check,
    teacher_table,


# A split is merged from shards when it has more than one (the merge rules' inputs then exist);
# otherwise the merge rules' inputs cannot be made and the one-job rules write the file.
ruleorder: merge_predictions > teacher_predict
ruleorder: merge_attributions > attribute
ruleorder: merge_cot > teacher_cot
ruleorder: merge_logits > teacher_logits


rule teacher_finetune:
    """Fine-tune the teacher on labels (its own prompt template) before it teaches."""
    input:
        model=lambda w: model_input(w.dataset, TEACHER),
        train=f"{RESULTS}/{{dataset}}/data/train.parquet",
        valid=f"{RESULTS}/{{dataset}}/data/valid.parquet",
        checked=checked_inputs,
    output:
        directory(f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/model"),
    params:
        settings=lambda w: finetune_settings(w.dataset),
    threads: threads_of("teacher")
    priority: TEACHER_PRIORITY
    resources:
        **resources_of("teacher"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/finetune.log",
    script:
        "../scripts/teacher_finetune.py"


rule teacher_predict:
    """The teacher's answers (ranked over the label space, or generated and parsed); its accuracy
    beside them. `teacher_predict_shard`: one shard of a sharded split (no accuracy)."""
    input:
        model=teacher_input,
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
        checked=checked_inputs,
        train=shots_input,
    output:
        predictions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.parquet",
        metrics=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.json",
    params:
        model=lambda w: teacher_dir(w.dataset),
        settings=lambda w: teacher_settings(w.dataset),
        shard=None,
    threads: threads_of("teacher")
    priority: TEACHER_PRIORITY
    resources:
        **resources_of("teacher"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/predict_{{split}}.log",
    script:
        "../scripts/teacher_predict.py"


use rule teacher_predict as teacher_predict_shard with:
    output:
        predictions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/shards/{{split}}-{{shard}}-of-{{n}}.parquet",
    params:
        shard=lambda w: [int(w.shard), int(w.n)],
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/predict_{{split}}-{{shard}}-of-{{n}}.log",


rule merge_predictions:
    """A sharded split's answers, back in the split's order, and the teacher's accuracy on it."""
    input:
        shards=lambda w: shard_files(
            f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/shards/{{split}}-{{shard}}-of-{{n}}.parquet", w
        ),
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
    output:
        predictions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.parquet",
        metrics=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.json",
    params:
        table="predictions",
    conda:
        "../../envs/akd.yaml"
    priority: TEACHER_PRIORITY
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/merge_predictions_{{split}}.log",
    script:
        "../scripts/merge_shards.py"


rule attribute:
    """Word-level saliency of the teacher's answer over the example's own words.
    `attribute_shard`: one shard of a sharded split."""
    input:
        model=teacher_input,
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
        predictions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.parquet",
        check=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/check.json",
    output:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.parquet",
    params:
        model=lambda w: teacher_dir(w.dataset),
        settings=lambda w: attribution_settings(w.dataset, w.method),
        shard=None,
    threads: threads_of("teacher")
    priority: TEACHER_PRIORITY
    resources:
        **resources_of("teacher"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/attribute_{{method}}_{{split}}.log",
    script:
        "../scripts/attribute.py"


use rule attribute as attribute_shard with:
    output:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/shards/{{split}}-{{shard}}-of-{{n}}.parquet",
    params:
        shard=lambda w: [int(w.shard), int(w.n)],
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/attribute_{{method}}_{{split}}-{{shard}}-of-{{n}}.log",


rule merge_attributions:
    """A sharded split's word scores, back in the split's order."""
    input:
        shards=lambda w: attribution_shards(
            f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/shards/{{split}}-{{shard}}-of-{{n}}.parquet",
            w,
        ),
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
        predictions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.parquet",
    output:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.parquet",
    params:
        table="attributions",
        target=config["attribution"].get("target", "prediction"),
    conda:
        "../../envs/akd.yaml"
    priority: TEACHER_PRIORITY
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/merge_attributions_{{method}}_{{split}}.log",
    script:
        "../scripts/merge_shards.py"


rule teacher_cot:
    """The teacher's chain of thought on each training example (few-shot, DSS's form), read back
    into rationale and answer, for the `cot` students. `teacher_cot_shard`: one shard."""
    input:
        model=cot_model_input,
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
        checked=checked_inputs,
    output:
        cot=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/cot/{{split}}.parquet",
        metrics=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/cot/{{split}}.json",
    params:
        model=lambda w: cot_model_dir(w.dataset),
        settings=lambda w: cot_settings(w.dataset),
        shard=None,
    threads: threads_of("teacher")
    priority: TEACHER_PRIORITY
    resources:
        **resources_of("teacher"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/cot_{{split}}.log",
    script:
        "../scripts/teacher_cot.py"


use rule teacher_cot as teacher_cot_shard with:
    output:
        cot=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/cot/shards/{{split}}-{{shard}}-of-{{n}}.parquet",
    params:
        shard=lambda w: [int(w.shard), int(w.n)],
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/cot_{{split}}-{{shard}}-of-{{n}}.log",


rule merge_cot:
    """A sharded split's chains of thought, back in the split's order."""
    input:
        shards=lambda w: shard_files(
            f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/cot/shards/{{split}}-{{shard}}-of-{{n}}.parquet", w
        ),
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
    output:
        cot=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/cot/{{split}}.parquet",
        metrics=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/cot/{{split}}.json",
    params:
        table="cot",
    conda:
        "../../envs/akd.yaml"
    priority: TEACHER_PRIORITY
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/merge_cot_{{split}}.log",
    script:
        "../scripts/merge_shards.py"


rule teacher_logits:
    """The teacher's distributions over each training example's label tokens (its most probable
    tokens and the rest's mass), forced on them in its own prompt, for the logit-distilled
    students (kd). `teacher_logits_shard`: one shard."""
    input:
        model=teacher_input,
        student=lambda w: model_input(w.dataset, STUDENT),
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
        checked=checked_inputs,
    output:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/logits/{{split}}.parquet",
    params:
        model=lambda w: teacher_dir(w.dataset),
        student=lambda w: model_dir(w.dataset, STUDENT),
        settings=lambda w: teacher_logits_settings(w.dataset),
        shard=None,
    threads: threads_of("teacher")
    priority: TEACHER_PRIORITY
    resources:
        **resources_of("teacher"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/logits_{{split}}.log",
    script:
        "../scripts/teacher_logits.py"


use rule teacher_logits as teacher_logits_shard with:
    output:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/logits/shards/{{split}}-{{shard}}-of-{{n}}.parquet",
    params:
        shard=lambda w: [int(w.shard), int(w.n)],
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/logits_{{split}}-{{shard}}-of-{{n}}.log",


rule merge_logits:
    """A sharded split's teacher distributions, back in the split's order."""
    input:
        shards=lambda w: shard_files(
            f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/logits/shards/{{split}}-{{shard}}-of-{{n}}.parquet", w
        ),
        examples=f"{RESULTS}/{{dataset}}/data/{{split}}.parquet",
    output:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/logits/{{split}}.parquet",
    params:
        table="logits",
    conda:
        "../../envs/akd.yaml"
    priority: TEACHER_PRIORITY
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/merge_logits_{{split}}.log",
    script:
        "../scripts/merge_shards.py"


rule teacher_check:
    """Stop before attribution when the teacher is not answering: accuracy not above chance, or
    too many unparsed answers, on a split it is attributed on (unless `teacher.accept_weak`)."""
    input:
        **{s: f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/{s}.json" for s in TEACHER_SPLITS},
    output:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/check.json",
    params:
        check=lambda w: check_settings(w.dataset),
    conda:
        "../../envs/akd.yaml"
    priority: TEACHER_PRIORITY
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/check.log",
    script:
        "../scripts/teacher_check.py"


rule teacher_table:
    """Per dataset and split: the teacher's accuracy (95% interval), chance, unparsed share, how it answered."""
    input:
        metrics=paths(teacher_table_items(), "metrics"),
    output:
        csv=f"{RESULTS}/tables/teacher.csv",
        md=f"{RESULTS}/tables/teacher.md",
        html=report(f"{RESULTS}/tables/teacher.html", caption="../report/teacher.rst", category="Teacher"),
    params:
        tables=keys(teacher_table_items(), "dataset", "split"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/teacher_table.log",
    script:
        "../scripts/teacher_table.py"


rule teacher:
    """The teacher's stages and their tables alone: `snakemake teacher --cores N`."""
    input:
        teacher_targets(),
